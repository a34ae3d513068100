// Hard-swish as exporters write it before opset 14 (MobileNetV3, Howard et al. 2019: x · ReLU6(x + 3) / 6,
// e.g. Paddle2ONNX's Add → Clip(0, 6) → Mul → Div) rewritten as the single ONNX HardSwish operator of opset 14,
// x · max(0, min(1, x/6 + 1/2)). In a QDQ model the function stays in float between a DequantizeLinear and a
// QuantizeLinear (onnxruntime has no integer kernel for it); onnxruntime runs HardSwish as HardSigmoid · x,
// two kernels instead of four, and the file is smaller.
import { UnsupportedOperator } from '../errors';
import { node } from '../onnx/build';
import { indexGraph, type GraphIndex } from '../onnx/graph';
import { upgradeOpset } from '../onnx/opsetUpgrade';
import { clone, ModelProtoSchema, type GraphProto, type ModelProto, type NodeProto } from '../onnx/proto';
import { opsetVersion } from '../onnx/read';
import { tensorNumel, tensorValues, type TensorSource } from '../onnx/tensor';
import { dropUnusedConstants } from './compact';

interface HardSwishMatch { x: string; nodes: NodeProto[]; output: string }

/** The value of a constant of shape [] or [1], else undefined (a [1,1,1,1] constant could broadcast x to a higher rank). */
function scalarConstant(name: string | undefined, index: GraphIndex, src: TensorSource): number | undefined {
  const t = name ? index.constants.get(name) : undefined;
  return t && tensorNumel(t) === 1 && t.dims.length <= 1 ? Number(tensorValues(t, src)[0]) : undefined;
}

/** The only consumer of `tensor` when it has exactly one and is not a graph output. */
function soleConsumer(tensor: string, index: GraphIndex, opType: string): NodeProto | undefined {
  const users = index.consumers.get(tensor);
  return users?.length === 1 && users[0].opType === opType && users[0].domain === '' && !index.graphOutputs.has(tensor) ? users[0] : undefined;
}

/** Add(x, 3) → Clip(·, 0, 6) → Mul(x, ·) → Div(·, 6) (or Mul(·, 1/6)) starting at `add`. */
function matchAt(add: NodeProto, index: GraphIndex, src: TensorSource): HardSwishMatch | undefined {
  if (add.opType !== 'Add' || add.domain !== '') return undefined;
  const constSlot = add.input.findIndex((i) => scalarConstant(i, index, src) === 3);
  if (constSlot < 0) return undefined;
  const x = add.input[1 - constSlot];
  const clip = soleConsumer(add.output[0], index, 'Clip');
  if (!clip || scalarConstant(clip.input[1], index, src) !== 0 || scalarConstant(clip.input[2], index, src) !== 6) return undefined;
  const mul = soleConsumer(clip.output[0], index, 'Mul');
  if (!mul || !mul.input.includes(x)) return undefined;
  const scaleDiv = soleConsumer(mul.output[0], index, 'Div');
  const scaleMul = soleConsumer(mul.output[0], index, 'Mul');
  const last = scaleDiv && scaleDiv.input[0] === mul.output[0] && scalarConstant(scaleDiv.input[1], index, src) === 6 ? scaleDiv
    : scaleMul && scaleMul.input.some((i) => scalarConstant(i, index, src) === Math.fround(1 / 6)) ? scaleMul : undefined;
  return last && { x, nodes: [add, clip, mul, last], output: last.output[0] };
}

function findMatches(g: GraphProto, src: TensorSource): HardSwishMatch[] {
  const index = indexGraph(g);
  return g.node.map((n) => matchAt(n, index, src)).filter((m): m is HardSwishMatch => !!m);
}

/**
 * A copy with every written-out hard-swish replaced by HardSwish (the default-domain opset raised to 14 when
 * lower), or the model itself when it has none or cannot be raised to opset 14. Only the top-level graph is rewritten.
 */
export function fuseHardSwish(proto: ModelProto, src: TensorSource = {}): ModelProto {
  if (findMatches(proto.graph!, src).length === 0) return proto;
  let out: ModelProto;
  try {
    out = opsetVersion(proto) < 14 ? upgradeOpset(proto, 14, src) : clone(ModelProtoSchema, proto);
  } catch (e) {
    // An operator the upgrade table does not cover: the fusion only saves time, so keep the model as it is.
    if (e instanceof UnsupportedOperator) return proto;
    throw e;
  }
  const g = out.graph!;
  const replaced = new Map<NodeProto, NodeProto | undefined>();
  for (const m of findMatches(g, src)) {
    const [add, , mul] = m.nodes;
    m.nodes.forEach((n) => replaced.set(n, undefined));
    replaced.set(add, node('HardSwish', [m.x], [m.output], {}, mul.name || add.name));
  }
  g.node = g.node.flatMap((n) => (replaced.has(n) ? (replaced.get(n) ? [replaced.get(n)!] : []) : [n]));
  dropUnusedConstants(g, new Set([...replaced.keys()].flatMap((n) => n.input)));
  return out;
}
