// Reading ONNX models: protobuf decode with @bufbuild/protobuf (onnx-buf schema), unknown fields kept,
// raw_data left as views into the file buffer (no copy), and structural checks that turn corrupt input into
// OnnxFormatError instead of crashes later.
import fs from 'node:fs';
import path from 'node:path';
import { OnnxFormatError } from '../errors';
import { fromBinary, ModelProtoSchema, type GraphProto, type ModelProto } from './proto';
import { checkTensorData, type TensorSource } from './tensor';

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
    const code = (e as NodeJS.ErrnoException).code;
    throw new OnnxFormatError(file, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a model file' : `cannot read (${code ?? e})`);
  }
  return decodeModel(bytes, { file: abs, dir: path.dirname(abs) });
}

export function readModelSync(file: string): Model {
  const abs = path.resolve(file);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(abs);
  } catch (e) {
    throw new OnnxFormatError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return decodeModel(bytes, { file: abs, dir: path.dirname(abs) });
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
