// LAMP, layer-adaptive magnitude-based pruning (Lee, Park, Mo & Shin, ICLR 2021): a weight's score is its squared
// magnitude over the sum of the squared magnitudes of every weight of its layer not smaller than it; one global
// threshold on these scores then sets every layer's sparsity.

/**
 * LAMP scores of one layer from its magnitude scores m (w² for the paper's score; |w| gives the l1 variant):
 * with the layer's weights sorted by ascending m (ties in element order), score(u) = m_u / Σ_{v ≥ u} m_v.
 * Within a layer the scores rise strictly with sorted position (zeros score 0), so ranking a layer by LAMP
 * prunes the same weights as ranking by magnitude; across layers they are comparable: the largest weight of
 * every layer scores 1, so no layer is emptied before the target removes nearly everything.
 */
export function lampScores(magnitude: Float64Array): Float64Array {
  const n = magnitude.length;
  const sorted = magnitude.slice().sort();
  // tail[k] = Σ sorted[k..n−1], summed from the largest so that the small tails keep their precision.
  const tail = new Float64Array(n + 1);
  for (let k = n - 1; k >= 0; k--) tail[k] = tail[k + 1] + sorted[k];
  const scores = new Float64Array(n);
  // Equal magnitudes take consecutive sorted positions in element order.
  const tiesSeen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const m = magnitude[i];
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < m) lo = mid + 1; else hi = mid; }
    if (lo + 1 < n && sorted[lo + 1] === m) {
      const seen = tiesSeen.get(m) ?? 0;
      tiesSeen.set(m, seen + 1);
      lo += seen;
    }
    scores[i] = tail[lo] > 0 ? m / tail[lo] : 0;
  }
  return scores;
}
