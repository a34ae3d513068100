// Size-only rewrites of a QDQ model (ours): attributes equal to their ONNX defaults are dropped. The model
// computes the same values; only the file is smaller. Every Q/DQ scale stays a constant tensor, as QDQ
// consumers other than onnxruntime (TensorRT, OpenVINO, QNN) require.
import { indexGraph, type GraphIndex } from '../onnx/graph';
import { clone, ModelProtoSchema, type AttributeProto, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto';
import { tensorDims } from '../onnx/tensor';

type DefaultTest = (a: AttributeProto, n: NodeProto, index: GraphIndex) => boolean;

const allEqual = (v: number) => (a: AttributeProto) => a.ints.every((x) => Number(x) === v);

/** The weight's spatial dims, when the weight is a constant (possibly behind DequantizeLinear). */
function kernelDims(n: NodeProto, index: GraphIndex): number[] | undefined {
  const w = n.input[1];
  const dq = index.producer.get(w);
  const t = index.constants.get(dq?.opType === 'DequantizeLinear' ? dq.input[0] : w);
  return t && tensorDims(t).slice(2);
}

/** op type → attribute → is it at the value ONNX assumes when the attribute is absent? */
const DEFAULTS: Record<string, Record<string, DefaultTest>> = {
  Conv: {
    auto_pad: (a) => new TextDecoder().decode(a.s) === 'NOTSET',
    dilations: allEqual(1),
    strides: allEqual(1),
    pads: allEqual(0),
    group: (a) => Number(a.i) === 1,
    // ONNX takes it from the weight's shape when it is absent.
    kernel_shape: (a, n, index) => {
      const dims = kernelDims(n, index);
      return !!dims && dims.length === a.ints.length && dims.every((d, i) => d === Number(a.ints[i]));
    },
  },
};

function dropDefaultAttributes(g: GraphProto, index: GraphIndex): void {
  for (const n of g.node) {
    const table = n.domain === '' ? DEFAULTS[n.opType] : undefined;
    if (table) n.attribute = n.attribute.filter((a) => !table[a.name]?.(a, n, index));
  }
}

/** Removes float weights (initializers or Constant nodes) that nothing reads any more. */
export function dropUnusedConstants(g: GraphProto, candidates: ReadonlySet<string>): void {
  const read = new Set<string>();
  for (const n of g.node) n.input.forEach((i) => read.add(i));
  for (const o of g.output) read.add(o.name);
  const dead = new Set([...candidates].filter((c) => !read.has(c)));
  g.initializer = g.initializer.filter((t) => !dead.has(t.name));
  g.input = g.input.filter((v) => !dead.has(v.name));
  g.node = g.node.filter((n) => !(n.opType === 'Constant' && dead.has(n.output[0])));
}

/** The QDQ model with the size-only rewrites above applied (a copy). */
export function compactQdq(proto: ModelProto): ModelProto {
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  const index = indexGraph(g);
  dropDefaultAttributes(g, index);
  return out;
}
