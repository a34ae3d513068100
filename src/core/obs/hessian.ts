// Layer Hessians H = XᵀX of the layer-wise squared error, as in OBS/OBC (Frantar & Alistarh, NeurIPS 2022),
// GPTQ (Frantar et al., ICLR 2023) and SparseGPT (Frantar & Alistarh, ICML 2023), with GPTQ's dampening.
//
// Interface (stable; GPTQ rounding and SparseGPT/OBS pruning build on it):
//   layerHessians(model, calibration, layers, opts) → Map<layer name, LayerHessian>
//     layer name = nodeLabel(node) (src/core/onnx/graph.ts), the name weightedLayers() gives.
//     LayerHessian { h, n, groups, rows }: `groups` row-major n×n matrices back to back in `h` (group g at
//     g·n·n), n = fan-in per output channel in im2col order (Conv: input channel, ky, kx of the group;
//     Gemm/MatMul: the input feature), H = (1/rows) Σ x xᵀ over the sampled rows in float64. Group g's
//     output channels are g·(out/groups) … (g+1)·(out/groups) − 1 (depthwise: one channel per group).
//     X are the inputs the *original* model feeds the layer on the calibration data (one pass for all layers).
//   forEachLayerHessian(model, calibration, layers, opts, consume) — the same Hessians, computed in groups of
//     consecutive layers whose H fit opts.budgetBytes together (one calibration pass per group) and handed to
//     `consume` one at a time, so what is held is bounded by the budget or the largest layer's H, not the model's.
//   tapHessians(proto, calibration, taps, opts) — H of layers whose input is read from any tensor of any model
//     (GPTQ's sequential mode reads them from the partly quantized model).
//   inverseCholeskyUpper(h, n, damp) → U (n×n, row-major, upper) with UᵀU = (H + λI)⁻¹,
//     λ = damp · mean(diag H) (GPTQ's percdamp, 0.01), raised tenfold until H + λI factors.
import { UsageError } from '../errors';
import { ActivationProbe, batchPlan, captureActivations, feedsFor, type BatchSource, type CapturedTensor, type CaptureOptions } from '../eval/activations';
import { modelInput } from '../eval/modelInput';
import { indexGraph } from '../onnx/graph';
import type { ModelProto } from '../onnx/proto';
import { weightedLayers, weightLayout, type WeightedLayer } from '../prune/layers';
import { rowReader, type RowReader } from '../recover/layerRows';
import { cholesky, factorDamped, NormalEquations } from '../recover/leastSquares';
import type { ModelSource } from '../recover/reconstruct';

export interface LayerHessian {
  /** `groups` n×n matrices, row-major, back to back */
  h: Float64Array;
  /** fan-in per output channel (columns of the weight matrix in im2col order) */
  n: number;
  /** Conv groups (1 for Gemm/MatMul) */
  groups: number;
  /** sampled input rows the mean is over (per group) */
  rows: number;
}

export interface HessianOptions {
  /** calibration samples used (default 256) */
  samples?: number;
  /** conv im2col rows sampled per layer in total (default as reconstruction: ≈ 24 × fan-in, 4096..32768; grouped convs from 1024) */
  rows?: number;
  batchSize?: number;
  threads?: number;
  signal?: AbortSignal;
  file?: string;
}

/** GPTQ's default dampening, relative to the mean diagonal. */
export const DEFAULT_DAMP = 0.01;

const NO_TARGETS = new Float64Array(0);

/** One layer whose H is taken: its weight layout and attributes from `layer`, its input and output read from these tensors. */
export interface HessianTap {
  layer: WeightedLayer;
  /** the tensor fed to the layer (im2col rows come from it) */
  input: string;
  /** the layer's output (only its shape is used: conv rows are sampled per output position) */
  output: string;
}

/** Bytes a layer's Hessian holds while accumulated and once finished (float64, one n×n matrix per group). */
export function hessianBytes(layer: WeightedLayer): number {
  const { fanIn } = weightLayout(layer);
  return 8 * (layer.kind === 'conv' ? layer.group : 1) * fanIn * fanIn;
}

/** Consecutive runs of `items` whose sizes sum to at most `budget` (an item larger than the budget goes alone). */
export function hessianGroups<T>(items: readonly T[], bytes: (item: T) => number, budget: number): T[][] {
  const groups: T[][] = [];
  let held = Infinity;
  for (const item of items) {
    const b = bytes(item);
    if (held + b > budget || groups.length === 0) { groups.push([item]); held = b; } else { groups[groups.length - 1].push(item); held += b; }
  }
  return groups;
}

/** Default bytes of Hessians held at once by forEachLayerHessian (a layer whose H alone is larger is taken alone). */
export const HESSIAN_BUDGET = 64 * 2 ** 20;

export interface StreamedHessians {
  /** calibration passes made (one per group of layers) */
  passes: number;
  /** most Hessian bytes held at once (the accumulating group, plus the finished H being consumed) */
  peakBytes: number;
}

/** The Conv/Gemm/MatMul layers of `model` named in `layers`, in topological order; any other name is a usage error. */
export function hessianLayers(model: ModelSource, layers: readonly string[], file?: string): WeightedLayer[] {
  const graph = model.proto.graph!;
  const wanted = new Set(layers);
  const chosen = weightedLayers(graph, indexGraph(graph)).filter((l) => wanted.has(l.name));
  const missing = layers.find((name) => !chosen.some((l) => l.name === name));
  if (missing !== undefined) throw new UsageError(file, `no Hessian for '${missing}': not a Conv/Gemm/MatMul with a float constant weight`);
  return chosen;
}

/** H of every layer in `layers` (Conv/Gemm/MatMul with a constant float weight) from one pass of the model over the calibration data. */
export async function layerHessians(
  model: ModelSource, calibration: BatchSource, layers: readonly string[], opts: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  const out = new Map<string, LayerHessian>();
  await forEachLayerHessian(model, calibration, layers, { ...opts, budgetBytes: Infinity }, (name, h) => { out.set(name, h); });
  return out;
}

/**
 * The Hessians of layerHessians (equal to them: the same rows of the same batches), computed for consecutive
 * layers whose H fit `budgetBytes` together (default HESSIAN_BUDGET; 0: one layer per pass), each group in one
 * calibration pass of the model cut after it, and handed to `consume` in topological order and then dropped.
 */
export async function forEachLayerHessian(
  model: ModelSource, calibration: BatchSource, layers: readonly string[], opts: HessianOptions & { budgetBytes?: number },
  consume: (name: string, hessian: LayerHessian) => void | Promise<void>,
): Promise<StreamedHessians> {
  const chosen = hessianLayers(model, layers, opts.file);
  const groups = hessianGroups(chosen, hessianBytes, opts.budgetBytes ?? HESSIAN_BUDGET);
  let peakBytes = 0;
  for (const group of groups) {
    const bytes = group.reduce((s, l) => s + hessianBytes(l), 0);
    const hessians = await tapHessians(model.proto, calibration, group.map((l) => ({ layer: l, input: l.node.input[0], output: l.node.output[0] })), opts);
    // While the group's sums are turned into H one at a time, a finished H and the sums not yet turned are held.
    peakBytes = Math.max(peakBytes, bytes + Math.max(...group.map(hessianBytes)));
    for (const [i, l] of group.entries()) {
      await consume(l.name, hessians[i]);
      hessians[i] = undefined!;
    }
  }
  return { passes: groups.length, peakBytes };
}

/**
 * Tensors captured by earlier passes (per batch start) that a later pass may start from instead of the model
 * input, oldest dropped first beyond `budget` bytes. Valid only while they mean the same values in the later
 * models: GPTQ's sequential mode caches layer inputs, which depend only on layers rounded before them.
 */
export class ActivationCache {
  private readonly kept = new Map<string, Map<number, CapturedTensor>>();
  private bytes = 0;

  constructor(private readonly budget = 256 * 2 ** 20) {}

  names(): string[] {
    return [...this.kept.keys()];
  }

  get(name: string, start: number): CapturedTensor {
    const t = this.kept.get(name)?.get(start);
    if (!t) throw new Error(`activation cache: no batch at ${start} of '${name}'`);
    return t;
  }

  add(name: string, batches: Map<number, CapturedTensor>): void {
    const size = [...batches.values()].reduce((s, t) => s + t.data.byteLength, 0);
    if (this.kept.has(name) || size > this.budget) return;
    for (const [old, b] of this.kept) {
      if (this.bytes + size <= this.budget) break;
      this.kept.delete(old);
      for (const t of b.values()) this.bytes -= t.data.byteLength;
    }
    this.kept.set(name, batches);
    this.bytes += size;
  }
}

/**
 * H of each tap from one pass of `proto` (cut after the tapped tensors) over the calibration data. With `cache`,
 * the pass starts from cached tensors where it can, and the taps' inputs are cached for later passes.
 */
export async function tapHessians(
  proto: ModelProto, calibration: BatchSource, taps: readonly HessianTap[], opts: HessianOptions & { cache?: ActivationCache } = {},
): Promise<LayerHessian[]> {
  const samples = Math.min(calibration.n, opts.samples ?? 256);
  const names = [...new Set(taps.flatMap((t) => [t.input, t.output]))];
  let readers: RowReader[] | undefined;
  let sums: NormalEquations[][] = [];
  const onBatch = (out: Map<string, CapturedTensor>, start: number) => {
    opts.signal?.throwIfAborted();
    const get = (name: string): CapturedTensor => out.get(name)!;
    // Conv rows are sampled per output position: the readers need the output shape, known from the first batch.
    readers ??= taps.map((t) => rowReader(t.layer, get(t.output).dims, Array.from({ length: weightLayout(t.layer).outChannels }, (_, i) => i), samples, opts));
    if (sums.length === 0) sums = readers.map((r) => Array.from({ length: r.groups }, () => new NormalEquations(r.features, 0)));
    taps.forEach((t, i) => readers![i].rows(get(t.input), start, (g, x) => sums[i][g].add(x, NO_TARGETS)));
  };
  const capture = { batchSize: opts.batchSize ?? 16, limit: samples, threads: opts.threads, file: opts.file };
  if (opts.cache) await captureFromCache(proto, names, calibration, opts.cache, taps.map((t) => t.input), onBatch, capture);
  else await captureActivations(proto, names, calibration, onBatch, capture);
  // Each layer's sums are dropped as soon as its H is made.
  return taps.map((_, i) => {
    const h = meanHessian(sums[i]);
    sums[i] = [];
    return h;
  });
}

/** captureActivations starting from the cache's tensors where the model allows, then caching the `keep` tensors. */
async function captureFromCache(
  proto: ModelProto, names: string[], source: BatchSource, cache: ActivationCache, keep: readonly string[],
  onBatch: (out: Map<string, CapturedTensor>, start: number) => void, opts: CaptureOptions & { file?: string },
): Promise<void> {
  const input = modelInput(proto)?.name ?? '';
  const produced = indexGraph(proto.graph!).producer;
  const from = feedsFor(proto, names, new Set([input, ...cache.names().filter((n) => produced.has(n))]));
  const probe = await ActivationProbe.open(proto, names, { threads: opts.threads, file: opts.file, from });
  const kept = new Map(keep.filter((n) => n !== input).map((n) => [n, new Map<number, CapturedTensor>()]));
  try {
    for (const [start, count] of batchPlan(source, probe.fixedBatch, opts)) {
      const feeds = new Map<string, CapturedTensor>();
      for (const f of from) feeds.set(f, f === input ? { data: await source.batch(start, count), dims: [count, ...source.sampleShape] } : cache.get(f, start));
      const out = await probe.runFrom(feeds);
      onBatch(out, start);
      for (const [n, batches] of kept) batches.set(start, out.get(n)!);
    }
  } finally {
    await probe.close();
  }
  for (const [n, batches] of kept) cache.add(n, batches);
}

function meanHessian(groups: NormalEquations[]): LayerHessian {
  const n = groups[0].n;
  const rows = groups[0].rows;
  const h = new Float64Array(groups.length * n * n);
  groups.forEach((eq, g) => {
    eq.symmetrize();
    const scale = 1 / Math.max(rows, 1);
    for (let k = 0; k < n * n; k++) h[g * n * n + k] = eq.gram[k] * scale;
  });
  return { h, n, groups: groups.length, rows };
}

/** Group g's n×n block of a LayerHessian (a view, not a copy). */
export function groupHessian(lh: LayerHessian, g: number): Float64Array {
  return lh.h.subarray(g * lh.n * lh.n, (g + 1) * lh.n * lh.n);
}

/** Upper U with UᵀU = (H + λI)⁻¹ (the factor GPTQ and SparseGPT read their updates from), λ = damp · mean diag. */
export function inverseCholeskyUpper(h: Float64Array, n: number, damp = DEFAULT_DAMP): Float64Array {
  const l = factorDamped(h, n, Array.from({ length: n }, (_, i) => i), damp);
  const inv = lowerInverse(l, n);
  // (H + λI)⁻¹ = L⁻ᵀ L⁻¹; only the lower triangle of L⁻¹ is non-zero.
  const hinv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += inv[k * n + i] * inv[k * n + j];
      hinv[i * n + j] = s;
      hinv[j * n + i] = s;
    }
  }
  const l2 = cholesky(hinv, n);
  if (!l2) throw new Error('inverse Cholesky: the damped inverse Hessian is not positive definite');
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = l2[i * n + j];
  return u;
}

/** Inverse of a lower-triangular n×n matrix (row-major), by forward substitution. */
function lowerInverse(l: Float64Array, n: number): Float64Array {
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / l[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * inv[k * n + j];
      inv[i * n + j] = s / l[i * n + i];
    }
  }
  return inv;
}
