// Writing ONNX models: protobuf encode (unknown fields written back), atomic replace on disk (temp file +
// rename), and optional external data for large tensors (ONNX external-data format, 4 KiB-aligned offsets).
import fs from 'node:fs';
import path from 'node:path';
import { clone, create, ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, toBinary, type ModelProto } from './proto';
import { forEachGraph } from './read';
import { rawBytes, type TensorSource } from './tensor';
import { checkLocation, isExternal } from './externalData';

export function encodeModel(proto: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, proto, { writeUnknownFields: true });
}

export interface WriteOptions {
  /** Store tensors of at least `threshold` bytes (default 1024) in `location` next to the model. */
  externalData?: { location: string; threshold?: number };
  /** Folder that the source model's external data is read from (when re-writing such a model). */
  source?: TensorSource;
}

/** Writes bytes to `file` atomically: a temp file in the same folder, fsync, then rename over the target. */
export function writeFileAtomic(file: string, data: Uint8Array | readonly Uint8Array[]): void {
  writeFilesAtomic([{ file, data }]);
}

/**
 * Writes several files together: every one goes to a temp file next to its target first (fsync), and only
 * when all are written are they renamed over their targets; if any write fails, no target is touched.
 */
export function writeFilesAtomic(files: readonly { file: string; data: Uint8Array | readonly Uint8Array[] }[]): void {
  const staged: { tmp: string; file: string }[] = [];
  try {
    for (const { file, data } of files) {
      const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
      const fd = fs.openSync(tmp, 'wx');
      staged.push({ tmp, file });
      try {
        for (const chunk of Array.isArray(data) ? data : [data as Uint8Array]) {
          let off = 0;
          while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    for (const { tmp, file } of staged) fs.renameSync(tmp, file);
  } catch (e) {
    for (const { tmp } of staged) fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * writeFileAtomic without blocking the thread (the editor saves on the extension host). `data` may be a
 * generator: if it throws, or any write fails, the temp file is removed and `file` is left as it was.
 */
export async function writeFileAtomicAsync(file: string, data: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const handle = await fs.promises.open(tmp, 'wx');
  try {
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      let off = 0;
      while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
    }
    await handle.sync();
    await handle.close();
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes the model to `file`. Without options, tensors are written as they are (external tensors keep
 * their references). With `externalData`, every tensor of at least `threshold` bytes moves to one data file.
 */
export function writeModel(proto: ModelProto, file: string, options: WriteOptions = {}): void {
  if (!options.externalData) {
    writeFileAtomic(file, encodeModel(proto));
    return;
  }
  const { location, threshold = 1024 } = options.externalData;
  checkLocation(location, path.dirname(path.resolve(file)), file);
  const out = clone(ModelProtoSchema, proto);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  forEachGraph(out.graph!, (g) => {
    for (const t of g.initializer) {
      const bytes = rawBytes(t, options.source);
      if (bytes.length < threshold && !isExternal(t)) continue;
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) { chunks.push(new Uint8Array(pad)); offset += pad; }
      chunks.push(bytes);
      t.rawData = new Uint8Array(0);
      t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = []; t.uint64Data = [];
      t.dataLocation = TensorProto_DataLocation.EXTERNAL;
      t.externalData = [
        create(StringStringEntryProtoSchema, { key: 'location', value: location }),
        create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
        create(StringStringEntryProtoSchema, { key: 'length', value: String(bytes.length) }),
      ];
      offset += bytes.length;
    }
  });
  writeFileAtomic(path.join(path.dirname(path.resolve(file)), location), chunks);
  writeFileAtomic(file, encodeModel(out));
}
