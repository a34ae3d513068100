// OBS pruning with sequential Hessian updates as in SparseGPT (Frantar & Alistarh, ICML 2023; the OBS/ExactOBS
// update of "Optimal Brain Compression", NeurIPS 2022): columns in order, the mask chosen per column block.
import { roundHalfEven } from '../onnx/dtypes';

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
