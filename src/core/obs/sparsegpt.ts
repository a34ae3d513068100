// OBS pruning with sequential Hessian updates as in SparseGPT (Frantar & Alistarh, ICML 2023; the OBS/ExactOBS
// update of "Optimal Brain Compression", NeurIPS 2022): columns in order, the mask chosen per column block.
import { roundHalfEven } from '../onnx/dtypes';
import { indexGraph, type GraphIndex } from '../onnx/graph';
import { clone, ModelProtoSchema, type ModelProto } from '../onnx/proto';
import type { Model } from '../onnx/read';
import { batchNormScale, readConstant, weightedLayers, weightLayout, weightOffset, writeConstant, type WeightedLayer } from '../prune/layers';
import { magnitudePrune, prunableLayers, type LayerPruneResult, type MagnitudeOptions, type PruneResult } from '../prune/magnitude';
import { choleskySolve, factorDamped, type NormalEquations } from '../recover/leastSquares';
import { solveFrom } from '../recover/reconstruct';
import { DEFAULT_DAMP, groupHessian, inverseCholeskyUpper, type LayerHessian } from './hessian';
import { allocateSparsity, layerErrorTable, OBC_GRID } from './obcAllocation';

/**
 * One weight matrix sharing one Hessian: a dense layer, or one group of a grouped/depthwise conv.
 * `weights` is rows × cols row-major (rows = output channels, cols = fan-in in im2col order) and is
 * pruned and updated in place; `u` is the cols × cols upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU).
 */
export interface ObsGroup {
  weights: Float64Array;
  rows: number;
  cols: number;
  u: Float64Array;
  /**
   * per-row factor on the saliency (e.g. γ²/(σ²+ε) of a following BatchNormalization, which scales that
   * row's output error); omitted = 1
   */
  rowScale?: ArrayLike<number>;
}

export interface SparseGptOptions {
  /** unstructured: fraction of all the groups' weights to prune (exactly round(s·n) of them) */
  sparsity?: number;
  /** unstructured: exactly how many weights to prune (instead of sparsity) */
  count?: number;
  /** N:M: prune n of every m consecutive weights of a row (2:4); cols must be a multiple of m */
  pattern?: { n: number; m: number };
  /**
   * columns per mask-selection block. Default: an eighth of the fan-in, 3..128 (SparseGPT's 128 is for LLM
   * fan-ins in the thousands): with one block over a small fan-in the whole mask is chosen before the updates it
   * causes, and on random correlated inputs OBS then lost to plain magnitude in about a third of the trials.
   */
  blockSize?: number;
}

export interface SparseGptResult {
  /** per group, 1 = kept, rows × cols */
  masks: Uint8Array[];
  /** Σ over pruned weights of err² = (w_q/U_qq)², the OBS estimate of the added output error ×2 */
  loss: number;
}

/**
 * Prunes every group with OBS saliency w_q² / U_qq² (weights as updated so far), zeroing each pruned weight and
 * moving its error onto the later columns of its row: err = w_q / U_qq, W[r, q+1:] −= err · U[q, q+1:].
 * Unstructured: at each block's start the smallest saliencies across all groups and rows of the block are
 * pruned (SparseGPT's adaptive mask selection), so rows and groups get their own sparsity while the total is
 * exact. N:M: at each group of m columns, the n smallest saliencies of every row.
 */
export function sparseGptPrune(groups: readonly ObsGroup[], opts: SparseGptOptions): SparseGptResult {
  const cols = groups[0]?.cols ?? 0;
  if (groups.some((g) => g.cols !== cols)) throw new Error('sparseGptPrune: the groups must have the same number of columns');
  const pattern = opts.pattern;
  if (pattern && (cols % pattern.m !== 0 || pattern.n > pattern.m || pattern.n < 0)) {
    throw new Error(`sparseGptPrune: an ${pattern.n}:${pattern.m} pattern needs a fan-in that is a multiple of ${pattern.m}, got ${cols}`);
  }
  const masks = groups.map((g) => new Uint8Array(g.rows * cols).fill(1));
  const totalRows = groups.reduce((a, g) => a + g.rows, 0);
  const target = opts.count ?? roundHalfEven((opts.sparsity ?? 0) * totalRows * cols);
  if (!pattern && !(target >= 0 && target <= totalRows * cols)) throw new Error(`sparseGptPrune: cannot prune ${target} of ${totalRows * cols} weights`);
  let blockSize = Math.max(1, opts.blockSize ?? Math.min(128, Math.max(3, Math.ceil(cols / 8))));
  if (pattern) blockSize = Math.ceil(blockSize / pattern.m) * pattern.m;
  let loss = 0;
  let pruned = 0;
  const saliency = (g: ObsGroup, r: number, q: number) => {
    const w = g.weights[r * cols + q];
    const d = g.u[q * cols + q];
    return (w * w) / (d * d) * (g.rowScale ? g.rowScale[r] : 1);
  };
  for (let b0 = 0; b0 < cols; b0 += blockSize) {
    const b1 = Math.min(cols, b0 + blockSize);
    if (!pattern) {
      // Cumulative targets keep the total exact: the target's share of the columns so far − pruned so far.
      const count = roundHalfEven((target * b1) / cols) - pruned;
      pruneSmallest(groups, masks, b0, b1, count, saliency);
      pruned += count;
    }
    for (let q = b0; q < b1; q++) {
      if (pattern && (q - b0) % pattern.m === 0) {
        for (const [gi, g] of groups.entries()) {
          for (let r = 0; r < g.rows; r++) pruneNofM(g, masks[gi], r, q, pattern, saliency);
        }
      }
      for (const [gi, g] of groups.entries()) loss += updateColumn(g, masks[gi], q);
    }
  }
  return { masks, loss };
}

/** Zeroes the masked-out weights of column q and propagates their errors to the later columns. */
function updateColumn(g: ObsGroup, mask: Uint8Array, q: number): number {
  const { weights: w, u, rows, cols } = g;
  const d = u[q * cols + q];
  const uRow = q * cols;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    if (mask[at + q]) continue;
    const err = w[at + q] / d;
    w[at + q] = 0;
    if (err === 0) continue;
    loss += err * err;
    for (let j = q + 1; j < cols; j++) w[at + j] -= err * u[uRow + j];
  }
  return loss;
}

/** Marks the `count` smallest saliencies in columns b0..b1−1 of all groups as pruned; ties in group, row, column order. */
function pruneSmallest(
  groups: readonly ObsGroup[], masks: Uint8Array[], b0: number, b1: number, count: number,
  saliency: (g: ObsGroup, r: number, q: number) => number,
): void {
  if (count <= 0) return;
  const width = b1 - b0;
  const entries: { s: number; gi: number; r: number; q: number; order: number }[] = [];
  let order = 0;
  for (const [gi, g] of groups.entries()) {
    for (let r = 0; r < g.rows; r++) for (let q = b0; q < b0 + width; q++) entries.push({ s: saliency(g, r, q), gi, r, q, order: order++ });
  }
  entries.sort((a, b) => a.s - b.s || a.order - b.order);
  for (let k = 0; k < count && k < entries.length; k++) {
    const e = entries[k];
    masks[e.gi][e.r * groups[e.gi].cols + e.q] = 0;
  }
}

/** Row r, columns q..q+m−1: prunes the n smallest saliencies (ties in column order). */
function pruneNofM(
  g: ObsGroup, mask: Uint8Array, r: number, q: number, pattern: { n: number; m: number },
  saliency: (g: ObsGroup, r: number, q: number) => number,
): void {
  const idx = Array.from({ length: pattern.m }, (_, k) => q + k);
  const s = idx.map((c) => saliency(g, r, c));
  idx.sort((a, b) => s[a - q] - s[b - q] || a - b);
  for (let k = 0; k < pattern.n; k++) mask[r * g.cols + idx[k]] = 0;
}

export interface ObsModelOptions extends MagnitudeOptions {
  /** N:M instead of unstructured (then `sparsity` is ignored; layers whose fan-in is not a multiple of m stay dense) */
  pattern?: { n: number; m: number };
  /**
   * per-layer Hessians (layerHessians); a layer without one is pruned with H = I, which is magnitude pruning
   * with no update (how `--pattern` without `--method obs` prunes)
   */
  hessians?: Map<string, LayerHessian>;
  /** dampening of H relative to its mean diagonal (default GPTQ's 0.01) */
  damp?: number;
  blockSize?: number;
  /**
   * unstructured global scope: how many weights each layer loses — 'lamp' (as magnitude pruning) or 'obc' (OBC's
   * error database and DP, obcAllocation.ts; needs `hessians` for every layer). The total is the same.
   */
  allocation?: 'lamp' | 'obc';
}

export interface ObsLayerResult extends LayerPruneResult {
  /** why the layer was left dense */
  skipped?: string;
}

/** A layer to prune and, unstructured, how many of its weights. */
export interface ObsLayerPlan {
  layer: WeightedLayer;
  count?: number;
  /** why an N:M pattern leaves the layer dense */
  skipped?: string;
}

/**
 * The layers to prune and a copy of the model to write them into. Unstructured: each layer prunes as many weights
 * as magnitude pruning with the same options would (the global LAMP allocation by default; the copy holds that
 * magnitude-pruned model), and OBS chooses which. N:M: every selected layer whose fan-in is a multiple of m.
 */
export function obsPlan(model: Model, opts: ObsModelOptions): { proto: ModelProto; plan: ObsLayerPlan[] } {
  const { pattern } = opts;
  if (pattern) {
    const proto = clone(ModelProtoSchema, model.proto);
    const plan = prunableLayers(proto, opts, opts.file).map((layer) => {
      const { fanIn } = weightLayout(layer);
      return fanIn % pattern.m === 0 ? { layer } : { layer, skipped: `fan-in ${fanIn} is not a multiple of ${pattern.m}` };
    });
    return { proto, plan };
  }
  const allocation = magnitudePrune(model, opts);
  const byName = new Map(weightedLayers(allocation.proto.graph!).map((l) => [l.name, l]));
  const plan = allocation.layers.map((l) => ({ layer: byName.get(l.name)!, count: l.mask.reduce((a, k) => a + (k ? 0 : 1), 0) }));
  if (opts.allocation === 'obc' && opts.scope !== 'layer' && plan.length > 1) {
    const original = indexGraph(model.proto.graph!);
    const tables = plan.map(({ layer }) => {
      const hessian = opts.hessians?.get(layer.name);
      if (!hessian) throw new Error(`OBC allocation: no Hessian for '${layer.name}'`);
      const groups = layerGroups(model, original, layer, hessian, opts.damp);
      return layerErrorTable(layer.name, groups, Array.from({ length: hessian.groups }, (_, g) => groupHessian(hessian, g)), OBC_GRID, opts.blockSize);
    });
    const { counts } = allocateSparsity(tables, plan.reduce((a, p) => a + p.count, 0));
    plan.forEach((p, i) => { p.count = counts[i]; });
  }
  return { proto: allocation.proto, plan };
}

/** A layer's weights as OBS groups (one per conv group) with U from its Hessian (H = I without one) and BN row scales. */
export function layerGroups(model: Model, original: GraphIndex, layer: WeightedLayer, hessian: LayerHessian | undefined, damp = DEFAULT_DAMP): ObsGroup[] {
  const { outChannels, fanIn } = weightLayout(layer);
  const w = readConstant(original, layer.weightName, model);
  if (hessian && hessian.n !== fanIn) throw new Error(`OBS '${layer.name}': Hessian of ${hessian.n} columns for a fan-in of ${fanIn}`);
  const groupCount = hessian?.groups ?? 1;
  const rows = outChannels / groupCount;
  const bn = batchNormWeights(layer, original, model);
  const identity = hessian ? undefined : Float64Array.from({ length: fanIn * fanIn }, (_, k) => (k % (fanIn + 1) === 0 ? 1 : 0));
  return Array.from({ length: groupCount }, (_, g) => {
    const weights = new Float64Array(rows * fanIn);
    for (let r = 0; r < rows; r++) for (let f = 0; f < fanIn; f++) weights[r * fanIn + f] = w[weightOffset(layer, g * rows + r, f)];
    const u = hessian ? inverseCholeskyUpper(groupHessian(hessian, g), fanIn, damp) : identity!;
    const rowScale = bn?.subarray(g * rows, (g + 1) * rows);
    return { weights, rows, cols: fanIn, u, rowScale };
  });
}

/**
 * Prunes a model's layers with OBS in one pass: every layer's Hessian from the original model's inputs
 * (`opts.hessians`), the kept weights updated by SparseGPT's rule. Returns a pruned copy.
 */
export function obsPruneModel(model: Model, opts: ObsModelOptions): PruneResult & { layers: ObsLayerResult[] } {
  const { proto, plan } = obsPlan(model, opts);
  const original = indexGraph(model.proto.graph!);
  const index = indexGraph(proto.graph!);
  const layers = plan.map(({ layer, count, skipped }) => (skipped
    ? layerResult(layer, readConstant(original, layer.weightName, model), undefined, skipped)
    : obsPruneLayer(model, original, index, layer, count, opts)));
  return { proto, layers, sparsity: sparsityOf(layers) };
}

/** zeros / params over the layers. */
export function sparsityOf(layers: readonly LayerPruneResult[]): number {
  const params = layers.reduce((a, r) => a + r.params, 0);
  return params > 0 ? layers.reduce((a, r) => a + r.zeros, 0) / params : 0;
}

/** The result for a layer from its final weights (stored order); mask omitted = all kept. */
export function layerResult(layer: WeightedLayer, w: ArrayLike<number>, mask?: Uint8Array, skipped?: string): ObsLayerResult {
  let zeros = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  return {
    name: layer.name, op: layer.node.opType, weight: layer.weightName, params: w.length, zeros, sparsity: zeros / w.length,
    mask: mask ?? new Uint8Array(w.length).fill(1), ...(skipped ? { skipped } : {}),
  };
}

/**
 * For reconstruction (sequential OBS): chooses a layer's mask from its normal equations on the pruned model's
 * inputs and original outputs — OBS on the dense damped least-squares weights W* with H = XᵀX (the bias, when fit,
 * is eliminated: H becomes its Schur complement, as if the bias were a last column that is never pruned). The fit
 * then re-solves the kept weights.
 */
export function obsMaskChooser(
  layer: WeightedLayer, count: number | undefined,
  opts: Pick<ObsModelOptions, 'pattern' | 'damp' | 'blockSize'> & {
    rowScale?: ArrayLike<number>;
    /** also re-fit the magnitude mask and keep whichever fits the calibration rows better (needs the prior; default off) */
    safeguard?: boolean;
    onChoice?: (choice: MaskChoice) => void;
  },
): (equations: readonly NormalEquations[], hasBias: boolean, prior?: (o: number, f: number) => number) => Uint8Array {
  return (equations, hasBias, prior) => {
    const { outChannels, fanIn } = weightLayout(layer);
    const damp = opts.damp ?? DEFAULT_DAMP;
    const rows = outChannels / equations.length;
    const groups: ObsGroup[] = equations.map((eq, g) => {
      eq.symmetrize();
      const { n, m, gram, cross } = eq;
      // Eliminating the bias (column b = fanIn) centres both sides: H = G_ww − g_wb g_bwᵀ / g_bb, and likewise X̃ᵀy.
      const b = fanIn;
      const bb = hasBias && gram[b * n + b] > 0 ? gram[b * n + b] : 0;
      const h = new Float64Array(fanIn * fanIn);
      for (let i = 0; i < fanIn; i++) {
        for (let j = 0; j < fanIn; j++) h[i * fanIn + j] = gram[i * n + j] - (bb ? (gram[i * n + b] * gram[j * n + b]) / bb : 0);
      }
      const factor = factorDamped(h, fanIn, Array.from({ length: fanIn }, (_, i) => i), damp);
      const weights = new Float64Array(rows * fanIn);
      for (let r = 0; r < rows; r++) {
        const rhs = Float64Array.from({ length: fanIn }, (_, i) => cross[i * m + r] - (bb ? (gram[i * n + b] * cross[b * m + r]) / bb : 0));
        // With a prior w₀ the ridge pulls towards it: W* = w₀ + (H + λI)⁻¹(X̃ᵀy − H w₀).
        const w0 = prior ? Float64Array.from({ length: fanIn }, (_, i) => prior(g * rows + r, i)) : undefined;
        if (w0) for (let i = 0; i < fanIn; i++) { let s = 0; for (let j = 0; j < fanIn; j++) s += h[i * fanIn + j] * w0[j]; rhs[i] -= s; }
        const w = choleskySolve(factor, fanIn, rhs);
        if (w0) for (let i = 0; i < fanIn; i++) w[i] += w0[i];
        weights.set(w, r * fanIn);
      }
      const rowScale = opts.rowScale ? Float64Array.from({ length: rows }, (_, r) => opts.rowScale![g * rows + r]) : undefined;
      return { weights, rows, cols: fanIn, u: inverseCholeskyUpper(h, fanIn, damp), rowScale };
    });
    const { masks } = sparseGptPrune(groups, { count, pattern: opts.pattern, blockSize: opts.blockSize });
    let chosen = masks;
    if (prior && opts.safeguard) {
      // The safeguard (off by default): the magnitude mask of the trained weights (as magnitude pruning chooses it
      // within the layer, BN-scaled) competes, and the mask whose re-fit leaves the lower error on these equations is
      // kept. On held-out data it did not help overall (bench/obsPrune.mjs, 2,000 samples): PaddleOCR 50 % with LAMP
      // counts +0.3 pp agreement, PaddleOCR 70 % with OBC's allocation −0.7 pp, the MNIST models ±2 samples.
      const trained = groups.map((grp, g) => ({ ...grp, weights: Float64Array.from({ length: rows * fanIn }, (_, k) => prior(g * rows + Math.floor(k / fanIn), k % fanIn)) }));
      const magnitude = magnitudeMasks(trained, count, opts.pattern);
      const obsError = refitError(equations, masks, hasBias, prior, damp);
      const magnitudeError = refitError(equations, magnitude, hasBias, prior, damp);
      if (magnitudeError < obsError) chosen = magnitude;
      opts.onChoice?.({ layer: layer.name, kept: magnitudeError < obsError ? 'magnitude' : 'obs', obsError, magnitudeError });
    }
    const mask = new Uint8Array(outChannels * fanIn);
    chosen.forEach((m, g) => {
      for (let r = 0; r < rows; r++) for (let f = 0; f < fanIn; f++) mask[weightOffset(layer, g * rows + r, f)] = m[r * fanIn + f];
    });
    return mask;
  };
}

/** Which mask a layer kept inside reconstruction, and the re-fit errors (up to the same constant Σy²) of both. */
export interface MaskChoice { layer: string; kept: 'obs' | 'magnitude'; obsError: number; magnitudeError: number }

/** Magnitude masks (w²·rowScale, smallest pruned; unstructured: `count` across all groups, ties in element order; N:M per row). */
function magnitudeMasks(groups: readonly ObsGroup[], count: number | undefined, pattern: { n: number; m: number } | undefined): Uint8Array[] {
  const cols = groups[0].cols;
  const masks = groups.map((g) => new Uint8Array(g.rows * cols).fill(1));
  const score = (g: ObsGroup, k: number) => g.weights[k] * g.weights[k] * (g.rowScale ? g.rowScale[Math.floor(k / cols)] : 1);
  if (pattern) {
    groups.forEach((g, gi) => {
      for (let r = 0; r < g.rows; r++) {
        for (let q = 0; q < cols; q += pattern.m) {
          const idx = Array.from({ length: pattern.m }, (_, j) => r * cols + q + j).sort((a, b) => score(g, a) - score(g, b) || a - b);
          for (let j = 0; j < pattern.n; j++) masks[gi][idx[j]] = 0;
        }
      }
    });
    return masks;
  }
  const all: [number, number, number][] = [];
  groups.forEach((g, gi) => { for (let k = 0; k < g.rows * cols; k++) all.push([score(g, k), gi, k]); });
  all.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
  for (let i = 0; i < (count ?? 0); i++) masks[all[i][1]][all[i][2]] = 0;
  return masks;
}

/**
 * Σ over output channels of the re-fit's squared error minus Σy² (which both masks share): for the kept features
 * (and the bias) the fit w solves the damped normal equations, and ‖Xw − y‖² − ‖y‖² = wᵀGw − 2cᵀw.
 */
function refitError(equations: readonly NormalEquations[], masks: readonly Uint8Array[], hasBias: boolean, prior: (o: number, f: number) => number, damp: number): number {
  let total = 0;
  equations.forEach((eq, g) => {
    const { n, m, gram, cross } = eq;
    const fanIn = n - (hasBias ? 1 : 0);
    for (let r = 0; r < m; r++) {
      const idx: number[] = [];
      for (let f = 0; f < fanIn; f++) if (masks[g][r * fanIn + f]) idx.push(f);
      if (hasBias) idx.push(fanIn);
      const o = g * m + r;
      const w = solveFrom(eq, idx, r, idx.map((f) => prior(o, f)), damp);
      let quad = 0, lin = 0;
      for (let a = 0; a < idx.length; a++) {
        lin += cross[idx[a] * m + r] * w[a];
        let s = 0;
        for (let b = 0; b < idx.length; b++) s += gram[idx[a] * n + idx[b]] * w[b];
        quad += w[a] * s;
      }
      total += quad - 2 * lin;
    }
  });
  return total;
}

/** Squared scale of a following BatchNormalization per output channel (LAMP weighs the weights the same way). */
export function batchNormWeights(layer: WeightedLayer, index: GraphIndex, model: Model): Float64Array | undefined {
  return batchNormScale(layer.node.output[0], index, model)?.map((c) => c * c);
}

function obsPruneLayer(
  model: Model, original: GraphIndex, index: GraphIndex, layer: WeightedLayer, count: number | undefined, opts: ObsModelOptions,
): ObsLayerResult {
  const { outChannels, fanIn } = weightLayout(layer);
  const w = readConstant(original, layer.weightName, model);
  const groups = layerGroups(model, original, layer, opts.hessians?.get(layer.name), opts.damp);
  const rows = outChannels / groups.length;
  const { masks } = sparseGptPrune(groups, { count, pattern: opts.pattern, blockSize: opts.blockSize });
  const mask = new Uint8Array(w.length);
  groups.forEach((grp, g) => {
    for (let r = 0; r < rows; r++) {
      for (let f = 0; f < fanIn; f++) {
        const at = weightOffset(layer, g * rows + r, f);
        w[at] = grp.weights[r * fanIn + f];
        mask[at] = masks[g][r * fanIn + f];
      }
    }
  });
  writeConstant(index, layer.weightName, layer.dims, w);
  return layerResult(layer, w, mask);
}
