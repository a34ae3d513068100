// ONNX tensor element types: storage bits, names, and exact conversions for the narrow float formats
// (IEEE float16, bfloat16, float8 E4M3FN/E4M3FNUZ/E5M2/E5M2FNUZ, float4 E2M1, E8M0) as defined in onnx.proto.
import { TensorProto_DataType as DT } from './proto';

export { TensorProto_DataType as DataType } from './proto';

export interface DTypeInfo {
  name: string;
  /** Storage bits per element (4 for packed int4, 2 for int2). */
  bits: number;
  kind: 'float' | 'int' | 'uint' | 'bool' | 'string' | 'complex';
}

const table: Record<number, DTypeInfo> = {
  [DT.FLOAT]: { name: 'float32', bits: 32, kind: 'float' },
  [DT.UINT8]: { name: 'uint8', bits: 8, kind: 'uint' },
  [DT.INT8]: { name: 'int8', bits: 8, kind: 'int' },
  [DT.UINT16]: { name: 'uint16', bits: 16, kind: 'uint' },
  [DT.INT16]: { name: 'int16', bits: 16, kind: 'int' },
  [DT.INT32]: { name: 'int32', bits: 32, kind: 'int' },
  [DT.INT64]: { name: 'int64', bits: 64, kind: 'int' },
  [DT.STRING]: { name: 'string', bits: 0, kind: 'string' },
  [DT.BOOL]: { name: 'bool', bits: 8, kind: 'bool' },
  [DT.FLOAT16]: { name: 'float16', bits: 16, kind: 'float' },
  [DT.DOUBLE]: { name: 'float64', bits: 64, kind: 'float' },
  [DT.UINT32]: { name: 'uint32', bits: 32, kind: 'uint' },
  [DT.UINT64]: { name: 'uint64', bits: 64, kind: 'uint' },
  [DT.COMPLEX64]: { name: 'complex64', bits: 64, kind: 'complex' },
  [DT.COMPLEX128]: { name: 'complex128', bits: 128, kind: 'complex' },
  [DT.BFLOAT16]: { name: 'bfloat16', bits: 16, kind: 'float' },
  [DT.FLOAT8E4M3FN]: { name: 'float8e4m3fn', bits: 8, kind: 'float' },
  [DT.FLOAT8E4M3FNUZ]: { name: 'float8e4m3fnuz', bits: 8, kind: 'float' },
  [DT.FLOAT8E5M2]: { name: 'float8e5m2', bits: 8, kind: 'float' },
  [DT.FLOAT8E5M2FNUZ]: { name: 'float8e5m2fnuz', bits: 8, kind: 'float' },
  [DT.UINT4]: { name: 'uint4', bits: 4, kind: 'uint' },
  [DT.INT4]: { name: 'int4', bits: 4, kind: 'int' },
  [DT.FLOAT4E2M1]: { name: 'float4e2m1', bits: 4, kind: 'float' },
  [DT.FLOAT8E8M0]: { name: 'float8e8m0', bits: 8, kind: 'float' },
  [DT.UINT2]: { name: 'uint2', bits: 2, kind: 'uint' },
  [DT.INT2]: { name: 'int2', bits: 2, kind: 'int' },
};

export function dtypeInfo(dataType: number): DTypeInfo | undefined {
  return table[dataType];
}

export function dtypeName(dataType: number): string {
  return table[dataType]?.name ?? `type${dataType}`;
}

export function dtypeBits(dataType: number): number {
  return table[dataType]?.bits ?? 0;
}

/** Bytes that `count` elements occupy in raw_data (sub-byte types are packed, rounded up). */
export function rawByteLength(dataType: number, count: number): number {
  return Math.ceil((count * dtypeBits(dataType)) / 8);
}

// ---- float16 / bfloat16 ----------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float16ToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** IEEE float16 bits of x, round to nearest, ties to even. */
export function floatToFloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let r = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) r++;
  return sign | r;
}

export function bfloat16ToFloat(h: number): number {
  u32[0] = h << 16;
  return f32[0];
}

/** bfloat16 bits of x, round to nearest, ties to even (NaN kept quiet). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if (Number.isNaN(x)) return 0x7fc0;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

// ---- float8 / float4 / e8m0 ------------------------------------------------------------------------

interface MiniFloat { expBits: number; mantBits: number; bias: number; fnuz: boolean; ieeeSpecials: boolean }

const miniFormats: Record<number, MiniFloat> = {
  [DT.FLOAT8E4M3FN]: { expBits: 4, mantBits: 3, bias: 7, fnuz: false, ieeeSpecials: false },
  [DT.FLOAT8E4M3FNUZ]: { expBits: 4, mantBits: 3, bias: 8, fnuz: true, ieeeSpecials: false },
  [DT.FLOAT8E5M2]: { expBits: 5, mantBits: 2, bias: 15, fnuz: false, ieeeSpecials: true },
  [DT.FLOAT8E5M2FNUZ]: { expBits: 5, mantBits: 2, bias: 16, fnuz: true, ieeeSpecials: false },
  [DT.FLOAT4E2M1]: { expBits: 2, mantBits: 1, bias: 1, fnuz: false, ieeeSpecials: false },
};

function decodeMini(code: number, f: MiniFloat): number {
  const total = 1 + f.expBits + f.mantBits;
  const signBit = 1 << (total - 1);
  const expMax = (1 << f.expBits) - 1;
  const mantMax = (1 << f.mantBits) - 1;
  if (f.fnuz && code === signBit) return NaN;
  const s = code & signBit ? -1 : 1;
  const e = (code >> f.mantBits) & expMax;
  const m = code & mantMax;
  if (f.ieeeSpecials && e === expMax) return m ? NaN : s * Infinity;
  // E4M3FN: only S.1111.111 is NaN (no infinities); float4 has no specials at all.
  if (!f.ieeeSpecials && !f.fnuz && f.expBits === 4 && e === expMax && m === mantMax) return NaN;
  if (e === 0) return s * (m / (1 << f.mantBits)) * 2 ** (1 - f.bias);
  return s * (1 + m / (1 << f.mantBits)) * 2 ** (e - f.bias);
}

const decodeTables = new Map<number, Float32Array>();

/** Lookup table code → value for an 8-bit or 4-bit float type. */
export function miniFloatTable(dataType: number): Float32Array {
  let t = decodeTables.get(dataType);
  if (!t) {
    if (dataType === DT.FLOAT8E8M0) {
      t = new Float32Array(256);
      for (let c = 0; c < 256; c++) t[c] = c === 255 ? NaN : 2 ** (c - 127);
    } else {
      const f = miniFormats[dataType];
      if (!f) throw new Error(`not a narrow float type: ${dtypeName(dataType)}`);
      const n = 1 << (1 + f.expBits + f.mantBits);
      t = new Float32Array(n);
      for (let c = 0; c < n; c++) t[c] = decodeMini(c, f);
    }
    decodeTables.set(dataType, t);
  }
  return t;
}

const largestFinite = new Map<number, number>();

/** Nearest code (ties to the even code), saturating to the largest finite value. */
export function floatToMiniFloat(x: number, dataType: number): number {
  const table = miniFloatTable(dataType);
  if (Number.isNaN(x)) return table.findIndex((v) => Number.isNaN(v));
  // Saturating conversion (ONNX Cast saturate=1): anything beyond the largest finite value, ±inf included, becomes ±max.
  let max = largestFinite.get(dataType);
  if (max === undefined) largestFinite.set(dataType, (max = Math.max(...Array.from(table).filter(Number.isFinite))));
  x = Math.min(max, Math.max(-max, x));
  let best = -1;
  let bestErr = Infinity;
  for (let c = 0; c < table.length; c++) {
    const v = table[c];
    if (!Number.isFinite(v)) continue;
    const err = Math.abs(v - x);
    if (err < bestErr || (err === bestErr && (c & 1) === 0 && (best & 1) === 1)) {
      best = c;
      bestErr = err;
    }
  }
  // Negative values that round to zero keep their sign where the format has a -0 (not in the FNUZ types).
  if (table[best] === 0 && (x < 0 || Object.is(x, -0))) {
    const negativeZero = table.findIndex((v) => Object.is(v, -0));
    if (negativeZero >= 0) return negativeZero;
  }
  return best;
}

/** Exact round-half-to-even (ONNX QuantizeLinear, numpy.round); JS Math.round rounds halves up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
