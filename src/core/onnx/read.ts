// Reading ONNX models: protobuf decode with @bufbuild/protobuf (onnx-buf schema), unknown fields kept,
// raw_data left as views into the file buffer (no copy), and structural checks that turn corrupt input into
// OnnxFormatError instead of crashes later.
import fs from 'node:fs';
import path from 'node:path';
import { OnnxFormatError } from '../errors';
import { dtypeInfo, dtypeName } from './dtypes';
import { isExternal } from './externalData';
import { fromBinary, ModelProtoSchema, type GraphProto, type ModelProto } from './proto';
import { tensorByteLength, tensorNumel, type TensorSource } from './tensor';

export interface Model extends TensorSource {
  proto: ModelProto;
  /** Absolute path of the .onnx file, when read from disk. */
  file?: string;
  /** Folder that external-data locations are resolved against. */
  dir?: string;
  /** Size of the .onnx file (not counting external data). */
  fileBytes: number;
}

/** Largest element count accepted for one tensor (guards against hostile dims). */
const MAX_TENSOR_ELEMENTS = 2 ** 40;

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
  for (const t of g.initializer) {
    const where = `initializer '${t.name}'`;
    if (!dtypeInfo(t.dataType)) throw new OnnxFormatError(model.file, `${where} has unknown element type ${t.dataType}`);
    for (const d of t.dims) if (d < 0n) throw new OnnxFormatError(model.file, `${where} has a negative dimension`);
    const n = tensorNumel(t);
    if (!Number.isFinite(n) || n > MAX_TENSOR_ELEMENTS) throw new OnnxFormatError(model.file, `${where} claims ${n} elements`);
    if (isExternal(t) || t.dataType === 8 /* STRING */) continue;
    const typed = t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length + t.uint64Data.length;
    if (t.rawData.length > 0 && t.rawData.length !== tensorByteLength(t)) {
      throw new OnnxFormatError(model.file, `${where} (${dtypeName(t.dataType)} [${t.dims.join(',')}]) has ${t.rawData.length} bytes of raw_data, expected ${tensorByteLength(t)}`);
    }
    if (t.rawData.length === 0 && typed === 0 && n > 0) {
      throw new OnnxFormatError(model.file, `${where} has no data`);
    }
  }
  for (const n of g.node) {
    if (!n.opType) throw new OnnxFormatError(model.file, `node '${n.name}' has no op_type`);
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
