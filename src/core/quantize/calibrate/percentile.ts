// Percentile calibration (ONNX Runtime PercentileCalibrater, symmetric): clip |x| at the value below
// which `percentile` % of all observed magnitudes lie, then clamp to the observed range.
import type { AbsHistogram } from './histogram';
import type { TensorRange } from './minmax';

export function percentileRange(hist: AbsHistogram, observed: TensorRange, percentile = 99.999): TensorRange {
  const total = hist.total() + hist.zeros;
  const target = (percentile / 100) * total;
  let cumulative = hist.zeros;
  let idx = hist.bins - 1;
  for (let i = 0; i < hist.bins; i++) {
    cumulative += hist.counts[i];
    if (cumulative >= target) { idx = i; break; }
  }
  const threshold = hist.edge(idx);
  return { min: Math.max(observed.min, -threshold), max: Math.min(observed.max, threshold) };
}
