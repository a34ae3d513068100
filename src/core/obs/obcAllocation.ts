// Non-uniform per-layer sparsity as in Optimal Brain Compression (Frantar & Alistarh, NeurIPS 2022, §5 "non-uniform
// compression"): a database of each layer's output error at a grid of sparsities (OBS masks and updates on the layer's
// Hessian), then the per-layer choice that removes the global target of weights with the least total error, by
// dynamic programming over a discretised budget.
import { roundHalfEven } from '../onnx/dtypes';
import { sparseGptPrune, type ObsGroup } from './sparsegpt';

/** One layer's error database: at sparsity grid[k] it removes removed[k] weights and adds error[k] (relative). */
export interface LayerErrorTable {
  name: string;
  /** weights of the layer (the most it can remove) */
  params: number;
  /** weights removed at each grid level, ascending */
  removed: number[];
  /** output error at each level, ‖X(W − Ŵ)ᵀ‖² / ‖XWᵀ‖² (non-decreasing in practice, not required) */
  error: number[];
}

/** Default grid: 0, 10 … 90 %, 95 % (OBC uses a finer grid; ten levels keep the database cheap for the editor). */
export const OBC_GRID: readonly number[] = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/**
 * A layer's error table: for every grid sparsity, SparseGPT prunes a copy of the layer's groups (all groups share the
 * count, the mask is chosen jointly) and the error is measured exactly with each group's Hessian h (cols × cols,
 * undamped): Σ_rows s_r Δ_r H Δ_rᵀ, relative to Σ_rows s_r W_r H W_rᵀ (s_r = the group's rowScale, 1 if none).
 * `groups` are not modified.
 */
export function layerErrorTable(name: string, groups: readonly ObsGroup[], hessians: readonly Float64Array[], grid: readonly number[] = OBC_GRID, blockSize?: number): LayerErrorTable {
  const params = groups.reduce((a, g) => a + g.rows * g.cols, 0);
  const reference = groups.reduce((a, g, i) => a + quadratic(g, g.weights, hessians[i]), 0);
  const removed: number[] = [];
  const error: number[] = [];
  for (const s of grid) {
    const count = Math.min(params, roundHalfEven(s * params));
    removed.push(count);
    if (count === 0) { error.push(0); continue; }
    const copies = groups.map((g) => ({ ...g, weights: g.weights.slice() }));
    sparseGptPrune(copies, { count, blockSize });
    let e = 0;
    copies.forEach((c, i) => {
      const delta = c.weights;
      for (let k = 0; k < delta.length; k++) delta[k] = groups[i].weights[k] - delta[k];
      e += quadratic(c, delta, hessians[i]);
    });
    error.push(reference > 0 ? e / reference : e);
  }
  return { name, params, removed, error };
}

/** Σ_r s_r v_r H v_rᵀ over the group's rows. */
function quadratic(g: ObsGroup, v: Float64Array, h: Float64Array): number {
  const { rows, cols } = g;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const at = r * cols;
    let s = 0;
    for (let i = 0; i < cols; i++) {
      const vi = v[at + i];
      if (vi === 0) continue;
      let hv = 0;
      for (let j = 0; j < cols; j++) hv += h[i * cols + j] * v[at + j];
      s += vi * hv;
    }
    total += s * (g.rowScale ? g.rowScale[r] : 1);
  }
  return total;
}

export interface AllocationOptions {
  /** budget steps of the dynamic program (default 4000): removals are counted in units of ⌈target / steps⌉ weights */
  steps?: number;
}

export interface Allocation {
  /** weights to remove per layer, in table order; Σ = target exactly */
  counts: number[];
  /** the grid level chosen per layer before the surplus was handed back */
  levels: number[];
  /** Σ of the chosen levels' errors (an upper bound on the final counts' errors when errors grow with sparsity) */
  error: number;
}

/**
 * Chooses one grid level per layer so that at least `target` weights go, with the least Σ error (OBC's DP; exact over
 * the grid up to the budget discretisation, which only ever under-counts removals: a level removing r weights counts
 * as ⌊r / unit⌋ units against a need of ⌈target / unit⌉; if that leaves the target out of reach, finer units). The levels' surplus over the target is then handed back to
 * the layers in proportion to their counts (largest remainders get the extra weight), so the total is exact and
 * every layer is within one weight of its proportional share.
 */
export function allocateSparsity(tables: readonly LayerErrorTable[], target: number, opts: AllocationOptions = {}): Allocation {
  const most = tables.reduce((a, t) => a + Math.max(0, ...t.removed), 0);
  if (!(target >= 0 && target <= most)) throw new Error(`OBC allocation: cannot remove ${target} weights, the grid allows at most ${most}`);
  // Counting ⌊r / unit⌋ can make the last few weights unreachable; a finer unit then (unit 1 is exact).
  for (let unit = Math.max(1, Math.ceil(target / (opts.steps ?? 4000))); ; unit = Math.max(1, Math.floor(unit / 4))) {
    const levels = chooseLevels(tables, target, unit);
    if (levels) {
      const error = levels.reduce((a, k, l) => a + tables[l].error[k], 0);
      return { counts: handBack(tables.map((t, l) => t.removed[levels[l]]), target), levels, error };
    }
    if (unit === 1) throw new Error(`OBC allocation: no choice of grid levels removes ${target} weights`);
  }
}

/** The DP with removals counted in units of `unit` weights; undefined when the target is out of reach. */
function chooseLevels(tables: readonly LayerErrorTable[], target: number, unit: number): number[] | undefined {
  const need = Math.ceil(target / unit);
  // best[b] = least error of the layers so far having removed min(need, units) = b units; level[l][b] and prev[l][b]:
  // the grid level layer l took to reach state b and the state it came from.
  let best = new Float64Array(need + 1).fill(Infinity);
  best[0] = 0;
  const level = tables.map(() => new Int16Array(need + 1).fill(-1));
  const prev = tables.map(() => new Int32Array(need + 1).fill(-1));
  tables.forEach((t, l) => {
    const next = new Float64Array(need + 1).fill(Infinity);
    for (let b = 0; b <= need; b++) {
      if (best[b] === Infinity) continue;
      t.removed.forEach((r, k) => {
        const to = Math.min(need, b + Math.floor(r / unit));
        const e = best[b] + t.error[k];
        if (e < next[to]) { next[to] = e; level[l][to] = k; prev[l][to] = b; }
      });
    }
    best = next;
  });
  if (best[need] === Infinity) return undefined;
  const levels = new Array<number>(tables.length);
  for (let l = tables.length - 1, b = need; l >= 0; l--) {
    levels[l] = level[l][b];
    b = prev[l][b];
  }
  return levels;
}

/** Lowers counts whose sum exceeds target by the surplus, in proportion to each count (largest remainder). */
function handBack(counts: number[], target: number): number[] {
  const total = counts.reduce((a, c) => a + c, 0);
  if (total === target) return counts;
  const keep = counts.map((c) => (c * target) / total);
  const out = keep.map(Math.floor);
  let missing = target - out.reduce((a, c) => a + c, 0);
  const order = keep.map((k, i) => [k - Math.floor(k), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) { if (missing <= 0) break; out[i]++; missing--; }
  return out;
}
