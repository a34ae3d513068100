// Reading ONNX models: protobuf decode with @bufbuild/protobuf (onnx-buf schema), unknown fields kept,
// raw_data left as views into the file buffer (no copy), and structural checks that turn corrupt input into
// OnnxFormatError instead of crashes later. For read-only work on big files, openModelLazy walks the protobuf
// wire format (protobuf.dev/programming-guides/encoding) to leave large initializers' raw_data in the file.
import fs from 'node:fs';
import path from 'node:path';
import { OnnxFormatError } from '../errors';
import { isExternal } from './externalData';
import { clone, fromBinary, GraphProtoSchema, ModelProtoSchema, TensorProtoSchema, type GraphProto, type ModelProto, type TensorProto } from './proto';
import { checkTensorData, deferRawData, rawBytes, type DeferredFile, type TensorSource } from './tensor';

export interface Model extends TensorSource {
  proto: ModelProto;
  /** Absolute path of the .onnx file, when read from disk. */
  file?: string;
  /** Folder that external-data locations are resolved against. */
  dir?: string;
  /** Size of the .onnx file (not counting external data). */
  fileBytes: number;
}

export async function readModel(file: string): Promise<Model> {
  const abs = path.resolve(file);
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(abs);
  } catch (e) {
    throw cannotRead(file, e);
  }
  return decodeModel(bytes, { file: abs, dir: path.dirname(abs) });
}

export function readModelSync(file: string): Model {
  const abs = path.resolve(file);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(abs);
  } catch (e) {
    throw cannotRead(file, e);
  }
  return decodeModel(bytes, { file: abs, dir: path.dirname(abs) });
}

function cannotRead(file: string, e: unknown): OnnxFormatError {
  const code = (e as NodeJS.ErrnoException).code;
  return new OnnxFormatError(file, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a model file' : `cannot read (${code ?? e})`);
}

/** A model whose large raw_data stays in its file, read per tensor on demand until close(). */
export interface LazyModel extends Model {
  close(): void;
}

/**
 * Opens a model for reading only: its structure is decoded, but the raw_data of initializers of at least
 * `minDeferredBytes` stays in the file and is read per tensor on demand (rawBytes, tensorValues) through a
 * descriptor kept open until close(). Holding a big model's weights in memory costs a page fault per 4 KiB on
 * top of the copy, and a scan of the weights needs each of them only once. Those tensors' rawData fields are
 * empty, so the model must not be written or edited. Anything the wire walk does not expect falls back to
 * readModelSync, which also reports corrupt files.
 */
export function openModelLazy(file: string, minDeferredBytes = 1 << 16): LazyModel {
  const abs = path.resolve(file);
  const eager = (): LazyModel => ({ ...readModelSync(file), close() {} });
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch {
    return eager();
  }
  const source: DeferredFile = { file: abs, fd };
  const close = () => {
    if (source.fd !== undefined) fs.closeSync(source.fd);
    source.fd = undefined;
  };
  try {
    const stat = fs.fstatSync(fd);
    const proto = stat.isFile() ? skeleton(new FileCursor(fd, stat.size), source, minDeferredBytes) : undefined;
    if (!proto) {
      close();
      return eager();
    }
    const model: LazyModel = { proto, file: abs, dir: path.dirname(abs), fileBytes: stat.size, close };
    validateModel(model);
    return model;
  } catch (e) {
    close();
    throw e;
  }
}

/** Positioned reads of a file through a small window: the wire walk reads field headers and skips weights. */
class FileCursor {
  private window = Buffer.allocUnsafe(1 << 13);
  private start = 0;
  private end = 0;

  constructor(private fd: number, readonly size: number) {}

  private byte(pos: number): number {
    if (pos < this.start || pos >= this.end) {
      this.start = pos;
      this.end = pos + fs.readSync(this.fd, this.window, 0, this.window.length, pos);
      if (this.end <= pos) throw new RangeError('read past the end of the file');
    }
    return this.window[pos - this.start];
  }

  /** A varint at `pos` and the position after it, or undefined when it runs past `limit`. */
  private varint(pos: number, limit: number): { value: number; next: number } | undefined {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (pos >= limit) return undefined;
      const b = this.byte(pos++);
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return { value, next: pos };
    }
    return undefined;
  }

  /** The field starting at `pos`: its number, wire type, where a length-delimited payload starts, and its end. */
  field(pos: number, limit: number): { number: number; wireType: number; payload: number; end: number } | undefined {
    const tag = this.varint(pos, limit);
    if (!tag) return undefined;
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let payload = tag.next;
    let end: number;
    if (wireType === 0) end = this.varint(tag.next, limit)?.next ?? Infinity;
    else if (wireType === 1) end = tag.next + 8;
    else if (wireType === 5) end = tag.next + 4;
    else if (wireType === 2) {
      const length = this.varint(tag.next, limit);
      if (!length) return undefined;
      payload = length.next;
      end = payload + length.value;
    } else return undefined;
    return end <= limit ? { number, wireType, payload, end } : undefined;
  }

  bytes(from: number, to: number): Uint8Array {
    if (from >= this.start && to <= this.end) return this.window.subarray(from - this.start, to - this.start);
    const out = Buffer.allocUnsafe(to - from);
    for (let done = 0; done < out.length;) {
      const n = fs.readSync(this.fd, out, done, out.length - done, from + done);
      if (n === 0) throw new RangeError('read past the end of the file');
      done += n;
    }
    return out;
  }
}

// Field numbers in onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const LENGTH_DELIMITED = 2;
/** Offset that keeps the counts of GraphProto fields apart from ModelProto's in one map. */
const GRAPH_FIELD = 1 << 30;

/** Copies of the fields between `from` and `to`, less those `skip` claims; undefined if the walk fails. */
function walkFields(cur: FileCursor, from: number, to: number, skip: (f: { number: number; wireType: number; payload: number; end: number }) => boolean | undefined): Uint8Array | undefined {
  const kept: Uint8Array[] = [];
  let length = 0;
  for (let pos = from; pos < to;) {
    const f = cur.field(pos, to);
    if (!f) return undefined;
    const claimed = skip(f);
    if (claimed === undefined) return undefined;
    if (!claimed) {
      const bytes = cur.bytes(pos, f.end);
      kept.push(Uint8Array.from(bytes));
      length += bytes.length;
    }
    pos = f.end;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const k of kept) {
    out.set(k, at);
    at += k.length;
  }
  return out;
}

/**
 * The model decoded without the raw_data of large initializers, whose file spans are recorded instead
 * (deferRawData). Undefined when the file is not laid out as expected (a repeated graph or raw_data field,
 * groups, truncation, bad protobuf): the caller then reads it whole.
 */
function skeleton(cur: FileCursor, source: DeferredFile, minDeferredBytes: number): ModelProto | undefined {
  try {
    let graphSpan: { payload: number; end: number } | undefined;
    let twoGraphs = false;
    const seen = new Map<number, number>();
    const count = (field: number) => seen.set(field, (seen.get(field) ?? 0) + 1);
    const modelBytes = walkFields(cur, 0, cur.size, (f) => {
      count(f.number);
      if (f.number !== MODEL_GRAPH) return false;
      twoGraphs ||= graphSpan !== undefined || f.wireType !== LENGTH_DELIMITED;
      graphSpan = f;
      return true;
    });
    if (!modelBytes || !graphSpan || twoGraphs) return undefined;

    // Initializers whose raw_data stays in the file, with their place among all initializers.
    const deferred: { index: number; tensor: TensorProto }[] = [];
    let initializers = 0;
    const graphBytes = walkFields(cur, graphSpan.payload, graphSpan.end, (f) => {
      count(GRAPH_FIELD + f.number);
      if (f.number !== GRAPH_INITIALIZER || f.wireType !== LENGTH_DELIMITED) return false;
      const index = initializers++;
      if (f.end - f.payload < minDeferredBytes) return false;
      const tensor = tensorWithoutRawData(cur, f.payload, f.end, source);
      if (tensor === null) return undefined;
      if (tensor) deferred.push({ index, tensor });
      return !!tensor;
    });
    if (!modelBytes || !graphBytes) return undefined;

    const proto = fromBinary(ModelProtoSchema, modelBytes, { readUnknownFields: true });
    const graph = fromBinary(GraphProtoSchema, graphBytes, { readUnknownFields: true });
    // A field whose wire type does not match its schema can make the decoder read on past the end of its
    // message, into bytes that differ here from the file: then the repeated fields decoded disagree with the walk.
    const counts: [number, unknown[]][] = [
      [8, proto.opsetImport], [14, proto.metadataProps], [25, proto.functions],
      [GRAPH_FIELD + 1, graph.node], [GRAPH_FIELD + 11, graph.input], [GRAPH_FIELD + 12, graph.output], [GRAPH_FIELD + 13, graph.valueInfo],
    ];
    if (graph.initializer.length + deferred.length !== initializers || counts.some(([field, list]) => list.length !== (seen.get(field) ?? 0))) return undefined;
    for (const { index, tensor } of deferred) graph.initializer.splice(index, 0, tensor);
    proto.graph = graph;
    return proto;
  } catch {
    return undefined;
  }
}

/** A TensorProto decoded without its raw_data, whose span is recorded; undefined if it has none, null on failure. */
function tensorWithoutRawData(cur: FileCursor, from: number, to: number, source: DeferredFile): TensorProto | undefined | null {
  let raw: { payload: number; end: number } | undefined;
  let twoRaws = false;
  const bytes = walkFields(cur, from, to, (f) => {
    if (f.number !== TENSOR_RAW_DATA) return false;
    twoRaws ||= raw !== undefined || f.wireType !== LENGTH_DELIMITED;
    raw = f;
    return true;
  });
  if (!bytes || twoRaws) return null;
  if (!raw) return undefined;
  const tensor = fromBinary(TensorProtoSchema, bytes, { readUnknownFields: true });
  deferRawData(tensor, source, raw.payload, raw.end - raw.payload);
  return tensor;
}

/** Decodes model bytes; `source` says where external data lives. */
export function decodeModel(bytes: Uint8Array, source: TensorSource = {}): Model {
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes, { readUnknownFields: true });
  } catch (e) {
    throw new OnnxFormatError(source.file, `not a valid ONNX model (protobuf: ${(e as Error).message})`);
  }
  const model: Model = { proto, file: source.file, dir: source.dir, fileBytes: bytes.length };
  validateModel(model);
  return model;
}

function validateModel(model: Model): void {
  const { proto, file } = model;
  if (!proto.graph) throw new OnnxFormatError(file, 'not an ONNX model: it has no graph');
  if (proto.irVersion <= 0n) throw new OnnxFormatError(file, 'not an ONNX model: ir_version is missing');
  if (proto.graph.node.length === 0 && proto.graph.initializer.length === 0 && proto.graph.output.length === 0) {
    throw new OnnxFormatError(file, 'the graph is empty');
  }
  forEachGraph(proto.graph, (g) => validateGraph(g, model));
}

function validateGraph(g: GraphProto, model: Model): void {
  for (const t of g.initializer) checkTensorData(t, `initializer '${t.name}'`, model.file);
  for (const n of g.node) {
    if (!n.opType) throw new OnnxFormatError(model.file, `node '${n.name}' has no op_type`);
    // Constant-node values and other tensor attributes carry weights too (the PaddleOCR models keep all weights there).
    for (const a of n.attribute) {
      if (a.t) checkTensorData(a.t, `tensor attribute '${a.name}' of node '${n.name || n.opType}'`, model.file);
      for (const t of a.tensors) checkTensorData(t, `tensor attribute '${a.name}' of node '${n.name || n.opType}'`, model.file);
    }
  }
}

/** Calls fn for the graph and every subgraph (If/Loop/Scan bodies, any graph-valued attribute), depth first. */
export function forEachGraph(g: GraphProto, fn: (g: GraphProto, depth: number) => void, depth = 0): void {
  fn(g, depth);
  for (const n of g.node) {
    for (const a of n.attribute) {
      if (a.g) forEachGraph(a.g, fn, depth + 1);
      for (const sub of a.graphs) forEachGraph(sub, fn, depth + 1);
    }
  }
}

/** The opset version of the default ONNX domain. */
export function opsetVersion(proto: ModelProto, domain = ''): number {
  const entry = proto.opsetImport.find((o) => o.domain === domain || (domain === '' && o.domain === 'ai.onnx'));
  return entry ? Number(entry.version) : 0;
}

/**
 * The model with every external tensor's bytes read into raw_data (a copy; the model itself when nothing is
 * external). onnxruntime sessions created from bytes in memory cannot resolve `location`s against the model's
 * folder, so a model that the compression pipelines run in onnxruntime carries its weights inline.
 */
export function inlineExternalData(proto: ModelProto, src: TensorSource): ModelProto {
  let external = false;
  forEachGraph(proto.graph!, (g) => { external ||= g.initializer.some(isExternal); });
  if (!external) return proto;
  const out = clone(ModelProtoSchema, proto);
  forEachGraph(out.graph!, (g) => {
    for (const t of g.initializer.filter(isExternal)) {
      t.rawData = rawBytes(t, src) as Uint8Array<ArrayBuffer>;
      t.externalData = [];
      t.dataLocation = 0;
    }
  });
  return out;
}
