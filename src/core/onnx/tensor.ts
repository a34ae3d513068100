// Tensor data access: element counts, raw bytes (inline, typed fields, external, or left in the model file),
// decoded values, and building tensors from values. Values come back as the narrowest JS typed array that holds
// them exactly.
import fs from 'node:fs';
import { OnnxFormatError } from '../errors';
import {
  DataType, bfloat16ToFloat, dtypeBits, dtypeInfo, dtypeName, float16ToFloat, floatToBfloat16, floatToFloat16,
  floatToMiniFloat, miniFloatTable, rawByteLength,
} from './dtypes';
import { isExternal, readExternalBytes } from './externalData';
import { create, TensorProtoSchema, type TensorProto } from './proto';

export type TensorValues =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** Where a tensor's external data is looked for. */
export interface TensorSource { dir?: string; file?: string }

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map(Number);
}

export function tensorNumel(t: TensorProto): number {
  let n = 1;
  for (const d of t.dims) n *= Number(d);
  return n;
}

/** Bytes the tensor's data takes when stored as raw_data. */
export function tensorByteLength(t: TensorProto): number {
  return rawByteLength(t.dataType, tensorNumel(t));
}

/** A model file kept open so that tensors whose raw_data was left in it can be read on demand. */
export interface DeferredFile {
  file: string;
  /** undefined once the file is closed */
  fd: number | undefined;
}

interface DeferredSpan { source: DeferredFile; offset: number; length: number }

/**
 * raw_data not read at open (openModelLazy in read.ts): while the tensor's rawData stays empty, its bytes are
 * read from here.
 */
const deferredSpans = new WeakMap<TensorProto, DeferredSpan>();

/** Records that `t`'s raw_data is the `length` bytes at `offset` of the open `source` file. */
export function deferRawData(t: TensorProto, source: DeferredFile, offset: number, length: number): void {
  deferredSpans.set(t, { source, offset, length });
}

/** Where a tensor's bytes are put when they have to be read from a file (a reused buffer, or a fresh one). */
export type ByteBuffer = (length: number) => Uint8Array;

const freshBuffer: ByteBuffer = (length) => new Uint8Array(length);

/** Bytes [begin, end) of a deferred tensor's raw_data, read into `into(end − begin)`. */
function readDeferred(t: TensorProto, span: DeferredSpan, into: ByteBuffer, begin = 0, end = span.length): Uint8Array {
  const { fd, file } = span.source;
  if (fd === undefined) throw new Error(`tensor '${t.name}': its model file ${file} was closed before its data was read`);
  const out = into(end - begin);
  for (let done = 0; done < out.length;) {
    const n = fs.readSync(fd, out, done, out.length - done, span.offset + begin + done);
    if (n === 0) throw new OnnxFormatError(file, `tensor '${t.name}': the file ended while reading its data (was it changed?)`);
    done += n;
  }
  return out;
}

/**
 * Calls `fn` with consecutive pieces of the tensor's raw bytes, each `chunkBytes` long but the last, and the
 * offset of each. raw_data left in the model file is read piece by piece into `into`, so a small buffer serves
 * a big tensor; all other data comes as one piece (rawBytes).
 */
export function forEachRawChunk(t: TensorProto, src: TensorSource, chunkBytes: number, into: ByteBuffer, fn: (bytes: Uint8Array, offset: number) => void): void {
  const span = deferredSpans.get(t);
  if (!span || t.rawData.length > 0) {
    fn(rawBytes(t, src, into), 0);
    return;
  }
  checkByteCount(t, span.length, tensorByteLength(t), src);
  for (let begin = 0; begin < span.length; begin += chunkBytes) fn(readDeferred(t, span, into, begin, Math.min(span.length, begin + chunkBytes)), begin);
}

/** Does the tensor carry its values in a typed field (float_data, int32_data, …) instead of raw_data? */
function hasTypedField(t: TensorProto): boolean {
  return t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length > 0;
}

/**
 * The tensor's little-endian raw bytes (as raw_data would hold them). Inline raw_data is returned as a view
 * (no copy); typed fields are packed; external data is read from disk now (lazily, per tensor), and raw_data
 * left in the model file is read into `into(length)`.
 */
export function rawBytes(t: TensorProto, src: TensorSource = {}, into: ByteBuffer = freshBuffer): Uint8Array {
  const expected = tensorByteLength(t);
  const span = deferredSpans.get(t);
  if (span && t.rawData.length === 0) return checkLength(t, readDeferred(t, span, into), expected, src);
  if (isExternal(t)) {
    if (!src.dir) throw new OnnxFormatError(src.file, `tensor '${t.name}' uses external data, but the model's folder is unknown`);
    return checkLength(t, readExternalBytes(t, src.dir, expected, src.file), expected, src);
  }
  if (t.rawData.length > 0 || !hasTypedField(t)) return checkLength(t, t.rawData, expected, src);
  return checkLength(t, packTypedField(t, src.file), expected, src);
}

/** Largest element count accepted for one tensor (guards against hostile dims). */
const MAX_TENSOR_ELEMENTS = 2 ** 40;

/**
 * Throws OnnxFormatError unless the tensor's stored data can hold its dims: a known element type, no negative
 * or absurd dims, and raw_data or the typed field of the right size. Reads and allocates nothing.
 */
export function checkTensorData(t: TensorProto, where: string, file?: string): void {
  if (!dtypeInfo(t.dataType)) throw new OnnxFormatError(file, `${where} has unknown element type ${t.dataType}`);
  for (const d of t.dims) if (d < 0n) throw new OnnxFormatError(file, `${where} has a negative dimension`);
  const n = tensorNumel(t);
  if (!Number.isFinite(n) || n > MAX_TENSOR_ELEMENTS) throw new OnnxFormatError(file, `${where} claims ${n} elements`);
  if (isExternal(t) || t.dataType === DataType.STRING) return;
  const expected = tensorByteLength(t);
  const rawLength = t.rawData.length || (deferredSpans.get(t)?.length ?? 0);
  if (rawLength > 0) {
    if (rawLength !== expected) {
      throw new OnnxFormatError(file, `${where} (${dtypeName(t.dataType)} [${t.dims.join(',')}]) has ${rawLength} bytes of raw_data, expected ${expected}`);
    }
  } else if (hasTypedField(t)) {
    const count = typedField(t).length;
    const expectedCount = typedFieldCount(t);
    if (count !== expectedCount) {
      throw new OnnxFormatError(file, `${where} (${dtypeName(t.dataType)} [${t.dims.join(',')}]) has ${count} values in its typed field, expected ${expectedCount}`);
    }
  } else if (n > 0) {
    throw new OnnxFormatError(file, `${where} has no data`);
  }
}

function checkLength(t: TensorProto, bytes: Uint8Array, expected: number, src: TensorSource): Uint8Array {
  checkByteCount(t, bytes.length, expected, src);
  return bytes;
}

function checkByteCount(t: TensorProto, length: number, expected: number, src: TensorSource): void {
  if (t.dataType !== DataType.STRING && length !== expected) {
    throw new OnnxFormatError(src.file, `tensor '${t.name}' (${dtypeName(t.dataType)} [${tensorDims(t).join(',')}]) has ${length} bytes of data, expected ${expected}`);
  }
}

/** The typed field onnx.proto assigns to each element type (every other numeric type uses int32_data). */
function typedField(t: TensorProto): readonly (number | bigint)[] {
  switch (t.dataType) {
    case DataType.FLOAT: case DataType.COMPLEX64: return t.floatData;
    case DataType.DOUBLE: case DataType.COMPLEX128: return t.doubleData;
    case DataType.INT64: return t.int64Data;
    case DataType.UINT32: case DataType.UINT64: return t.uint64Data;
    default: return t.int32Data;
  }
}

/** Entries the typed field must have: one per element, two per complex element, one per packed byte below 8 bits. */
function typedFieldCount(t: TensorProto): number {
  const n = tensorNumel(t);
  if (dtypeBits(t.dataType) < 8) return tensorByteLength(t);
  return t.dataType === DataType.COMPLEX64 || t.dataType === DataType.COMPLEX128 ? 2 * n : n;
}

function packTypedField(t: TensorProto, file?: string): Uint8Array {
  const bits = dtypeBits(t.dataType);
  const byteLength = tensorByteLength(t);
  // Count before allocating: dims can claim far more elements than the field holds.
  const field = typedField(t);
  const expectedCount = typedFieldCount(t);
  if (field.length !== expectedCount) {
    const fieldCount = t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length;
    throw new OnnxFormatError(file, `tensor '${t.name}' (${dtypeName(t.dataType)}) has ${field.length} values in its typed field (${fieldCount} in all), expected ${expectedCount}`);
  }
  const out = new Uint8Array(byteLength);
  const view = new DataView(out.buffer);
  switch (t.dataType) {
    case DataType.FLOAT: case DataType.COMPLEX64:
      t.floatData.forEach((v, i) => view.setFloat32(i * 4, v, true)); break;
    case DataType.DOUBLE: case DataType.COMPLEX128:
      t.doubleData.forEach((v, i) => view.setFloat64(i * 8, v, true)); break;
    case DataType.INT64:
      t.int64Data.forEach((v, i) => view.setBigInt64(i * 8, v, true)); break;
    case DataType.UINT64:
      t.uint64Data.forEach((v, i) => view.setBigUint64(i * 8, v, true)); break;
    case DataType.UINT32:
      t.uint64Data.forEach((v, i) => view.setUint32(i * 4, Number(v & 0xffffffffn), true)); break;
    case DataType.INT32:
      t.int32Data.forEach((v, i) => view.setInt32(i * 4, v, true)); break;
    default:
      // int32_data holds one element per entry, except sub-byte types, which hold one packed byte per entry.
      if (bits === 16) t.int32Data.forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true));
      else t.int32Data.forEach((v, i) => { out[i] = v & 0xff; });
  }
  return out;
}

/** A typed-array view of `bytes` if aligned, else an aligned copy (raw_data inside protobuf is often unaligned). */
function aligned<T>(bytes: Uint8Array, elemSize: number, make: (buf: ArrayBuffer, off: number, len: number) => T): T {
  if (bytes.byteOffset % elemSize === 0) return make(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / elemSize);
  // An unpooled, not zero-filled buffer (offset 0, so aligned) that is then overwritten whole. Buffer#slice would
  // not do: raw_data of a model read from disk is a Buffer, and its slice is a view, not a copy.
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return make(copy.buffer as ArrayBuffer, copy.byteOffset, copy.length / elemSize);
}

/**
 * Decoded element values. float16/bfloat16/float8/float4 become Float32Array; int4/uint4/int2/uint2 are
 * unpacked to Int8Array/Uint8Array; int64/uint64 become Float64Array (exact up to 2^53); bool is Uint8Array.
 */
export function tensorValues(t: TensorProto, src: TensorSource = {}): TensorValues {
  if (t.dataType === DataType.STRING) throw new OnnxFormatError(src.file, `tensor '${t.name}' holds strings, not numbers`);
  const bytes = rawBytes(t, src);
  const n = tensorNumel(t);
  switch (t.dataType) {
    case DataType.FLOAT: return aligned(bytes, 4, (b, o, l) => new Float32Array(b, o, l));
    case DataType.DOUBLE: return aligned(bytes, 8, (b, o, l) => new Float64Array(b, o, l));
    case DataType.INT8: return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    case DataType.UINT8: case DataType.BOOL: return bytes;
    case DataType.INT16: return aligned(bytes, 2, (b, o, l) => new Int16Array(b, o, l));
    case DataType.UINT16: return aligned(bytes, 2, (b, o, l) => new Uint16Array(b, o, l));
    case DataType.INT32: return aligned(bytes, 4, (b, o, l) => new Int32Array(b, o, l));
    case DataType.UINT32: return aligned(bytes, 4, (b, o, l) => new Uint32Array(b, o, l));
    case DataType.INT64: case DataType.UINT64: {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const out = new Float64Array(n);
      const signed = t.dataType === DataType.INT64;
      for (let i = 0; i < n; i++) out[i] = Number(signed ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true));
      return out;
    }
    case DataType.FLOAT16: case DataType.BFLOAT16: {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const out = new Float32Array(n);
      const conv = t.dataType === DataType.FLOAT16 ? float16ToFloat : bfloat16ToFloat;
      for (let i = 0; i < n; i++) out[i] = conv(view.getUint16(i * 2, true));
      return out;
    }
    case DataType.FLOAT8E4M3FN: case DataType.FLOAT8E4M3FNUZ: case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ: case DataType.FLOAT8E8M0: {
      const table = miniFloatTable(t.dataType);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[bytes[i]];
      return out;
    }
    case DataType.FLOAT4E2M1: {
      const table = miniFloatTable(t.dataType);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[(bytes[i >> 1] >> ((i & 1) * 4)) & 0xf];
      return out;
    }
    case DataType.INT4: case DataType.UINT4: case DataType.INT2: case DataType.UINT2:
      return unpackSubByte(bytes, n, dtypeBits(t.dataType), t.dataType === DataType.INT4 || t.dataType === DataType.INT2);
    default:
      throw new OnnxFormatError(src.file, `tensor '${t.name}' has element type ${dtypeName(t.dataType)}, which is not supported`);
  }
}

/** Unpacks 4- or 2-bit elements, first element in the least significant bits (onnx.proto). */
export function unpackSubByte(bytes: Uint8Array, n: number, bits: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < n; i++) {
    const v = (bytes[(i / perByte) | 0] >> ((i % perByte) * bits)) & mask;
    out[i] = signed && v & signBit ? v - (1 << bits) : v;
  }
  return out;
}

export function packSubByte(values: ArrayLike<number>, bits: number): Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) out[(i / perByte) | 0] |= (values[i] & mask) << ((i % perByte) * bits);
  return out;
}

/** Encodes numeric values as raw_data bytes of `dataType` (narrow floats rounded to nearest, ties to even). */
export function encodeValues(dataType: number, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const bits = dtypeBits(dataType);
  if (!dtypeInfo(dataType) || bits === 0) throw new Error(`cannot encode values of ${dtypeName(dataType)}`);
  const out = new Uint8Array(rawByteLength(dataType, n));
  const view = new DataView(out.buffer);
  switch (dataType) {
    case DataType.FLOAT: for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i], true); break;
    case DataType.DOUBLE: for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i], true); break;
    case DataType.INT8: for (let i = 0; i < n; i++) view.setInt8(i, values[i]); break;
    case DataType.UINT8: case DataType.BOOL: for (let i = 0; i < n; i++) out[i] = values[i]; break;
    case DataType.INT16: for (let i = 0; i < n; i++) view.setInt16(i * 2, values[i], true); break;
    case DataType.UINT16: for (let i = 0; i < n; i++) view.setUint16(i * 2, values[i], true); break;
    case DataType.INT32: for (let i = 0; i < n; i++) view.setInt32(i * 4, values[i], true); break;
    case DataType.UINT32: for (let i = 0; i < n; i++) view.setUint32(i * 4, values[i], true); break;
    case DataType.INT64: for (let i = 0; i < n; i++) view.setBigInt64(i * 8, BigInt(Math.trunc(values[i])), true); break;
    case DataType.UINT64: for (let i = 0; i < n; i++) view.setBigUint64(i * 8, BigInt(Math.trunc(values[i])), true); break;
    case DataType.FLOAT16: for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToFloat16(values[i]), true); break;
    case DataType.BFLOAT16: for (let i = 0; i < n; i++) view.setUint16(i * 2, floatToBfloat16(values[i]), true); break;
    case DataType.INT4: case DataType.UINT4: case DataType.INT2: case DataType.UINT2:
      return packSubByte(values, bits);
    case DataType.FLOAT4E2M1: {
      const codes = Array.from(values, (v) => floatToMiniFloat(v, dataType));
      return packSubByte(codes, 4);
    }
    default: for (let i = 0; i < n; i++) out[i] = floatToMiniFloat(values[i], dataType);
  }
  return out;
}

/** A new initializer tensor holding `values` in raw_data. */
export function makeTensor(name: string, dataType: number, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const numel = dims.reduce((a, b) => a * b, 1);
  if (numel !== values.length) throw new Error(`makeTensor '${name}': ${values.length} values for dims [${dims.join(',')}]`);
  return create(TensorProtoSchema, { name, dataType, dims: dims.map((d) => BigInt(d)), rawData: encodeValues(dataType, values) as Uint8Array<ArrayBuffer> });
}
