// Sequential layer-wise reconstruction as in AdaPrune (Hubara et al. 2021) / OBC (Frantar & Alistarh 2022): each pruned layer's kept weights and bias are re-fit by least squares so its output, fed by the already-reconstructed pruned model, matches the original layer's output.
import { DatasetError, UsageError } from '../errors';
import { attrFloat, attrInt } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, nodeLabel, usedNames, type GraphIndex } from '../onnx/graph';
import type { ModelProto } from '../onnx/proto';
import { makeTensor, type TensorSource } from '../onnx/tensor';
import { ActivationProbe, batchPlan, captureActivations, feedsFor, type BatchSource, type CapturedTensor } from '../eval/activations';
import { modelInput } from '../eval/modelInput';
import { readConstant, weightedLayers, weightLayout, weightOffset, writeConstant, type WeightedLayer } from '../prune/layers';
import { rowReader, type RowReader } from './layerRows';
import { choleskySolve, factorDamped, NormalEquations, solveRestricted } from './leastSquares';

export interface LayerToFit {
  /** node name in the pruned model */
  name: string;
  /** kept weights (1) in the pruned weight's element order; omitted = every weight may change */
  mask?: Uint8Array;
  /** original output channel of each pruned output channel (structured pruning); omitted = identity */
  outChannels?: readonly number[];
  /** the original tensor to match; omitted = the tensor of the same name as the layer's output */
  target?: string;
  /**
   * chooses the kept weights (replacing `mask`) from the layer's normal equations on the pruned model's inputs,
   * just before the fit: one per conv group, features in im2col order then, if hasBias, the bias (OBS pruning).
   * `prior(o, f)`, when given, is the value the ridge term pulls output channel o's feature f (f = fan-in: the
   * bias) towards, in the units of the equations (ReconstructOptions.prior)
   */
  chooseMask?: (equations: readonly NormalEquations[], hasBias: boolean, prior?: (o: number, f: number) => number) => Uint8Array;
}

export interface ReconstructOptions {
  /** checked before each layer: an aborted run throws signal.reason */
  signal?: AbortSignal;
  /** calibration samples used (default 256) */
  samples?: number;
  /** ridge damping relative to the mean diagonal of XᵀX (default 0.01) */
  damping?: number;
  /**
   * what the ridge term pulls the weights towards: the layer's current weights and bias (default; Tikhonov with
   * the trained values as the prior, so directions the calibration rows do not span keep their trained values)
   * or zero (plain ridge)
   */
  prior?: 'current' | 'zero';
  /** rows of the conv im2col system sampled in total per layer (default ≈ 24 × fan-in, 4096..32768; grouped convs from 1024) */
  rows?: number;
  batchSize?: number;
  threads?: number;
  /**
   * bytes of sampled target rows held at once (default 256 MiB): the targets of consecutive layers are
   * captured in one pass over the original model while they fit
   */
  targetBytes?: number;
  /** bytes of fit layers' inputs kept to compute later layers' inputs from (default 256 MiB) */
  inputBytes?: number;
  /** add a bias to Conv/Gemm layers that have none, so the fit can shift means (default true) */
  addBias?: boolean;
  onLayer?: (report: LayerFitReport) => void;
  file?: string;
}

export interface LayerFitReport {
  name: string;
  rows: number;
  /** mean squared error vs the original output over the sampled rows, before and after the fit, of the layer's output as onnxruntime computes it */
  mseBefore: number;
  mseAfter: number;
  /**
   * The fit also chose the mask (method obs): then "before" is the layer still dense on the pruned model's inputs,
   * not a pruned layer, and after can be larger than before.
   */
  maskChosen?: boolean;
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
  if (missing.length > 0) {
    const n = graph.node.find((m) => nodeLabel(m) === missing[0].name);
    const why = n?.opType === 'Gemm' && attrInt(n, 'transA', 0) !== 0 ? 'a Gemm with transA = 1 (transposed input) is not supported' : 'not a Conv/Gemm/MatMul with a float constant weight';
    throw new UsageError(opts.file, `cannot reconstruct '${missing[0].name}': ${why}`);
  }
  const samples = Math.min(calib.n, opts.samples ?? 256);
  if (samples < 1) throw new DatasetError(opts.file, 'the calibration set is empty');
  const cached = cachedBatches(calib);
  const fits = await planFits(original, order.map((l) => [l, byName.get(l.name)!]), cached, samples, opts);
  const reports: LayerFitReport[] = [];
  const inputs = new InputCache(pruned.proto, fits.map((f) => f.layer.node.input[0]), opts.inputBytes ?? INPUT_BYTES);
  // The original model's outputs do not change as layers are fit, so its targets are captured ahead,
  // several layers per pass; only the pruned model must run again for each layer's inputs.
  for (let start = 0; start < fits.length;) {
    const chunk = nextChunk(fits, start, samples, opts.targetBytes ?? TARGET_BYTES);
    await captureTargets(original, chunk, cached, samples, opts);
    for (const [k, fit] of chunk.entries()) {
      opts.signal?.throwIfAborted();
      if (opts.addBias ?? true) ensureBias(index, fit.layer);
      const report = await fitLayer(pruned, index, fit, start + k, inputs, cached, samples, opts);
      reports.push(report);
      opts.onLayer?.(report);
    }
    start += chunk.length;
  }
  return reports;
}

const INPUT_BYTES = 256 * 2 ** 20;

/**
 * Inputs of already-fit layers, as the pruned model computes them, kept per batch start. A layer's
 * input depends only on layers before it in topological order, which are fit already, so it stays valid
 * for the rest of the run, and later layers' inputs are computed from it (and the model input) rather
 * than from the model input through every earlier node. Each is kept until the last layer whose
 * computation starts from it, within a byte budget.
 */
class InputCache {
  private readonly kept = new Map<string, Map<number, CapturedTensor>>();
  private readonly lastUse = new Map<string, number>();
  private readonly modelInput: string;
  private bytes = 0;

  constructor(private readonly proto: ModelProto, private readonly layerInputs: readonly string[], private readonly budget: number) {
    this.modelInput = modelInput(proto)?.name ?? '';
    const available = new Set([this.modelInput]);
    layerInputs.forEach((name, i) => {
      for (const t of feedsFor(proto, [name], available)) this.lastUse.set(t, i);
      available.add(name);
    });
  }

  /** The tensors layer i's input is computed from. */
  feedsOf(i: number): string[] {
    return feedsFor(this.proto, [this.layerInputs[i]], new Set([this.modelInput, ...this.kept.keys()]));
  }

  /** A fed tensor's value for one batch (the model input is the calibration batch itself). */
  get(name: string, start: number, data: Float32Array, dims: number[]): CapturedTensor {
    return name === this.modelInput ? { data, dims } : this.kept.get(name)!.get(start)!;
  }

  /** Keeps layer i's input for one batch if a later layer starts from it and it fits the budget. */
  offer(i: number, start: number, x: CapturedTensor): void {
    const name = this.layerInputs[i];
    if (name === this.modelInput || (this.lastUse.get(name) ?? -1) <= i) return;
    let batches = this.kept.get(name);
    if (!batches) {
      if (start !== 0) return; // refused earlier for lack of room
      this.kept.set(name, (batches = new Map()));
    }
    if (batches.has(start)) return;
    if (this.bytes + 4 * x.data.length > this.budget) { this.drop(name); return; }
    batches.set(start, x);
    this.bytes += 4 * x.data.length;
  }

  /** Drops what no layer after layer i starts from. */
  release(i: number): void {
    for (const name of [...this.kept.keys()]) if ((this.lastUse.get(name) ?? -1) <= i) this.drop(name);
  }

  private drop(name: string): void {
    for (const x of this.kept.get(name)?.values() ?? []) this.bytes -= 4 * x.data.length;
    this.kept.delete(name);
  }
}

/** One layer to fit, how its rows are read, and (once captured) its targets per batch start. */
interface LayerFit {
  layer: WeightedLayer;
  spec: LayerToFit;
  targetName: string;
  reader: RowReader;
  targets: Map<number, Float32Array>;
  /** the model's fixed batch size, if any (the batch plan must match the captured targets') */
  fixedBatch: number | undefined;
}

/** Readers for every layer, from the target shapes of one sample run through the original model. */
async function planFits(
  original: ModelSource, layers: [WeightedLayer, LayerToFit][], calib: BatchSource, samples: number, opts: ReconstructOptions,
): Promise<LayerFit[]> {
  const targetNames = [...new Set(layers.map(([l, s]) => s.target ?? l.node.output[0]))];
  const probe = await ActivationProbe.open(original.proto, targetNames, { threads: opts.threads, file: opts.file });
  let shapes: Map<string, CapturedTensor>;
  try {
    const count = probe.fixedBatch ?? 1;
    shapes = await probe.run(await calib.batch(0, count), [count, ...calib.sampleShape]);
  } finally {
    await probe.close();
  }
  return layers.map(([layer, spec]) => {
    const { outChannels } = weightLayout(layer);
    const outMap = spec.outChannels ?? Array.from({ length: outChannels }, (_, i) => i);
    if (outMap.length !== outChannels) throw new Error(`reconstruct '${layer.name}': ${outMap.length} channel indices for ${outChannels} outputs`);
    const targetName = spec.target ?? layer.node.output[0];
    const reader = rowReader(layer, shapes.get(targetName)!.dims, outMap, samples, opts);
    return { layer, spec, targetName, reader, targets: new Map(), fixedBatch: probe.fixedBatch };
  });
}

const TARGET_BYTES = 256 * 2 ** 20;

/** The layers from `start` on whose targets fit in `budget` bytes together (at least one). */
function nextChunk(fits: LayerFit[], start: number, samples: number, budget: number): LayerFit[] {
  let bytes = 0;
  let end = start;
  while (end < fits.length) {
    const r = fits[end].reader;
    bytes += 4 * samples * r.rowsPerSample * r.groups * r.outPerGroup;
    if (end > start && bytes > budget) break;
    end++;
  }
  return fits.slice(start, end);
}

async function captureTargets(original: ModelSource, chunk: LayerFit[], calib: BatchSource, samples: number, opts: ReconstructOptions): Promise<void> {
  const names = [...new Set(chunk.map((f) => f.targetName))];
  // Batch starts match fitLayer's plan: same model (same fixed batch), batch size and limit.
  await captureActivations(original.proto, names, calib, (out, start) => {
    for (const fit of chunk) fit.targets.set(start, fit.reader.targets(out.get(fit.targetName)!, start));
  }, { batchSize: opts.batchSize ?? 32, limit: samples, threads: opts.threads, file: opts.file });
}

/** Every layer reads the same calibration batches: decode them once (one copy of the inputs in memory). */
function cachedBatches(calib: BatchSource): BatchSource {
  const batches = new Map<string, Promise<Float32Array>>();
  return {
    n: calib.n, sampleShape: calib.sampleShape,
    batch(start, count) {
      const key = `${start}:${count}`;
      let b = batches.get(key);
      if (!b) batches.set(key, (b = calib.batch(start, count)));
      return b;
    },
  };
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

async function fitLayer(
  pruned: ModelSource, index: GraphIndex, fit: LayerFit, i: number, inputs: InputCache, calib: BatchSource, samples: number, opts: ReconstructOptions,
): Promise<LayerFitReport> {
  const { layer, spec, reader: r } = fit;
  const { outChannels } = weightLayout(layer);
  const inputName = layer.node.input[0];
  const outputName = layer.node.output[0];
  // Gemm computes alpha·A·B + beta·C: the fit finds alpha·B and beta·C.
  const alpha = layer.kind === 'gemm' ? attrFloat(layer.node, 'alpha', 1) : 1;
  const beta = layer.kind === 'gemm' ? attrFloat(layer.node, 'beta', 1) : 1;
  if (alpha === 0) throw new UsageError(opts.file, `cannot reconstruct '${layer.name}': its Gemm alpha is 0`);
  const hasBias = layer.biasName !== undefined && beta !== 0;
  const equations = Array.from({ length: r.groups }, () => new NormalEquations(r.features + (hasBias ? 1 : 0), r.outPerGroup));
  const own = Array.from({ length: outChannels }, (_, j) => j);
  let rowCount = 0;
  const from = inputs.feedsOf(i);
  const plan = batchPlan(calib, fit.fixedBatch, { batchSize: opts.batchSize ?? 32, limit: samples });
  /** Runs the pruned model from the fed tensors over the calibration batches; returns Σ (output − target)² over the sampled rows. */
  const measure = async (onBatch?: (x: CapturedTensor, start: number, y: Float32Array) => void): Promise<number> => {
    const probe = await ActivationProbe.open(pruned.proto, [inputName, outputName], { threads: opts.threads, file: opts.file, from });
    let squares = 0;
    try {
      for (const [start, count] of plan) {
        const data = await calib.batch(start, count);
        const dims = [count, ...calib.sampleShape];
        const out = await probe.runFrom(new Map(from.map((name) => [name, inputs.get(name, start, data, dims)])));
        const y = fit.targets.get(start)!;
        const output = r.targets(out.get(outputName)!, start, own);
        for (let k = 0; k < y.length; k++) squares += (output[k] - y[k]) ** 2;
        onBatch?.(out.get(inputName)!, start, y);
      }
    } finally {
      await probe.close();
    }
    return squares;
  };
  let errBefore: number, errAfter: number;
  try {
    errBefore = await measure((x, start, y) => {
      inputs.offer(i, start, x);
      r.rows(x, start, (g, xr, at) => {
        equations[g].add(xr, y, at);
        if (g === 0) rowCount++;
      });
    });
    const mask = spec.chooseMask?.(equations, hasBias, (opts.prior ?? 'current') === 'current' ? priorOf(pruned, index, layer, hasBias, alpha, beta) : undefined);
    solve(pruned, index, layer, mask ? { ...spec, mask } : spec, equations, hasBias, alpha, beta, opts.damping ?? 0.01, opts.prior ?? 'current');
    errAfter = await measure();
  } finally {
    fit.targets.clear();
    inputs.release(i);
  }
  const values = Math.max(rowCount * outChannels, 1);
  return { name: layer.name, rows: rowCount, mseBefore: errBefore / values, mseAfter: errAfter / values, ...(spec.chooseMask ? { maskChosen: true } : {}) };
}


/**
 * Solves every output channel's restricted least squares and writes the layer's weight (and bias) as alpha·B = w, beta·C = b.
 * With prior 'current' the ridge term is λ‖w − w₀‖² (w₀ = the layer's weights and bias before the fit, on the kept
 * features): w = w₀ + (G + λI)⁻¹(c − G w₀), which equals (G + λI)⁻¹(c + λw₀).
 */
function solve(
  src: ModelSource, index: GraphIndex, layer: WeightedLayer, spec: LayerToFit, equations: NormalEquations[], hasBias: boolean,
  alpha: number, beta: number, damping: number, prior: 'current' | 'zero',
): void {
  const { outChannels, fanIn } = weightLayout(layer);
  const newWeights = new Float32Array(outChannels * fanIn);
  const newBias = new Float32Array(outChannels);
  const offsets = Int32Array.from({ length: outChannels * fanIn }, (_, k) => weightOffset(layer, Math.floor(k / fanIn), k % fanIn));
  const outPerGroup = outChannels / equations.length;
  const w0 = prior === 'current' ? readConstant(index, layer.weightName, src) : undefined;
  const b0 = prior === 'current' && hasBias ? readConstant(index, layer.biasName!, src) : undefined;
  for (const [g, eq] of equations.entries()) {
    eq.symmetrize();
    let denseFactor: Float64Array | undefined;
    let denseIdx: number[] | undefined;
    for (let j = 0; j < outPerGroup; j++) {
      const o = g * outPerGroup + j;
      const idx: number[] = [];
      for (let f = 0; f < fanIn; f++) if (!spec.mask || spec.mask[offsets[o * fanIn + f]]) idx.push(f);
      if (hasBias) idx.push(fanIn);
      let factor: Float64Array | undefined;
      if (idx.length === fanIn + (hasBias ? 1 : 0)) {
        denseIdx ??= idx;
        denseFactor ??= factorDamped(eq.gram, eq.n, denseIdx, damping);
        factor = denseFactor;
      }
      const start = w0 ? idx.map((f) => (f < fanIn ? alpha * w0[offsets[o * fanIn + f]] : beta * biasAt(b0!, o))) : undefined;
      const w = start ? solveFrom(eq, idx, j, start, damping, factor) : solveRestricted(eq, idx, j, damping, factor);
      idx.forEach((f, a) => { if (f < fanIn) newWeights[offsets[o * fanIn + f]] = w[a] / alpha; else newBias[o] = w[a] / beta; });
    }
  }
  writeConstant(index, layer.weightName, layer.dims, newWeights);
  if (hasBias) writeConstant(index, layer.biasName!, [outChannels], newBias);
}

/** The layer's current weight (f < fan-in) and bias (f = fan-in) of output channel o, as alpha·B and beta·C. */
function priorOf(src: ModelSource, index: GraphIndex, layer: WeightedLayer, hasBias: boolean, alpha: number, beta: number): (o: number, f: number) => number {
  const { fanIn } = weightLayout(layer);
  const w = readConstant(index, layer.weightName, src);
  const b = hasBias ? readConstant(index, layer.biasName!, src) : undefined;
  return (o, f) => (f < fanIn ? alpha * w[weightOffset(layer, o, f)] : b ? beta * biasAt(b, o) : 0);
}

/** Output channel o's bias; a Gemm's C may be one value broadcast to every channel. */
const biasAt = (b: Float32Array, o: number) => (b.length === 1 ? b[0] : b[o]);

/** Ridge towards `start` on the features idx of target column col: start + (G + λI)⁻¹ (c − G·start). */
export function solveFrom(eq: NormalEquations, idx: readonly number[], col: number, start: readonly number[], damping: number, factor?: Float64Array): Float64Array {
  const l = factor ?? factorDamped(eq.gram, eq.n, idx, damping);
  const { gram, cross, n, m } = eq;
  const k = idx.length;
  const b = new Float64Array(k);
  for (let a = 0; a < k; a++) {
    const row = idx[a] * n;
    let s = cross[idx[a] * m + col];
    for (let c = 0; c < k; c++) s -= gram[row + idx[c]] * start[c];
    b[a] = s;
  }
  const d = choleskySolve(l, k, b);
  for (let a = 0; a < k; a++) d[a] += start[a];
  return d;
}
