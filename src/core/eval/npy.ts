// NumPy .npy files (format versions 1.0 and 2.0, little-endian, C order) as described in numpy's NEP 1
// ("A simple file format for NumPy arrays"): magic, version, header length, a Python-dict header, raw data.
import fs from 'node:fs';
import { DatasetError } from '../errors';

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface NpyArray {
  /** numpy dtype descriptor without byte order, e.g. 'f4', 'i8', 'u1' */
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

/** The element types this reader understands: descriptor → typed-array constructor. */
const DTYPES = {
  f4: Float32Array,
  f8: Float64Array,
  i8: BigInt64Array,
  i4: Int32Array,
  u1: Uint8Array,
} as const;
export type NpyDtype = keyof typeof DTYPES;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DatasetError(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`);
  }
  return decodeNpy(bytes, file);
}

export function decodeNpy(bytes: Uint8Array, file?: string): NpyArray {
  const fail = (reason: string) => new DatasetError(file, `not a readable .npy file: ${reason}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw fail('missing the \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number, headerLength: number;
  if (major === 1) { headerStart = 10; headerLength = view.getUint16(8, true); }
  else if (major === 2 || major === 3) { headerStart = 12; headerLength = view.getUint32(8, true); }
  else throw fail(`unknown format version ${major}`);
  if (headerStart + headerLength > bytes.length) throw fail('truncated header');
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw fail('malformed header');
  if (fortran === 'True') throw fail('Fortran-ordered arrays are not supported; save with C order');
  const order = descr[0];
  const dtype = descr.slice(1) as NpyDtype;
  if (!(dtype in DTYPES) || (order === '>' && dtype !== 'u1')) {
    throw fail(`dtype '${descr}' is not supported (use little-endian float32, float64, int64, int32 or uint8)`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw fail(`bad shape (${shapeText})`);

  const Ctor = DTYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const byteLength = count * Ctor.BYTES_PER_ELEMENT;
  if (dataStart + byteLength > bytes.length) throw fail(`truncated data: expected ${byteLength} bytes for shape [${shape}], found ${bytes.length - dataStart}`);
  // Copy so the typed array is aligned whatever the header length was (a Buffer's slice would be a view).
  const aligned = new Uint8Array(byteLength);
  aligned.set(bytes.subarray(dataStart, dataStart + byteLength));
  const data = new Ctor(aligned.buffer);
  return { dtype, shape, data };
}

const DESCR_OF = new Map<NpyData['constructor'], string>([
  [Float32Array, '<f4'], [Float64Array, '<f8'], [BigInt64Array, '<i8'], [Int32Array, '<i4'], [Uint8Array, '|u1'],
]);

/** The .npy bytes for `data` with the given shape (version 1.0 unless the header needs more than 64 KiB). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`shape [${shape}] needs ${count} values, got ${data.length}`);
  const descr = DESCR_OF.get(data.constructor as NpyData['constructor'])!;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // The header (including magic and length) is padded with spaces to a multiple of 64 and ends in '\n'.
  const v1 = dict.length + 11 <= 0xffff;
  const prefix = v1 ? 10 : 12;
  const padded = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const headerText = dict + ' '.repeat(padded - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(padded + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, headerText.length, true);
  else view.setUint32(8, headerText.length, true);
  out.set(new TextEncoder().encode(headerText), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), padded);
  return out;
}

export function writeNpy(file: string, data: NpyData, shape: readonly number[]): void {
  fs.writeFileSync(file, encodeNpy(data, shape));
}
