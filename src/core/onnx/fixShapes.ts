// Static input shapes and shape-subgraph folding, the constant folding onnx-simplifier and onnxruntime's
// ConstantFolding do once input dims are fixed: the shape inference of shapes.ts (the ONNX operator spec's shape
// rules) knows the value of every small integer tensor (Shape → Gather/Slice → Concat → Reshape, Cast, Unsqueeze,
// constant arithmetic); nodes whose outputs are all such known values become initializers, and nodes nothing reads
// any more are removed.
import { UsageError } from '../errors';
import { dropUnusedConstants } from '../quantize/compact';
import { DataType } from './dtypes';
import { indexGraph } from './graph';
import {
  clone, create, ModelProtoSchema, TensorShapeProto_DimensionSchema, TensorShapeProtoSchema, type ModelProto, type TensorProto, type ValueInfoProto,
} from './proto';
import { inferShapes, isKnown, numel, type Dim } from './shapes';
import { makeTensor, type TensorSource } from './tensor';

export interface FixShapesResult {
  proto: ModelProto;
  /** nodes replaced by the constant they compute */
  folded: number;
  /** nodes removed because nothing read their outputs any more (Shape, Constant, …) */
  removed: number;
}

const FOLDABLE_TYPES = new Set<number>([DataType.INT64, DataType.INT32, DataType.FLOAT]);

function declaredDims(v: ValueInfoProto): Dim[] | undefined {
  if (v.type?.value.case !== 'tensorType') return undefined;
  return v.type.value.value.shape?.dim.map((d, i): Dim => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' && d.value.value ? d.value.value : `?${i}`));
}

function setDims(v: ValueInfoProto, dims: readonly number[]): void {
  if (v.type?.value.case !== 'tensorType') return;
  v.type.value.value.shape = create(TensorShapeProtoSchema, {
    dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } })),
  });
}

/** A `--shape` suggestion for an input: the batch as 1, known dims as they are, NCHW letters for the others. */
export function shapeHint(name: string, dims: readonly Dim[]): string {
  const letters = dims.length === 4 ? ['1', 'C', 'H', 'W'] : dims.map((_, i) => (i === 0 ? '1' : `D${i}`));
  return `--shape ${name}=${dims.map((d, i) => (typeof d === 'number' ? String(d) : letters[i])).join(',')}`;
}

/** Graph inputs (not initializers) whose dims other than the leading batch dim are symbolic, with their dims. */
export function symbolicInputs(proto: ModelProto): { name: string; dims: Dim[] }[] {
  const g = proto.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const out: { name: string; dims: Dim[] }[] = [];
  for (const v of g.input) {
    const dims = declaredDims(v);
    if (!inits.has(v.name) && dims && dims.slice(1).some((d) => typeof d === 'string')) out.push({ name: v.name, dims });
  }
  return out;
}

/**
 * A copy of `proto` with input dims fixed — `inputShapes` where given, a symbolic batch dim as 1 — and its shape
 * subgraphs folded to constants. Throws a UsageError naming `file` when a shape does not fit its input or an input
 * still has symbolic dims besides the batch.
 */
export function fixShapes(proto: ModelProto, inputShapes: Record<string, readonly number[]>, opts: { file?: string; source?: TensorSource } = {}): FixShapesResult {
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  const inits = new Set(g.initializer.map((t) => t.name));
  const inputs = g.input.filter((v) => !inits.has(v.name));
  for (const name of Object.keys(inputShapes)) {
    if (!inputs.some((v) => v.name === name)) throw new UsageError(opts.file, `--shape names '${name}', which is not an input of the model (inputs: ${inputs.map((v) => v.name).join(', ')})`);
  }
  for (const v of inputs) {
    const dims = declaredDims(v);
    if (!dims) continue;
    const given = inputShapes[v.name];
    if (given) {
      const fits = given.length === dims.length && given.every((d, i) => typeof dims[i] !== 'number' || dims[i] === d);
      if (!fits) throw new UsageError(opts.file, `--shape ${v.name}=${given.join(',')} does not fit input '${v.name}' of shape [${dims.join(', ')}]`);
      setDims(v, given);
    } else if (dims.slice(1).some((d) => typeof d === 'string')) {
      throw new UsageError(opts.file, `input '${v.name}' has symbolic dims [${dims.join(', ')}]: give its size with ${shapeHint(v.name, dims)} (numbers for the letters)`);
    } else if (typeof dims[0] === 'string') {
      setDims(v, [1, ...(dims.slice(1) as number[])]);
    }
  }

  const info = inferShapes(g, { source: opts.source });
  const outputs = new Set(g.output.map((v) => v.name));
  const folded: TensorProto[] = [];
  let foldedNodes = 0;
  g.node = g.node.filter((n) => {
    if (n.opType === 'Constant' || n.output.length === 0) return true;
    const known = n.output.every((o) => {
      const t = info.types.get(o);
      const v = info.values.get(o);
      // An integer tensor must hold integers (shapes.ts passes values through Cast unchanged).
      const fits = v && (t?.dtype === DataType.FLOAT || v.every(Number.isInteger));
      return o && !outputs.has(o) && fits && t && FOLDABLE_TYPES.has(t.dtype) && isKnown(t.shape) && numel(t.shape) === v!.length;
    });
    if (!known) return true;
    foldedNodes++;
    for (const o of n.output) folded.push(makeTensor(o, info.types.get(o)!.dtype, info.types.get(o)!.shape as number[], info.values.get(o)!));
    return false;
  });
  g.initializer.push(...folded);

  // Nodes whose outputs nothing reads (the Shape and Constant nodes behind the folded values), until none is left.
  const before = g.node.length;
  for (let changed = true; changed;) {
    const read = new Set<string>([...outputs]);
    for (const n of g.node) n.input.forEach((i) => i && read.add(i));
    const kept = g.node.filter((n) => n.output.some((o) => o && read.has(o)));
    changed = kept.length !== g.node.length;
    g.node = kept;
  }
  const removed = before - g.node.length;
  dropUnusedConstants(g, new Set(g.initializer.map((t) => t.name)));

  // Declared shapes: the inferred static ones where known; stale symbolic ones dropped.
  const types = inferShapes(g, { source: opts.source }, indexGraph(g)).types;
  for (const v of g.output) {
    const s = types.get(v.name)?.shape;
    if (isKnown(s)) setDims(v, s);
  }
  g.valueInfo = g.valueInfo.filter((v) => {
    const s = types.get(v.name)?.shape;
    if (isKnown(s)) setDims(v, s);
    return isKnown(declaredDims(v));
  });
  return { proto: out, folded: foldedNodes, removed };
}
