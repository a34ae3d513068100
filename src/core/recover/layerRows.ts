// Im2col row reading for layer-wise fits: a Conv's input rows at deterministically sampled output positions
// (per group), a Gemm/MatMul's input rows directly, and the matching rows of the layer's output — shared by
// reconstruction (reconstruct.ts) and the Hessians of GPTQ/SparseGPT (obs/hessian.ts).
import { UsageError } from '../errors';
import { attrInts, attrString } from '../onnx/build';
import { weightLayout, type WeightedLayer } from '../prune/layers';
import type { CapturedTensor } from '../eval/activations';

/** How rows are sampled and named in messages. */
export interface RowOptions {
  /** rows of the conv im2col system sampled in total per layer (default ≈ 24 × fan-in, 4096..32768; grouped convs from 1024) */
  rows?: number;
  file?: string;
}

/** How one layer's input rows and target rows are read from captured tensors, in the same row order. */
export interface RowReader {
  groups: number;
  /** features per group, without the bias column */
  features: number;
  /** output channels per group */
  outPerGroup: number;
  /** sampled rows per calibration sample */
  rowsPerSample: number;
  /**
   * The values of one batch's sampled rows of y: row by row, y's channels `channels` in order (default:
   * the original channels of the layer's output channels, to read targets).
   */
  targets(y: CapturedTensor, batchStart: number, channels?: readonly number[]): Float32Array;
  /**
   * Calls emit(group, x, at) for the sampled rows of one batch; x has a trailing 1 for the bias and the
   * group's targets start at `at` in the batch's targets.
   */
  rows(x: CapturedTensor, batchStart: number, emit: (g: number, x: Float64Array, at: number) => void): void;
}

export function rowReader(layer: WeightedLayer, yDims: number[], outMap: readonly number[], samples: number, opts: RowOptions): RowReader {
  return layer.kind === 'conv' ? convRows(layer, yDims, outMap, samples, opts) : denseRows(layer, yDims, outMap, opts);
}

/** Gemm/MatMul: every leading index of the input is one row; features along the last axis. */
function denseRows(layer: WeightedLayer, yDims: number[], outMap: readonly number[], opts: RowOptions): RowReader {
  const features = weightLayout(layer).fanIn;
  const m = outMap.length;
  return {
    groups: 1, features, outPerGroup: m, rowsPerSample: yDims.slice(1, -1).reduce((a, b) => a * b, 1),
    targets(y, _start, channels = outMap) {
      const yWidth = y.dims[y.dims.length - 1];
      const rows = y.data.length / yWidth;
      const out = new Float32Array(rows * m);
      for (let r = 0; r < rows; r++) for (let j = 0; j < m; j++) out[r * m + j] = y.data[r * yWidth + channels[j]];
      return out;
    },
    rows(x, _start, emit) {
      if (x.dims[x.dims.length - 1] !== features) throw new UsageError(opts.file, `layer '${layer.name}': input has ${x.dims.at(-1)} features, weight expects ${features}`);
      const rows = x.data.length / features;
      const xr = new Float64Array(features + 1).fill(1);
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < features; f++) xr[f] = x.data[r * features + f];
        emit(0, xr, r * m);
      }
    },
  };
}

/**
 * 2-D Conv: im2col rows at output positions sampled deterministically per image. A layer has far more
 * positions than unknowns, so about 24 rows per unknown in total are enough for a well-conditioned fit.
 */
function convRows(layer: WeightedLayer, yDims: number[], outMap: readonly number[], samples: number, opts: RowOptions): RowReader {
  const n = layer.node;
  if (layer.dims.length !== 4 || yDims.length !== 4) throw new UsageError(opts.file, `layer '${layer.name}': only 2-D convolutions are supported`);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw new UsageError(opts.file, `layer '${layer.name}': auto_pad ${autoPad} is not supported`);
  const [, cinG, kh, kw] = layer.dims;
  const [sh, sw] = attrInts(n, 'strides') ?? [1, 1];
  const [dh, dw] = attrInts(n, 'dilations') ?? [1, 1];
  const given = autoPad === 'NOTSET' ? attrInts(n, 'pads') ?? [0, 0, 0, 0] : [0, 0];
  // SAME_*: the padding that gives the output size, split with the odd one at the end (UPPER) or the start (LOWER).
  const padBefore = (inSize: number, outSize: number, stride: number, kernel: number, dilation: number, at: number): number => {
    if (!autoPad.startsWith('SAME')) return given[at];
    const total = Math.max(0, (outSize - 1) * stride + (kernel - 1) * dilation + 1 - inSize);
    return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
  };
  const groups = layer.group;
  const m = outMap.length;
  const outPerGroup = m / groups;
  const features = cinG * kh * kw;
  const [, , oh, ow] = yDims;
  const positions = oh * ow;
  // At least 4096 rows, but a grouped (depthwise) conv's fits are independent per group with only
  // cinG·kh·kw + 1 unknowns each (10 for a 3×3 depthwise), so 1024 rows still give ≥ 24 per unknown; its
  // Gram accumulation dominated reconstruction time.
  const targetRows = opts.rows ?? Math.min(32768, Math.max(groups > 1 ? 1024 : 4096, 24 * (features + 1)));
  const perImage = Math.min(positions, Math.ceil(targetRows / samples));
  return {
    groups, features, outPerGroup, rowsPerSample: perImage,
    targets(y, batchStart, channels = outMap) {
      const [count, c] = y.dims;
      const out = new Float32Array(count * perImage * m);
      let at = 0;
      for (let i = 0; i < count; i++) {
        for (const p of samplePositions(positions, perImage, batchStart + i)) {
          for (let j = 0; j < m; j++) out[at++] = y.data[(i * c + channels[j]) * positions + p];
        }
      }
      return out;
    },
    rows(x, batchStart, emit) {
      if (x.dims.length !== 4) throw new UsageError(opts.file, `layer '${layer.name}': only 2-D convolutions are supported`);
      const [count, cin, h, w] = x.dims;
      const pt = padBefore(h, oh, sh, kh, dh, 0), pl = padBefore(w, ow, sw, kw, dw, 1);
      const xr = new Float64Array(features + 1).fill(1);
      let row = 0;
      for (let i = 0; i < count; i++) {
        for (const p of samplePositions(positions, perImage, batchStart + i)) {
          const oy = Math.floor(p / ow), ox = p % ow;
          for (let g = 0; g < groups; g++) {
            let f = 0;
            for (let c = 0; c < cinG; c++) {
              const plane = (i * cin + g * cinG + c) * h * w;
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * sh - pt + ky * dh;
                for (let kx = 0; kx < kw; kx++, f++) {
                  const ix = ox * sw - pl + kx * dw;
                  xr[f] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x.data[plane + iy * w + ix] : 0;
                }
              }
            }
            emit(g, xr, row * m + g * outPerGroup);
          }
          row++;
        }
      }
    },
  };
}

/** `k` distinct positions out of `total`, a deterministic function of the sample index (all when k = total). */
function samplePositions(total: number, k: number, sample: number): number[] {
  if (k >= total) return Array.from({ length: total }, (_, i) => i);
  // A stride coprime to total visits distinct positions; the offset varies per sample.
  let stride = Math.max(1, Math.floor(total * 0.618034));
  while (gcd(stride, total) !== 1) stride++;
  const offset = (sample * 2654435761) % total;
  return Array.from({ length: k }, (_, i) => (offset + i * stride) % total);
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
