// GPTQ rounding (Frantar et al., "GPTQ", ICLR 2023; from OBQ, Frantar & Alistarh, NeurIPS 2022): weights are
// rounded column by column, each column's rounding error spread over the columns not yet rounded through the
// upper Cholesky factor of H⁻¹, in blocks of columns with lazy updates of the rest. Weights that are exactly zero
// (pruned) stay zero and take none of the error: each row is rounded with the Hessian of its kept columns only,
// as OBC rounds a pruned row (Frantar & Alistarh, NeurIPS 2022, joint pruning and quantization). Layers are rounded
// with Hessians of the original model's inputs, or (sequential mode, as GPTQ's reference code for LLMs) of the
// inputs the model with the earlier layers already rounded feeds them.
import { UsageError } from '../errors';
import { nodeLabel } from '../onnx/graph';
import type { ModelProto, NodeProto } from '../onnx/proto';
import { fullRange, quantizeTensor, quantizeValue, scaleIndexer, type QuantizedTensor, type WeightQuantOptions } from '../quantize/affine';
import type { WeightRounding } from '../quantize/weightOnly';
import { weightedLayers, weightLayout, weightOffset, type WeightedLayer } from '../prune/layers';
import { DEFAULT_DAMP, groupHessian, inverseCholeskyUpper, type LayerHessian } from './hessian';

export interface GptqOptions {
  /** columns rounded between lazy updates of the remaining ones (default 128, as GPTQ) */
  blockSize?: number;
  /** round columns in order of descending diag(H) (GPTQ's act-order; default true) */
  actOrder?: boolean;
  /** dampening relative to the mean diagonal of H (default 0.01) */
  damp?: number;
  /** weights that are exactly zero stay zero and take none of the error (default true; a row without zeros is rounded as without it) */
  keepZeros?: boolean;
  /**
   * keepZeros: per-row rounds each row with H restricted to its kept columns (OBC; exact, about rows · n³ work);
   * shared uses the layer's one factor, a pruned weight set to zero at its turn and what it received pushed on
   * (SparseGPT's joint pass; as cheap as plain GPTQ). Default: per-row unless rows · n³ exceeds 2·10⁹ per group.
   */
  zeroRows?: 'per-row' | 'shared';
}

/** rows · n³ above which rows with zeros share the layer's factor (per-row factors would take minutes). */
const PER_ROW_WORK = 2e9;

/** How a weight tensor reads as a matrix: rows = output channels, columns = fan-in in im2col order. */
export interface WeightMatrix {
  outChannels: number;
  fanIn: number;
  /** element index of (output channel, fan-in column) in the stored tensor */
  offset(o: number, f: number): number;
}

/**
 * Quantizes `values` with the scales round-to-nearest would use (quantizeTensor with `quant`), choosing the
 * integers by GPTQ with the layer Hessian `hessian` (its groups split the output channels evenly).
 */
export function gptqQuantize(
  values: ArrayLike<number>, dims: readonly number[], quant: WeightQuantOptions, matrix: WeightMatrix, hessian: LayerHessian, opts: GptqOptions = {},
): QuantizedTensor {
  const rtn = quantizeTensor(values, dims, quant);
  const scaleOf = scaleIndexer(rtn, dims);
  const [qmin, qmax] = fullRange(quant.type);
  const { n, groups } = hessian;
  if (n !== matrix.fanIn || matrix.outChannels % groups !== 0) throw new Error(`GPTQ: a Hessian of ${groups} × ${n}² does not fit a ${matrix.outChannels} × ${matrix.fanIn} weight`);
  const rows = matrix.outChannels / groups;
  const out = new Int32Array(values.length);
  const block = opts.blockSize ?? 128;
  for (let g = 0; g < groups; g++) {
    const h = groupHessian(hessian, g);
    const order = Array.from({ length: n }, (_, i) => i);
    if (opts.actOrder ?? true) order.sort((a, b) => h[b * n + b] - h[a * n + a]);
    const hp = new Float64Array(n * n);
    for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) hp[a * n + b] = h[order[a] * n + order[b]];
    // W and its element offsets, rows × n in the permuted column order.
    const at = new Int32Array(rows * n);
    const w = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) {
      at[r * n + j] = matrix.offset(g * rows + r, order[j]);
      w[r * n + j] = values[at[r * n + j]];
    }
    const round = (e: number, x: number) => {
      const s = scaleOf(e);
      const scale = rtn.scales[s], zp = rtn.zeroPoints[s];
      const q = quantizeValue(x, scale, zp, qmin, qmax);
      out[e] = q;
      return scale * (q - zp);
    };
    const keepZeros = (opts.keepZeros ?? true) && w.includes(0);
    if (!keepZeros || (opts.zeroRows ?? (rows * n ** 3 > PER_ROW_WORK ? 'shared' : 'per-row')) === 'shared') {
      // Shared factor: a pruned weight rounds to zero (the zero point) whatever it received, and passes it on.
      const zero = keepZeros ? w.map((v) => (v === 0 ? 1 : 0)) : undefined;
      roundColumns(w, at, rows, n, inverseCholeskyUpper(hp, n, opts.damp ?? DEFAULT_DAMP), block, zero
        ? (e, x, k) => { if (!zero[k]) return round(e, x); out[e] = rtn.values[e]; return 0; }
        : round);
      continue;
    }
    // Rows with zeros: each is rounded alone with H restricted to its kept columns (rows with the same kept
    // columns share the factor); its zeros stay zero, which round-to-nearest gives (the zero point).
    const factors = new Map<string, Float64Array>();
    for (let r = 0; r < rows; r++) {
      const kept: number[] = [];
      for (let j = 0; j < n; j++) {
        if (w[r * n + j] !== 0) kept.push(j);
        else out[at[r * n + j]] = rtn.values[at[r * n + j]];
      }
      const k = kept.length;
      if (k === 0) continue;
      const key = k === n ? '' : kept.join(',');
      let u = factors.get(key);
      if (!u) {
        const hk = new Float64Array(k * k);
        for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) hk[a * k + b] = hp[kept[a] * n + kept[b]];
        u = inverseCholeskyUpper(hk, k, opts.damp ?? DEFAULT_DAMP);
        factors.set(key, u);
      }
      roundColumns(Float64Array.from(kept, (j) => w[r * n + j]), Int32Array.from(kept, (j) => at[r * n + j]), 1, k, u, block, round);
    }
  }
  return { ...rtn, values: out };
}

/**
 * The GPTQ loop over a rows × n matrix w (modified): round(element offset, value, index in w) returns the rounded value;
 * err = (w − round(w)) / U_jj is subtracted times U[j, j+1:] from the later columns, within the block at once
 * and from the columns after the block once per block.
 */
function roundColumns(w: Float64Array, at: Int32Array, rows: number, n: number, u: Float64Array, block: number, round: (e: number, x: number, k: number) => number): void {
  for (let i1 = 0; i1 < n; i1 += block) {
    const i2 = Math.min(i1 + block, n);
    const width = i2 - i1;
    const err = new Float64Array(rows * width);
    for (let i = i1; i < i2; i++) {
      const d = u[i * n + i];
      for (let r = 0; r < rows; r++) {
        const k = r * n + i;
        const e = (w[k] - round(at[k], w[k], k)) / d;
        err[r * width + i - i1] = e;
        if (e === 0) continue;
        for (let j = i + 1; j < i2; j++) w[r * n + j] -= e * u[i * n + j];
      }
    }
    if (i2 === n) continue;
    for (let r = 0; r < rows; r++) {
      for (let i = i1; i < i2; i++) {
        const e = err[r * width + i - i1];
        if (e === 0) continue;
        const ui = i * n;
        for (let j = i2; j < n; j++) w[r * n + j] -= e * u[ui + j];
      }
    }
  }
}

/** The im2col matrix view of a weighted layer's weight. */
export function layerMatrix(layer: WeightedLayer): WeightMatrix {
  return { ...weightLayout(layer), offset: (o, f) => weightOffset(layer, o, f) };
}

/**
 * Weight-only quantization's rounding by GPTQ for the layers of `proto` that have a Hessian (by layer name);
 * any other layer a caller asks for is an error, not a silent round-to-nearest.
 */
export function gptqRounding(proto: ModelProto, hessians: ReadonlyMap<string, LayerHessian>, opts: GptqOptions & { file?: string; onLayer?: (name: string, ms: number) => void } = {}): WeightRounding {
  const layers = new Map(weightedLayers(proto.graph!).map((l) => [l.name, l]));
  return (node: NodeProto, values, dims, quant) => {
    const name = nodeLabel(node);
    const layer = layers.get(name);
    const hessian = hessians.get(name);
    if (!layer || !hessian) throw new UsageError(opts.file, `GPTQ: no calibration Hessian for layer '${name}'`);
    const t0 = performance.now();
    const q = gptqQuantize(values, dims, quant, layerMatrix(layer), hessian, opts);
    opts.onLayer?.(name, performance.now() - t0);
    return q;
  };
}
