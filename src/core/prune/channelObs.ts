// Channel-structured OBS: which channels of a group to remove, by the output error their removal leaves in the
// layers that read them after an optimal re-fit of those layers' remaining weights — the group (block) OBS update of
// Optimal Brain Compression (Frantar & Alistarh, NeurIPS 2022, §4 "structured"), applied greedily one channel at a time.
import type { Model } from '../onnx/read';
import type { GraphIndex } from '../onnx/graph';
import { tensorValues } from '../onnx/tensor';
import { cholesky, choleskySolve } from '../recover/leastSquares';
import type { ChannelGroup, Member } from './channelGroups';
import { weightLayout, weightOffset, type WeightedLayer } from './layers';

/** The dense Hessian of one consumer: H = (1/rows) Σ x xᵀ over its im2col input rows (layerHessians, groups = 1). */
export interface ConsumerHessian { h: Float64Array; n: number }

/** One layer reading the group's channels: its weights (rows × n), H⁻¹ and, per atom, the weight columns it feeds. */
export interface ChannelConsumer {
  weights: Float64Array;
  rows: number;
  n: number;
  /** (H + λI)⁻¹, n × n, row-major */
  hinv: Float64Array;
  /** columns of the atom's channel (Conv: c·kh·kw … (c+1)·kh·kw − 1; Gemm: c); empty if the atom does not reach it */
  columns: number[][];
  /** ‖XWᵀ‖² / rows = Σ_o w_o H w_oᵀ: the error scale this consumer's costs are divided by */
  scale: number;
}

/**
 * Removes the atoms one at a time, each time the one whose removal adds the least relative output error summed over
 * the consumers, after the OBS update of the consumers' remaining weights: for an atom feeding columns B,
 * cost = Σ_o w_{o,B} [(H⁻¹)_BB]⁻¹ w_{o,B}ᵀ, then W −= W_B [(H⁻¹)_BB]⁻¹ (H⁻¹)_{B,:} and
 * H⁻¹ −= (H⁻¹)_{:,B} [(H⁻¹)_BB]⁻¹ (H⁻¹)_{B,:}. Returns per atom the cumulative relative error at its removal, so a
 * higher value means removed later; keeping the k highest keeps the k that the greedy order removes last.
 */
export function greedyChannelCosts(consumers: readonly ChannelConsumer[], atoms: number): Float64Array {
  const removedAt = new Float64Array(atoms);
  const alive = new Set(Array.from({ length: atoms }, (_, a) => a));
  let total = 0;
  while (alive.size > 0) {
    let best = -1;
    let bestCost = Infinity;
    for (const a of alive) {
      let cost = 0;
      for (const c of consumers) cost += blockCost(c, c.columns[a]) / (c.scale || 1);
      if (cost < bestCost) { bestCost = cost; best = a; }
    }
    total += Math.max(0, bestCost);
    removedAt[best] = total;
    alive.delete(best);
    for (const c of consumers) removeBlock(c, c.columns[best]);
  }
  return removedAt;
}

/** [(H⁻¹)_BB]⁻¹ factored (Cholesky), or undefined for an empty block. */
function blockFactor(c: ChannelConsumer, b: readonly number[]): Float64Array | undefined {
  const k = b.length;
  if (k === 0) return undefined;
  const m = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) m[i * k + j] = c.hinv[b[i] * c.n + b[j]];
  return cholesky(m, k) ?? undefined;
}

function blockCost(c: ChannelConsumer, b: readonly number[]): number {
  const l = blockFactor(c, b);
  if (!l) return 0;
  let cost = 0;
  for (let o = 0; o < c.rows; o++) {
    const wb = Float64Array.from(b, (col) => c.weights[o * c.n + col]);
    const x = choleskySolve(l, b.length, wb.slice());
    for (let i = 0; i < b.length; i++) cost += wb[i] * x[i];
  }
  return cost;
}

function removeBlock(c: ChannelConsumer, b: readonly number[]): void {
  const l = blockFactor(c, b);
  if (!l) return;
  const { n, hinv, weights } = c;
  const k = b.length;
  // G = [(H⁻¹)_BB]⁻¹ (H⁻¹)_{B,:}  (k × n)
  const g = new Float64Array(k * n);
  for (let j = 0; j < n; j++) {
    const col = choleskySolve(l, k, Float64Array.from(b, (i) => hinv[i * n + j]));
    for (let i = 0; i < k; i++) g[i * n + j] = col[i];
  }
  for (let o = 0; o < c.rows; o++) {
    const wb = b.map((col) => weights[o * n + col]);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += wb[i] * g[i * n + j];
      weights[o * n + j] -= s;
    }
    for (const col of b) weights[o * n + col] = 0;
  }
  const hb = b.map((i) => Float64Array.from({ length: n }, (_, r) => hinv[r * n + i]));
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += hb[i][r] * g[i * n + j];
      hinv[r * n + j] -= s;
    }
  }
}

/**
 * The group's atoms scored by greedyChannelCosts over its consumers (Conv with group 1, Gemm/MatMul) that have a
 * Hessian; undefined when none has one (the caller falls back to magnitude importance).
 */
export function channelObsImportance(
  g: ChannelGroup, members: readonly Member[], index: GraphIndex, src: Model, hessians: ReadonlyMap<string, ConsumerHessian>, damp = 0.01,
): Float64Array | undefined {
  const consumers: ChannelConsumer[] = [];
  for (const m of members) {
    if (m.kind !== 'consumer') continue;
    const hessian = hessians.get(m.layer.name);
    const channelOf = new Map<number, number>();
    g.atoms.forEach((atom, a) => { for (const [t, ch] of atom) if (t === m.tensor) channelOf.set(a, ch); });
    if (!hessian || channelOf.size === 0) continue;
    consumers.push(consumerOf(m.layer, hessian, index, src, g.atoms.length, channelOf, damp));
  }
  return consumers.length > 0 ? greedyChannelCosts(consumers, g.atoms.length) : undefined;
}

function consumerOf(
  layer: WeightedLayer, hessian: ConsumerHessian, index: GraphIndex, src: Model, atoms: number, channelOf: ReadonlyMap<number, number>, damp: number,
): ChannelConsumer {
  const { outChannels, fanIn } = weightLayout(layer);
  const n = hessian.n;
  if (n !== fanIn) throw new Error(`channel OBS '${layer.name}': Hessian of ${n} columns for a fan-in of ${fanIn}`);
  const w = tensorValues(index.constants.get(layer.weightName)!, src);
  const weights = new Float64Array(outChannels * n);
  for (let o = 0; o < outChannels; o++) for (let f = 0; f < n; f++) weights[o * n + f] = w[weightOffset(layer, o, f)];
  const spatial = layer.kind === 'conv' ? layer.dims.slice(2).reduce((a, d) => a * d, 1) : 1;
  const columns = Array.from({ length: atoms }, (_, a) => {
    const ch = channelOf.get(a);
    return ch === undefined ? [] : Array.from({ length: spatial }, (_, s) => ch * spatial + s);
  });
  return { weights, rows: outChannels, n, hinv: dampedInverse(hessian.h, n, damp), columns, scale: quadraticSum(weights, outChannels, n, hessian.h) };
}

/** (H + λI)⁻¹ with λ = damp · mean diag (raised tenfold until H + λI factors). */
function dampedInverse(h: Float64Array, n: number, damp: number): Float64Array {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += h[i * n + i] / n;
  for (let lambda = Math.max(damp * (mean || 1), 1e-12); ; lambda *= 10) {
    const a = h.slice();
    for (let i = 0; i < n; i++) a[i * n + i] += lambda;
    const l = cholesky(a, n);
    if (!l) continue;
    const inv = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const e = new Float64Array(n);
      e[j] = 1;
      const col = choleskySolve(l, n, e);
      for (let i = 0; i < n; i++) inv[i * n + j] = col[i];
    }
    return inv;
  }
}

function quadraticSum(w: Float64Array, rows: number, n: number, h: Float64Array): number {
  let total = 0;
  for (let o = 0; o < rows; o++) {
    for (let i = 0; i < n; i++) {
      const wi = w[o * n + i];
      if (wi === 0) continue;
      let s = 0;
      for (let j = 0; j < n; j++) s += h[i * n + j] * w[o * n + j];
      total += wi * s;
    }
  }
  return total;
}
