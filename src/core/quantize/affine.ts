// Affine (scale, zero-point) quantization math as in ONNX Runtime's quant_utils (compute_scale_zp,
// quantize_data): float64 scale math stored as float32, zero always representable, ties-to-even rounding.
import { DataType, roundHalfEven } from '../onnx/dtypes';

export type QuantType = 'int8' | 'uint8' | 'int4' | 'uint4' | 'int32';

interface TypeInfo { dataType: number; full: [number, number]; symmetric: [number, number]; reduced: [number, number] }

const TYPES: Record<QuantType, TypeInfo> = {
  int8: { dataType: DataType.INT8, full: [-128, 127], symmetric: [-127, 127], reduced: [-64, 64] },
  uint8: { dataType: DataType.UINT8, full: [0, 255], symmetric: [0, 254], reduced: [0, 127] },
  int4: { dataType: DataType.INT4, full: [-8, 7], symmetric: [-7, 7], reduced: [-4, 3] },
  uint4: { dataType: DataType.UINT4, full: [0, 15], symmetric: [0, 14], reduced: [0, 7] },
  int32: { dataType: DataType.INT32, full: [-(2 ** 31), 2 ** 31 - 1], symmetric: [-(2 ** 31 - 1), 2 ** 31 - 1], reduced: [-(2 ** 30), 2 ** 30] },
};

export function quantDataType(type: QuantType): number {
  return TYPES[type].dataType;
}

/** The representable integers of `type` (saturation bounds of QuantizeLinear). */
export function fullRange(type: QuantType): [number, number] {
  return TYPES[type].full;
}

/** The integer range a scale is fitted to; a reduced range wins over the symmetric one (as in ORT). */
export function fittingRange(type: QuantType, opts: { symmetric?: boolean; reduceRange?: boolean } = {}): [number, number] {
  const t = TYPES[type];
  return opts.reduceRange ? t.reduced : opts.symmetric ? t.symmetric : t.full;
}

export interface QuantParams { scale: number; zeroPoint: number }

/** Smallest normal float32: below it a scale is treated as zero. */
const FLOAT32_TINY = 1.1754943508222875e-38;

/** Scale and zero point mapping [rmin, rmax] (widened to include 0) onto [qmin, qmax]. */
export function scaleZeroPoint(rmin: number, rmax: number, qmin: number, qmax: number, symmetric = false): QuantParams {
  let lo = Math.min(rmin, 0);
  let hi = Math.max(rmax, 0);
  if (symmetric) {
    const a = Math.max(Math.abs(lo), Math.abs(hi));
    lo = -a;
    hi = a;
  }
  const scale = (hi - lo) / (qmax - qmin);
  if (!(scale >= FLOAT32_TINY)) return { scale: 1, zeroPoint: 0 };
  const zeroPoint = symmetric ? roundHalfEven((qmin + qmax) / 2) : roundHalfEven(qmin - lo / scale);
  return { scale: Math.fround(scale), zeroPoint };
}

/**
 * q = saturate(roundHalfEven(x / scale) + zeroPoint), the QuantizeLinear formula, with the division in
 * float32 as onnxruntime computes it (so ties fall the same way).
 */
export function quantizeValue(x: number, scale: number, zeroPoint: number, qmin: number, qmax: number): number {
  const q = roundHalfEven(Math.fround(x / scale)) + zeroPoint;
  return q < qmin ? qmin : q > qmax ? qmax : q;
}

export interface QuantizedTensor {
  /** integer values, same element order as the input */
  values: Int32Array;
  /** one scale per slice along the quantization axis (one element when per-tensor), float32-exact */
  scales: Float64Array;
  zeroPoints: Int32Array;
  /** the axis the scales run along, or undefined for per-tensor */
  axis?: number;
  /** elements per block along `axis` for block-wise quantization */
  blockSize?: number;
}

export interface WeightQuantOptions {
  type: QuantType;
  symmetric: boolean;
  /** per-channel along this axis; undefined = per-tensor */
  axis?: number;
  /** block-wise along `axis` (blocks of this many elements); the scales tensor then has dims[axis] / blockSize there */
  blockSize?: number;
  reduceRange?: boolean;
}

/**
 * Quantizes a weight tensor per tensor, per channel (one scale per index along `axis`) or block-wise
 * (one scale per `blockSize` consecutive indices along `axis` for every other position) — the layouts
 * DequantizeLinear accepts (opset 13 axis, opset 21 block_size).
 */
export function quantizeTensor(values: ArrayLike<number>, dims: readonly number[], opts: WeightQuantOptions): QuantizedTensor {
  const [qmin, qmax] = fittingRange(opts.type, opts);
  const [smin, smax] = fullRange(opts.type);
  const n = values.length;
  const out = new Int32Array(n);
  if (opts.axis === undefined) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) { const v = values[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
    const p = scaleZeroPoint(n ? lo : 0, n ? hi : 0, qmin, qmax, opts.symmetric);
    for (let i = 0; i < n; i++) out[i] = quantizeValue(values[i], p.scale, p.zeroPoint, smin, smax);
    return { values: out, scales: Float64Array.of(p.scale), zeroPoints: Int32Array.of(p.zeroPoint) };
  }
  const axis = opts.axis < 0 ? opts.axis + dims.length : opts.axis;
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const block = opts.blockSize ?? 1;
  const groups = Math.ceil(channels / block);
  // Scale index for element (o, c, i): per channel → c; block-wise → (o, c / block, i) flattened like dims with dims[axis] = groups.
  const scaleCount = opts.blockSize ? outer * groups * inner : channels;
  const lo = new Float64Array(scaleCount).fill(Infinity);
  const hi = new Float64Array(scaleCount).fill(-Infinity);
  const scaleIndex = (o: number, c: number, i: number) => (opts.blockSize ? (o * groups + ((c / block) | 0)) * inner + i : c);
  for (let o = 0; o < outer; o++) for (let c = 0; c < channels; c++) {
    const base = (o * channels + c) * inner;
    for (let i = 0; i < inner; i++) {
      const s = scaleIndex(o, c, i);
      const v = values[base + i];
      if (v < lo[s]) lo[s] = v;
      if (v > hi[s]) hi[s] = v;
    }
  }
  const scales = new Float64Array(scaleCount);
  const zeroPoints = new Int32Array(scaleCount);
  for (let s = 0; s < scaleCount; s++) {
    const p = scaleZeroPoint(lo[s], hi[s], qmin, qmax, opts.symmetric);
    scales[s] = p.scale;
    zeroPoints[s] = p.zeroPoint;
  }
  for (let o = 0; o < outer; o++) for (let c = 0; c < channels; c++) {
    const base = (o * channels + c) * inner;
    for (let i = 0; i < inner; i++) {
      const s = scaleIndex(o, c, i);
      out[base + i] = quantizeValue(values[base + i], scales[s], zeroPoints[s], smin, smax);
    }
  }
  return { values: out, scales, zeroPoints, axis, blockSize: opts.blockSize };
}

/** Dims of the scale / zero-point tensors DequantizeLinear expects for `q` of a tensor with `dims`. */
export function scaleDims(q: QuantizedTensor, dims: readonly number[]): number[] {
  if (q.axis === undefined) return [];
  if (!q.blockSize) return [dims[q.axis]];
  return dims.map((d, i) => (i === q.axis ? Math.ceil(d / q.blockSize!) : d));
}

/** The index into q.scales / q.zeroPoints of each element of a quantized tensor with `dims`. */
export function scaleIndexer(q: Pick<QuantizedTensor, 'axis' | 'blockSize'>, dims: readonly number[]): (e: number) => number {
  if (q.axis === undefined) return () => 0;
  const channels = dims[q.axis];
  const inner = dims.slice(q.axis + 1).reduce((a, b) => a * b, 1);
  const block = q.blockSize;
  if (!block) return (e) => ((e / inner) | 0) % channels;
  const groups = Math.ceil(channels / block);
  return (e) => {
    const c = ((e / inner) | 0) % channels;
    const o = (e / (inner * channels)) | 0;
    return (o * groups + ((c / block) | 0)) * inner + (e % inner);
  };
}

/** x̂ = scale · (q − zeroPoint), elementwise over a quantized tensor (for error measurements). */
export function dequantizeTensor(q: QuantizedTensor, dims: readonly number[]): Float32Array {
  const out = new Float32Array(q.values.length);
  const scaleOf = scaleIndexer(q, dims);
  for (let e = 0; e < out.length; e++) {
    const s = scaleOf(e);
    out[e] = q.scales[s] * (q.values[e] - q.zeroPoints[s]);
  }
  return out;
}
