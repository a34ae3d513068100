// Sequential layer-wise reconstruction as in AdaPrune (Hubara et al. 2021) / OBC (Frantar & Alistarh 2022): each pruned layer's kept weights and bias are re-fit by least squares so its output, fed by the already-reconstructed pruned model, matches the original layer's output.
import { DatasetError, UsageError } from '../errors';
import { attrInts, attrString } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, usedNames, type GraphIndex } from '../onnx/graph';
import type { ModelProto } from '../onnx/proto';
import { makeTensor, type TensorSource } from '../onnx/tensor';
import { ActivationProbe, batchPlan, type BatchSource, type CapturedTensor } from '../eval/activations';
import { readConstant, weightedLayers, weightLayout, weightOffset, writeConstant, type WeightedLayer } from '../prune/layers';
import { factorDamped, NormalEquations, residualSquares, solveRestricted } from './leastSquares';

export interface LayerToFit {
  /** node name in the pruned model */
  name: string;
  /** kept weights (1) in the pruned weight's element order; omitted = every weight may change */
  mask?: Uint8Array;
  /** original output channel of each pruned output channel (structured pruning); omitted = identity */
  outChannels?: readonly number[];
  /** the original tensor to match; omitted = the tensor of the same name as the layer's output */
  target?: string;
}

export interface ReconstructOptions {
  /** calibration samples used (default 256) */
  samples?: number;
  /** ridge damping relative to the mean diagonal of XᵀX (default 0.01) */
  damping?: number;
  /** rows of the conv im2col system sampled in total per layer (default ≈ 24 × fan-in, 4096..32768) */
  rows?: number;
  batchSize?: number;
  threads?: number;
  /** add a bias to Conv/Gemm layers that have none, so the fit can shift means (default true) */
  addBias?: boolean;
  onLayer?: (report: LayerFitReport) => void;
  file?: string;
}

export interface LayerFitReport {
  name: string;
  rows: number;
  /** mean squared error vs the original output over the sampled rows, before and after the fit */
  mseBefore: number;
  mseAfter: number;
}

export interface ModelSource extends TensorSource { proto: ModelProto }

/**
 * Re-fits `layers` of `pruned` (in place; processed in topological order) against `original` on
 * calibration data. Returns one report per layer.
 */
export async function reconstructLayers(
  original: ModelSource, pruned: ModelSource, layers: readonly LayerToFit[], calib: BatchSource, opts: ReconstructOptions = {},
): Promise<LayerFitReport[]> {
  const graph = pruned.proto.graph!;
  const index = indexGraph(graph);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const order = weightedLayers(graph, index).filter((l) => byName.has(l.name));
  const missing = layers.filter((l) => !order.some((o) => o.name === l.name));
  if (missing.length > 0) throw new UsageError(opts.file, `cannot reconstruct '${missing[0].name}': not a Conv/Gemm/MatMul with a float constant weight`);
  const reports: LayerFitReport[] = [];
  for (const layer of order) {
    const spec = byName.get(layer.name)!;
    if (opts.addBias ?? true) ensureBias(index, layer);
    const report = await fitLayer(original, pruned, index, layer, spec, calib, opts);
    reports.push(report);
    opts.onLayer?.(report);
  }
  return reports;
}

/** Conv and Gemm get a zero bias when they have none, so their fit can include one. */
function ensureBias(index: GraphIndex, layer: WeightedLayer): void {
  if (layer.biasName || layer.kind === 'matmul') return;
  const { outChannels } = weightLayout(layer);
  const name = freshName(usedNames(index.graph), `${layer.weightName}.bias`);
  const t = makeTensor(name, index.constants.get(layer.weightName)!.dataType ?? DataType.FLOAT, [outChannels], new Float32Array(outChannels));
  index.graph.initializer.push(t);
  index.constants.set(name, t);
  if (layer.node.input.length < 3) layer.node.input.push(name);
  else layer.node.input[2] = name;
  layer.biasName = name;
}

/** How one layer's input rows and target rows are read from captured tensors. */
interface RowReader {
  groups: number;
  /** features per group, without the bias column */
  features: number;
  /** output channels per group */
  outPerGroup: number;
  /** calls emit(group, x, y) for the sampled rows of one batch */
  rows(x: CapturedTensor, y: CapturedTensor, batchStart: number, emit: (g: number, x: Float64Array, y: Float64Array) => void): void;
}

async function fitLayer(
  original: ModelSource, pruned: ModelSource, index: GraphIndex, layer: WeightedLayer, spec: LayerToFit,
  calib: BatchSource, opts: ReconstructOptions,
): Promise<LayerFitReport> {
  const { outChannels, fanIn } = weightLayout(layer);
  const outMap = spec.outChannels ?? Array.from({ length: outChannels }, (_, i) => i);
  if (outMap.length !== outChannels) throw new Error(`reconstruct '${layer.name}': ${outMap.length} channel indices for ${outChannels} outputs`);
  const inputName = layer.node.input[0];
  const targetName = spec.target ?? layer.node.output[0];
  const samples = Math.min(calib.n, opts.samples ?? 256);
  if (samples < 1) throw new DatasetError(opts.file, 'the calibration set is empty');

  const student = await ActivationProbe.open(pruned.proto, [inputName], { threads: opts.threads, file: opts.file });
  const teacher = await ActivationProbe.open(original.proto, [targetName], { threads: opts.threads, file: opts.file });
  const weights = readConstant(index, layer.weightName, pruned);
  const bias = layer.biasName ? readConstant(index, layer.biasName, pruned) : undefined;
  const hasBias = bias !== undefined;
  let reader: RowReader | undefined;
  let equations: NormalEquations[] = [];
  let errBefore = 0;
  let rowCount = 0;
  try {
    for (const [start, count] of batchPlan(calib, student.fixedBatch, { batchSize: opts.batchSize ?? 32, limit: samples })) {
      const data = await calib.batch(start, count);
      const dims = [count, ...calib.sampleShape];
      const x = inputName === student.inputName ? { data, dims } : (await student.run(data, dims)).get(inputName)!;
      const y = (await teacher.run(data, dims)).get(targetName)!;
      if (!reader) {
        reader = rowReader(layer, x, y, outMap, samples, opts);
        const n = reader.features + (hasBias ? 1 : 0);
        equations = Array.from({ length: reader.groups }, () => new NormalEquations(n, reader!.outPerGroup));
      }
      reader.rows(x, y, start, (g, xr, yr) => {
        const xb = hasBias ? withOne(xr) : xr;
        equations[g].add(xb, yr);
        errBefore += rowError(layer, weights, bias, g, reader!, xr, yr);
        rowCount++;
      });
    }
  } finally {
    await student.close();
    await teacher.close();
  }
  const r = reader!;
  const damping = opts.damping ?? 0.01;
  let errAfter = 0;
  const newWeights = weights.slice();
  const newBias = bias?.slice();
  for (let g = 0; g < r.groups; g++) {
    const eq = equations[g];
    eq.symmetrize();
    let denseFactor: Float64Array | undefined;
    let denseIdx: number[] | undefined;
    for (let j = 0; j < r.outPerGroup; j++) {
      const o = g * r.outPerGroup + j;
      const idx: number[] = [];
      for (let f = 0; f < fanIn; f++) if (!spec.mask || spec.mask[weightOffset(layer, o, f)]) idx.push(f);
      if (hasBias) idx.push(fanIn);
      let factor: Float64Array | undefined;
      if (idx.length === fanIn + (hasBias ? 1 : 0)) {
        denseIdx ??= idx;
        denseFactor ??= factorDamped(eq.gram, eq.n, denseIdx, damping);
        factor = denseFactor;
      }
      const w = solveRestricted(eq, idx, j, damping, factor);
      for (let f = 0; f < fanIn; f++) newWeights[weightOffset(layer, o, f)] = 0;
      idx.forEach((f, a) => { if (f < fanIn) newWeights[weightOffset(layer, o, f)] = w[a]; else newBias![o] = w[a]; });
      errAfter += residualSquares(eq, idx, j, w);
    }
  }
  writeConstant(index, layer.weightName, layer.dims, newWeights);
  if (layer.biasName && newBias) writeConstant(index, layer.biasName, [outChannels], newBias);
  return { name: layer.name, rows: rowCount, mseBefore: errBefore / Math.max(rowCount * outChannels, 1), mseAfter: Math.max(errAfter, 0) / Math.max(rowCount * outChannels, 1) };
}

function withOne(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length + 1);
  out.set(x);
  out[x.length] = 1;
  return out;
}

/** Squared error of the current (pruned) weights on one row of group g. */
function rowError(layer: WeightedLayer, weights: Float32Array, bias: Float32Array | undefined, g: number, r: RowReader, x: Float64Array, y: Float64Array): number {
  let err = 0;
  for (let j = 0; j < r.outPerGroup; j++) {
    const o = g * r.outPerGroup + j;
    let s = bias ? bias[o] : 0;
    for (let f = 0; f < r.features; f++) if (x[f] !== 0) s += weights[weightOffset(layer, o, f)] * x[f];
    err += (s - y[j]) ** 2;
  }
  return err;
}

function rowReader(layer: WeightedLayer, x: CapturedTensor, y: CapturedTensor, outMap: readonly number[], samples: number, opts: ReconstructOptions): RowReader {
  return layer.kind === 'conv' ? convRows(layer, x, y, outMap, samples, opts) : denseRows(layer, x, y, outMap);
}

/** Gemm/MatMul: every leading index of the input is one row; features along the last axis. */
function denseRows(layer: WeightedLayer, x0: CapturedTensor, y0: CapturedTensor, outMap: readonly number[]): RowReader {
  const features = weightLayout(layer).fanIn;
  const yWidth = y0.dims[y0.dims.length - 1];
  if (x0.dims[x0.dims.length - 1] !== features) throw new UsageError(undefined, `reconstruct '${layer.name}': input has ${x0.dims.at(-1)} features, weight expects ${features}`);
  return {
    groups: 1, features, outPerGroup: outMap.length,
    rows(x, y, _start, emit) {
      const rows = x.data.length / features;
      const xr = new Float64Array(features);
      const yr = new Float64Array(outMap.length);
      for (let r = 0; r < rows; r++) {
        for (let f = 0; f < features; f++) xr[f] = x.data[r * features + f];
        for (let j = 0; j < outMap.length; j++) yr[j] = y.data[r * yWidth + outMap[j]];
        emit(0, xr, yr);
      }
    },
  };
}

/** 2-D Conv: im2col rows at output positions sampled deterministically per image. */
function convRows(layer: WeightedLayer, x0: CapturedTensor, y0: CapturedTensor, outMap: readonly number[], samples: number, opts: ReconstructOptions): RowReader {
  const n = layer.node;
  if (layer.dims.length !== 4 || x0.dims.length !== 4) throw new UsageError(opts.file, `reconstruct '${layer.name}': only 2-D convolutions are supported`);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new UsageError(opts.file, `reconstruct '${layer.name}': auto_pad ${autoPad} is not supported`);
  const [, cinG, kh, kw] = layer.dims;
  const [sh, sw] = attrInts(n, 'strides') ?? [1, 1];
  const [dh, dw] = attrInts(n, 'dilations') ?? [1, 1];
  const [pt, pl] = autoPad === 'VALID' ? [0, 0] : attrInts(n, 'pads') ?? [0, 0, 0, 0];
  const groups = layer.group;
  const outPerGroup = outMap.length / groups;
  const features = cinG * kh * kw;
  const [, cin, h, w] = x0.dims;
  const [, cOrig, oh, ow] = y0.dims;
  const positions = oh * ow;
  const targetRows = opts.rows ?? Math.min(32768, Math.max(4096, 24 * (features + 1)));
  const perImage = Math.min(positions, Math.ceil(targetRows / samples));
  return {
    groups, features, outPerGroup,
    rows(x, y, batchStart, emit) {
      const count = x.dims[0];
      const xr = new Float64Array(features);
      const yr = new Float64Array(outPerGroup);
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
            for (let j = 0; j < outPerGroup; j++) yr[j] = y.data[(i * cOrig + outMap[g * outPerGroup + j]) * positions + p];
            emit(g, xr, yr);
          }
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
