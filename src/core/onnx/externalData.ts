// External tensor data (ONNX external-data format): lazy reads, and a location check that refuses any path
// leaving the model's folder — the bug class of CVE-2022-25882 / CVE-2024-27318 in the onnx package.
import fs from 'node:fs';
import path from 'node:path';
import { MissingExternalData, OnnxFormatError, UnsafeExternalDataPath } from '../errors';
import type { TensorProto } from './proto';
import { TensorProto_DataLocation } from './proto';

export interface ExternalRef { location: string; offset: number; length?: number }

export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === TensorProto_DataLocation.EXTERNAL;
}

export function externalRef(t: TensorProto, modelFile?: string): ExternalRef {
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new OnnxFormatError(modelFile, `tensor '${t.name}' is external but has no location`);
  const num = (key: string): number | undefined => {
    const v = kv.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new OnnxFormatError(modelFile, `tensor '${t.name}' has a bad external ${key} '${v}'`);
    return Number(v);
  };
  return { location, offset: num('offset') ?? 0, length: num('length') };
}

function unsafe(location: string, why: string, modelDir: string, modelFile?: string): UnsafeExternalDataPath {
  return new UnsafeExternalDataPath(modelFile, `external data location '${location}' ${why}; only files inside ${modelDir} are used`);
}

/**
 * The lexical half of the check, for reading and writing alike: refuses NUL bytes, absolute and drive paths
 * (POSIX, Windows, UNC) and `..` segments. Returns the path segments.
 */
export function checkLocation(location: string, modelDir: string, modelFile?: string): string[] {
  const refuse = (why: string) => unsafe(location, why, modelDir, modelFile);
  if (location.includes('\0')) throw refuse('contains a NUL byte');
  if (path.isAbsolute(location) || path.win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) throw refuse('is an absolute path');
  const parts = location.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse('goes up with ..');
  if (parts.length === 0) throw refuse('names no file');
  return parts;
}

/**
 * Resolves `location` inside `modelDir`, refusing absolute paths, `..` escapes and symlinks that point out.
 * Returns the real path of the data file.
 */
export function resolveExternalPath(modelDir: string, location: string, modelFile?: string): string {
  const parts = checkLocation(location, modelDir, modelFile);
  let root: string;
  let real: string;
  try {
    root = fs.realpathSync(modelDir);
    real = fs.realpathSync(path.join(root, ...parts));
  } catch {
    throw new MissingExternalData(modelFile, `external data file '${location}' not found next to the model`);
  }
  const rel = path.relative(root, real);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw unsafe(location, 'is a link that points outside the model folder', modelDir, modelFile);
  if (!fs.statSync(real).isFile()) throw new MissingExternalData(modelFile, `external data '${location}' is not a file`);
  return real;
}

/** Reads one tensor's bytes from its external file (only those bytes). */
export function readExternalBytes(t: TensorProto, modelDir: string, expectedBytes: number, modelFile?: string): Uint8Array {
  const ref = externalRef(t, modelFile);
  const file = resolveExternalPath(modelDir, ref.location, modelFile);
  const length = ref.length ?? expectedBytes;
  const size = fs.statSync(file).size;
  if (ref.offset + length > size) {
    throw new MissingExternalData(modelFile, `tensor '${t.name}' needs bytes ${ref.offset}..${ref.offset + length} of '${ref.location}', which has ${size}`);
  }
  const out = new Uint8Array(length);
  const fd = fs.openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, ref.offset + done);
      if (n <= 0) throw new MissingExternalData(modelFile, `short read of '${ref.location}'`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
