// Entropy calibration: the clipping threshold that minimises KL(P‖Q) between the |x| histogram and its
// quantized version, searched over every candidate bin count (TensorRT, Migacz GTC 2017; as in ONNX
// Runtime's get_entropy_threshold with num_bins = 2048, num_quantized_bins = 128).
import type { AbsHistogram } from './histogram';
import type { TensorRange } from './minmax';

/** Adds eps to empty bins and takes the same mass from the non-empty ones (ORT smooth_distribution). */
function smooth(p: Float64Array, eps = 1e-4): boolean {
  let zeros = 0;
  for (const v of p) if (v === 0) zeros++;
  const nonZeros = p.length - zeros;
  if (nonZeros === 0) return false;
  const take = (eps * zeros) / nonZeros;
  for (let i = 0; i < p.length; i++) p[i] += p[i] === 0 ? eps : -take;
  return p.every((v) => v > 0);
}

function klDivergence(p: Float64Array, q: Float64Array): number {
  let sp = 0, sq = 0;
  for (let i = 0; i < p.length; i++) { sp += p[i]; sq += q[i]; }
  let kl = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0) kl += (p[i] / sp) * Math.log((p[i] / sp) / (q[i] / sq));
  return kl;
}

/** KL divergence of clipping the histogram at `i` bins and quantizing those into `levels` bins. */
function clippingLoss(counts: Float64Array, i: number, levels: number): number {
  const p = counts.slice(0, i);
  let outliers = 0;
  for (let j = i; j < counts.length; j++) outliers += counts[j];
  p[i - 1] += outliers;
  const q = new Float64Array(i);
  const merge = i / levels;
  for (let k = 0; k < levels; k++) {
    const start = Math.floor(k * merge);
    const end = k === levels - 1 ? i : Math.floor((k + 1) * merge);
    let sum = 0, nonZero = 0;
    for (let j = start; j < end; j++) { sum += counts[j]; if (counts[j] !== 0) nonZero++; }
    if (nonZero === 0) continue;
    for (let j = start; j < end; j++) if (counts[j] !== 0) q[j] = sum / nonZero;
  }
  if (!smooth(p) || !smooth(q)) return Infinity;
  return klDivergence(p, q);
}

/**
 * The symmetric threshold with the least KL divergence, clamped to the observed range. Thresholds that
 * would clip more than (1 − minCoverage) of the non-zero values are not candidates: the KL model of
 * quantization smears a spike (e.g. a constant image background) over its merged bins, which makes
 * wide ranges look bad and would otherwise clip most of a spiky tensor away.
 */
export function entropyRange(hist: AbsHistogram, observed: TensorRange, quantizedBins = 128, minCoverage = 0.999): TensorRange {
  const levels = Math.min(quantizedBins, hist.bins);
  const total = hist.total();
  let first = levels;
  for (let covered = 0, i = 0; i < hist.bins; i++) {
    covered += hist.counts[i];
    if (covered >= minCoverage * total) { first = Math.max(levels, i + 1); break; }
  }
  let best = hist.bins;
  let bestLoss = Infinity;
  // Candidates every `stride` bins (every bin up to 512 bins): the loss is smooth in the threshold.
  const stride = Math.max(1, Math.floor(hist.bins / 512));
  for (let i = first; i <= hist.bins; i += stride) {
    const loss = clippingLoss(hist.counts, i, levels);
    if (loss < bestLoss) { bestLoss = loss; best = i; }
  }
  const threshold = hist.edge(best - 1);
  return { min: Math.max(observed.min, -threshold), max: Math.min(observed.max, threshold) };
}
