// MinMax calibration: the range of a tensor is the smallest and largest value seen over all batches
// (ONNX Runtime MinMaxCalibrater without moving average).

export interface TensorRange { min: number; max: number }

export class MinMaxObserver {
  min = Infinity;
  max = -Infinity;

  observe(data: ArrayLike<number>): void {
    let lo = this.min, hi = this.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  range(): TensorRange {
    return this.min <= this.max ? { min: this.min, max: this.max } : { min: 0, max: 0 };
  }
}
