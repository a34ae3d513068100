// Conv → Mul / Add by a constant that is the same across each output channel (scalar, [1], [C,1,1], [1,C,1,1])
// folded into the Conv's weights and bias, as BatchNormalization folding does (Jacob et al. 2018).
// PP-LCNetV3 (the PP-OCRv4 backbone) puts a learnable scale and shift after its convolutions, written as
// Mul(w, x) → Add(x, b), which onnxruntime's own Conv+Mul/Add fusions leave alone (constant first, shape [1]).
// Folded, the Conv quantizes as one unit instead of leaving two float ops between DequantizeLinear and QuantizeLinear.
import { freshName, indexGraph, usedNames, type GraphIndex } from '../onnx/graph';
import { DataType } from '../onnx/dtypes';
import { clone, ModelProtoSchema, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto';
import { makeTensor, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import { dropUnusedConstants } from './compact';

/** y = conv(x) · k  or  conv(x) + k, per output channel */
const FOLDS: Record<string, (w: Float64Array, b: Float64Array, k: (o: number) => number, perOut: number) => void> = {
  Mul: (w, b, k, perOut) => {
    for (let i = 0; i < w.length; i++) w[i] *= k((i / perOut) | 0);
    for (let o = 0; o < b.length; o++) b[o] *= k(o);
  },
  Add: (_w, b, k) => {
    for (let o = 0; o < b.length; o++) b[o] += k(o);
  },
};

/** Value per output channel of a float constant that broadcasts over a Conv output [N, C, …] one value per channel. */
function perChannel(name: string, channels: number, convRank: number, index: GraphIndex, src: TensorSource): ((o: number) => number) | undefined {
  const t = index.constants.get(name);
  if (!t || t.dataType !== DataType.FLOAT) return undefined;
  const dims = tensorDims(t);
  const values = tensorValues(t, src);
  if (dims.length > convRank) return undefined;
  if (values.length === 1) return () => values[0];
  // Right-aligned against [N, C, spatial…]: only the channel axis may differ from 1.
  const channelAxis = dims.length - (convRank - 1);
  const ok = values.length === channels && dims.every((d, i) => (i === channelAxis ? d === channels : d === 1));
  return ok ? (o) => values[o] : undefined;
}

/** The next fold: a Conv with constant weights whose only consumer is a Mul/Add by a per-channel constant. */
function nextFold(g: GraphProto, index: GraphIndex, src: TensorSource): { conv: NodeProto; op: NodeProto; k: (o: number) => number } | undefined {
  for (const conv of g.node) {
    const isFloatConstant = (name: string) => index.constants.get(name)?.dataType === DataType.FLOAT;
    if (conv.opType !== 'Conv' || conv.domain !== '' || !isFloatConstant(conv.input[1])) continue;
    if (conv.input[2] && !isFloatConstant(conv.input[2])) continue;
    const y = conv.output[0];
    const users = index.consumers.get(y) ?? [];
    const op = users[0];
    if (users.length !== 1 || index.graphOutputs.has(y) || op.domain !== '' || !FOLDS[op.opType] || op.input.length !== 2) continue;
    const other = op.input[0] === y ? op.input[1] : op.input[0];
    if (other === y) continue;
    const wDims = tensorDims(index.constants.get(conv.input[1])!);
    const k = perChannel(other, wDims[0], wDims.length, index, src);
    if (k) return { conv, op, k };
  }
  return undefined;
}

/** A copy with every Conv → per-channel Mul/Add folded into the Conv, or the model itself when there is none. */
export function foldConvAffine(proto: ModelProto, src: TensorSource = {}): ModelProto {
  if (!nextFold(proto.graph!, indexGraph(proto.graph!), src)) return proto;
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  const names = usedNames(g);
  const replaced = new Set<string>();
  for (let index = indexGraph(g), f = nextFold(g, index, src); f; index = indexGraph(g), f = nextFold(g, index, src)) {
    const { conv, op, k } = f;
    const wTensor = index.constants.get(conv.input[1])!;
    const dims = tensorDims(wTensor);
    const w = Float64Array.from(tensorValues(wTensor, src));
    const b = conv.input[2] ? Float64Array.from(tensorValues(index.constants.get(conv.input[2])!, src)) : new Float64Array(dims[0]);
    FOLDS[op.opType](w, b, k, w.length / dims[0]);
    const base = conv.name || conv.output[0];
    const wName = freshName(names, `${base}_W`);
    const bName = freshName(names, `${base}_B`);
    g.initializer.push(makeTensor(wName, DataType.FLOAT, dims, Float32Array.from(w)), makeTensor(bName, DataType.FLOAT, [dims[0]], Float32Array.from(b)));
    conv.input.slice(1).forEach((i) => replaced.add(i));
    op.input.forEach((i) => replaced.add(i));
    conv.input = [conv.input[0], wName, bName];
    conv.output[0] = op.output[0];
    g.node = g.node.filter((n) => n !== op);
  }
  dropUnusedConstants(g, replaced);
  return out;
}
