// Size-only rewrites of a QDQ model (ours, after ONNX Runtime's QDQ format): a bias scale that is exactly
// s_input · s_weight becomes a Mul of those two initializers, which onnxruntime's constant folding turns
// back into a tensor at load time, before its QDQ fusions; attributes equal to their ONNX defaults are
// dropped. The model computes the same values; only the file is smaller.
import type { AttributeProto, GraphProto, ModelProto, NodeProto } from '../onnx/proto';
import { clone, ModelProtoSchema } from '../onnx/proto';
import { node } from '../onnx/build';
import { freshName, indexGraph, usedNames, type GraphIndex } from '../onnx/graph';
import { tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import { DataType } from '../onnx/dtypes';
import { STATIC_RULES } from './rules';

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
    // "If not present, should be inferred from input W."
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

/** The constant float scale initializer of the DequantizeLinear producing `tensor`, if any. */
function dqScale(tensor: string, index: GraphIndex): string | undefined {
  const dq = index.producer.get(tensor);
  if (dq?.opType !== 'DequantizeLinear') return undefined;
  const s = dq.input[1];
  return index.constants.get(s)?.dataType === DataType.FLOAT ? s : undefined;
}

/** Replaces stored int32-bias scales that equal fround(s_input · s_weight) by a Mul of those two scales. */
function deriveBiasScales(g: GraphProto, index: GraphIndex, src: TensorSource): void {
  const names = usedNames(g);
  const replaced = new Set<string>();
  const muls = new Map<NodeProto, NodeProto>();
  const derived = new Map<string, string>();
  for (const n of g.node) {
    const rule = n.domain === '' ? STATIC_RULES[n.opType] : undefined;
    if (rule?.role !== 'weighted' || rule.biasInput === undefined || !n.input[rule.biasInput]) continue;
    const bDq = index.producer.get(n.input[rule.biasInput]);
    const sx = dqScale(n.input[0], index);
    const sw = dqScale(n.input[rule.weightInput!], index);
    const sb = bDq && dqScale(bDq.output[0], index);
    if (!bDq || !sx || !sw || !sb || index.constants.get(bDq.input[0])?.dataType !== DataType.INT32) continue;
    const x = tensorValues(index.constants.get(sx)!, src)[0];
    const w = tensorValues(index.constants.get(sw)!, src);
    const b = tensorValues(index.constants.get(sb)!, src);
    // float32 × float32 is exact in float64, so fround gives the float32 product onnxruntime's Mul computes.
    if (w.length !== b.length || !b.every((v, c) => v === Math.fround(x * w[c]))) continue;
    const key = `${sx}\u0000${sw}`;
    let product = derived.get(key);
    if (!product) {
      product = freshName(names, `${sb}m`);
      derived.set(key, product);
      muls.set(bDq, node('Mul', [sx, sw], [product]));
    }
    bDq.input[1] = product;
    replaced.add(sb);
  }
  g.node = g.node.flatMap((n) => (muls.has(n) ? [muls.get(n)!, n] : [n]));
  dropUnusedConstants(g, replaced);
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
export function compactQdq(proto: ModelProto, src: TensorSource = {}): ModelProto {
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  const index = indexGraph(g);
  dropDefaultAttributes(g, index);
  deriveBiasScales(g, index, src);
  return out;
}
