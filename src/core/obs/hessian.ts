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
//   inverseCholeskyUpper(h, n, damp) → U (n×n, row-major, upper) with UᵀU = (H + λI)⁻¹,
//     λ = damp · mean(diag H) (GPTQ's percdamp, 0.01), raised tenfold until H + λI factors.
import { UsageError } from '../errors';
import { captureActivations, type BatchSource, type CapturedTensor } from '../eval/activations';
import { indexGraph } from '../onnx/graph';
import { weightedLayers, weightLayout } from '../prune/layers';
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

/** H of every layer in `layers` (Conv/Gemm/MatMul with a constant float weight) from one pass of the model over the calibration data. */
export async function layerHessians(
  model: ModelSource, calibration: BatchSource, layers: readonly string[], opts: HessianOptions = {},
): Promise<Map<string, LayerHessian>> {
  const graph = model.proto.graph!;
  const wanted = new Set(layers);
  const chosen = weightedLayers(graph, indexGraph(graph)).filter((l) => wanted.has(l.name));
  const missing = layers.find((name) => !chosen.some((l) => l.name === name));
  if (missing !== undefined) throw new UsageError(opts.file, `no Hessian for '${missing}': not a Conv/Gemm/MatMul with a float constant weight`);
  const samples = Math.min(calibration.n, opts.samples ?? 256);
  const names = [...new Set(chosen.flatMap((l) => [l.node.input[0], l.node.output[0]]))];
  let readers: RowReader[] | undefined;
  let sums: NormalEquations[][] = [];
  await captureActivations(model.proto, names, calibration, (out, start) => {
    opts.signal?.throwIfAborted();
    const get = (name: string): CapturedTensor => out.get(name)!;
    // Conv rows are sampled per output position: the readers need the output shape, known from the first batch.
    readers ??= chosen.map((l) => rowReader(l, get(l.node.output[0]).dims, Array.from({ length: weightLayout(l).outChannels }, (_, i) => i), samples, opts));
    if (sums.length === 0) sums = readers.map((r) => Array.from({ length: r.groups }, () => new NormalEquations(r.features, 0)));
    chosen.forEach((l, i) => readers![i].rows(get(l.node.input[0]), start, (g, x) => sums[i][g].add(x, NO_TARGETS)));
  }, { batchSize: opts.batchSize ?? 16, limit: samples, threads: opts.threads, file: opts.file });
  return new Map(chosen.map((l, i) => [l.name, meanHessian(sums[i])]));
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
