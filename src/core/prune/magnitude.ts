// Unstructured magnitude pruning (torch.nn.utils.prune L1Unstructured / global_unstructured, TFMOT
// prune_low_magnitude): zero exactly k = round(s·n) smallest-score weights, per layer or in one global ranking
// (LAMP scores by default, see lamp.ts; plain magnitudes on request).
import { UsageError } from '../errors';
import { roundHalfEven } from '../onnx/dtypes';
import { indexGraph } from '../onnx/graph';
import type { Model } from '../onnx/read';
import { clone, ModelProtoSchema, type ModelProto } from '../onnx/proto';
import { selectLayers, type LayerSelection } from '../select';
import { lampScores } from './lamp';
import { batchNormScale, readConstant, weightedLayers, weightLayout, writeConstant, type WeightedLayer } from './layers';

export interface MagnitudeOptions extends LayerSelection {
  /** fraction of the selected weights to zero, 0..1 */
  sparsity: number;
  /** 'layer': every layer gets the same sparsity; 'global': one ranking across layers (default) */
  scope?: 'layer' | 'global';
  /**
   * magnitude m = w² (l2, default) or |w| (l1). Within a layer both prune the same weights; they differ only
   * in LAMP's global ranking (m_u / Σ_{v ≥ u} m_v).
   */
  norm?: 'l1' | 'l2';
  /**
   * Global scope: 'lamp' (default) ranks LAMP scores of the weights as they act after a directly following
   * BatchNormalization (W[c]·γ_c/√(σ²_c+ε), the folded layer's weights); LAMP rescales each layer's magnitudes
   * so that one threshold gives every layer its own sparsity. 'plain' ranks the stored weights' magnitudes
   * across layers (torch global_unstructured).
   */
  ranking?: 'lamp' | 'plain';
  file?: string;
}

export interface LayerPruneResult {
  name: string;
  op: string;
  weight: string;
  params: number;
  /** weights zero after pruning (including ones that were zero before) */
  zeros: number;
  sparsity: number;
  /** 1 = weight kept, 0 = pruned, in the weight tensor's element order */
  mask: Uint8Array;
}

export interface PruneResult {
  proto: ModelProto;
  layers: LayerPruneResult[];
  /** zeros / params over the pruned layers */
  sparsity: number;
}

/** Weighted layers chosen by the selection; a weight tensor shared by several layers is pruned once. */
export function prunableLayers(proto: ModelProto, selection: LayerSelection, file?: string): WeightedLayer[] {
  const graph = proto.graph!;
  const all = weightedLayers(graph);
  const chosen = selectLayers(all.map((l) => l.node), selection, graph.node, file);
  const seen = new Set<string>();
  return all.filter((l) => chosen.includes(l.node) && !seen.has(l.weightName) && seen.add(l.weightName));
}

export function magnitudePrune(model: Model, opts: MagnitudeOptions): PruneResult {
  const { sparsity } = opts;
  if (!(sparsity >= 0 && sparsity < 1)) throw new UsageError(opts.file, `sparsity must be in [0, 1), got ${sparsity}`);
  const proto = clone(ModelProtoSchema, model.proto);
  const index = indexGraph(proto.graph!);
  const layers = prunableLayers(proto, opts, opts.file);
  if (layers.length === 0) throw new UsageError(opts.file, 'no prunable layer (Conv/Gemm/MatMul with a constant float weight) selected');
  const weights = layers.map((l) => readConstant(index, l.weightName, model));
  const lamp = opts.scope !== 'layer' && (opts.ranking ?? 'lamp') === 'lamp';
  const l1 = opts.norm === 'l1';
  const scores = weights.map((w, li) => {
    const s = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) s[i] = l1 ? Math.abs(w[i]) : w[i] * w[i];
    if (!lamp) return s;
    const bn = batchNormScale(layers[li].node.output[0], index, model);
    if (bn) {
      const layer = layers[li];
      const { outChannels, fanIn } = weightLayout(layer);
      const rowMajor = layer.kind === 'conv' || layer.transB;
      for (let i = 0; i < s.length; i++) {
        const c = bn[rowMajor ? Math.floor(i / fanIn) : i % outChannels];
        s[i] *= l1 ? Math.abs(c) : c * c;
      }
    }
    return lampScores(s);
  });
  const counts = opts.scope === 'layer'
    ? weights.map((w) => roundHalfEven(sparsity * w.length))
    : globalCounts(scores, sparsity);

  const results = layers.map((layer, li) => {
    const mask = smallestMask(scores[li], counts[li]);
    const w = weights[li];
    let zeros = 0;
    for (let i = 0; i < w.length; i++) {
      if (!mask[i]) w[i] = 0;
      if (w[i] === 0) zeros++;
    }
    writeConstant(index, layer.weightName, layer.dims, w);
    return { name: layer.name, op: layer.node.opType, weight: layer.weightName, params: w.length, zeros, sparsity: zeros / w.length, mask };
  });
  const params = results.reduce((a, r) => a + r.params, 0);
  const zeros = results.reduce((a, r) => a + r.zeros, 0);
  return { proto, layers: results, sparsity: zeros / params };
}

/** Mask keeping all but the `count` smallest scores; equal scores are pruned in element order. */
function smallestMask(scores: Float64Array, count: number): Uint8Array {
  const mask = new Uint8Array(scores.length).fill(1);
  if (count <= 0) return mask;
  const threshold = kthSmallest(scores.slice(), count - 1);
  let pruned = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] < threshold) { mask[i] = 0; pruned++; }
  for (let i = 0; i < scores.length && pruned < count; i++) if (scores[i] === threshold) { mask[i] = 0; pruned++; }
  return mask;
}

/**
 * Per-layer pruned counts for one global ranking that sum exactly to round(s·n): the smallest score t at which
 * #{scores ≤ t} reaches the target; ties at t go to layers in topological order.
 */
function globalCounts(scores: Float64Array[], sparsity: number): number[] {
  const total = scores.reduce((a, s) => a + s.length, 0);
  const target = roundHalfEven(sparsity * total);
  if (target === 0) return scores.map(() => 0);
  const ranked = scores.map((s) => s.slice().sort());
  const countAtMost = (sorted: Float64Array, t: number) => {
    let lo = 0, hi = sorted.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] <= t) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const reached = (t: number) => ranked.reduce((a, s) => a + countAtMost(s, t), 0);
  // Bisection on doubles until no double lies between lo and hi: then hi is the smallest score t with
  // reached(t) ≥ target (scores are ≥ 0, so lo = -1 starts below all of them).
  let lo = -1, hi = Math.max(...ranked.map((s) => s[s.length - 1]));
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (reached(mid) >= target) hi = mid; else lo = mid;
  }
  const t = hi;
  const counts = ranked.map((s) => countAtMost(s, t) - countEqual(s, t));
  let missing = target - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; i < counts.length && missing > 0; i++) {
    const take = Math.min(missing, countEqual(ranked[i], t));
    counts[i] += take;
    missing -= take;
  }
  // Within a layer, smallestMask ranks the same scores, so the counts are consistent.
  return counts;
}

function countEqual(sorted: Float64Array, t: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < t) lo = mid + 1; else hi = mid; }
  let n = 0;
  for (let i = lo; i < sorted.length && sorted[i] === t; i++) n++;
  return n;
}

/** The k-th smallest value (0-based) by quickselect with median-of-three pivots; reorders `a`. */
function kthSmallest(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const pivot = Math.max(Math.min(a[lo], a[mid]), Math.min(Math.max(a[lo], a[mid]), a[hi]));
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
