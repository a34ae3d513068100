// Classification metrics on model outputs stored as rows: top-k accuracy, agreement with a baseline (teacher)
// model's predictions, the largest output difference and the output SQNR.
import type { Outputs } from './runner';

/** Index of the largest value of each row; the first one on ties (as numpy.argmax). */
export function argmax(out: Outputs): Int32Array {
  const pred = new Int32Array(out.n);
  for (let i = 0; i < out.n; i++) {
    const row = out.values.subarray(i * out.width, (i + 1) * out.width);
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    pred[i] = best;
  }
  return pred;
}

/**
 * Fraction of samples whose label is among the k highest scores. Ties rank the lower class index first,
 * so top-1 equals argmax accuracy.
 */
export function topKAccuracy(out: Outputs, labels: Int32Array, k: number): number {
  if (labels.length !== out.n) throw new RangeError(`${labels.length} labels for ${out.n} outputs`);
  if (out.n === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < out.n; i++) {
    const row = out.values.subarray(i * out.width, (i + 1) * out.width);
    const y = labels[i];
    if (y >= row.length) continue;
    let rank = 0;
    for (let j = 0; j < row.length && rank < k; j++) if (row[j] > row[y] || (row[j] === row[y] && j < y)) rank++;
    if (rank < k) hits++;
  }
  return hits / out.n;
}

/** Fraction of samples where both models predict the same class. */
export function agreement(a: Outputs, b: Outputs): number {
  sameShape(a, b);
  if (a.n === 0) return NaN;
  const pa = argmax(a);
  const pb = argmax(b);
  let same = 0;
  for (let i = 0; i < a.n; i++) if (pa[i] === pb[i]) same++;
  return same / a.n;
}

export function maxAbsDiff(a: Outputs, b: Outputs): number {
  sameShape(a, b);
  let max = 0;
  for (let i = 0; i < a.values.length; i++) max = Math.max(max, Math.abs(a.values[i] - b.values[i]));
  return max;
}

/**
 * Signal-to-quantization-noise ratio of `test` against `reference` in dB: 10·log10(Σ y² / Σ (y − ŷ)²) over all
 * values (float64 sums); Infinity when they are identical.
 */
export function sqnrDb(reference: Outputs, test: Outputs): number {
  sameShape(reference, test);
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.values.length; i++) {
    const y = reference.values[i];
    const e = y - test.values[i];
    signal += y * y;
    noise += e * e;
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

function sameShape(a: Outputs, b: Outputs): void {
  if (a.n !== b.n || a.width !== b.width) throw new RangeError(`outputs differ in shape: ${a.n}×${a.width} vs ${b.n}×${b.width}`);
}
