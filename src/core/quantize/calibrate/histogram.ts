// Histogram of |x| over a fixed range [0, limit] (the range is known from a MinMax pass, so batches never
// need re-binning) — the input of Percentile and Entropy calibration (TensorRT's |x| histogram). Exact
// zeros (half of every post-ReLU tensor) are counted apart: zero is always representable, and in bin 0
// they would dominate the KL search and drag thresholds far too low.

export class AbsHistogram {
  readonly counts: Float64Array;
  zeros = 0;
  readonly binWidth: number;

  constructor(readonly limit: number, readonly bins = 2048) {
    this.counts = new Float64Array(bins);
    this.binWidth = limit > 0 ? limit / bins : 1;
  }

  observe(data: ArrayLike<number>): void {
    const last = this.bins - 1;
    const perBin = 1 / this.binWidth;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0) { this.zeros++; continue; }
      const b = Math.floor(Math.abs(data[i]) * perBin);
      this.counts[b > last ? last : b]++;
    }
  }

  /** Upper edge of bin `i`. */
  edge(i: number): number {
    return (i + 1) * this.binWidth;
  }

  total(): number {
    let s = 0;
    for (const c of this.counts) s += c;
    return s;
  }
}
