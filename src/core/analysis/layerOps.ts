// Per-operator facts the analysis needs, from the ONNX operator spec and ORT's contrib-op docs: which inputs
// hold weights (and their scale/zero-point inputs for integer ops), the output-channel axis of the main
// weight, the scheme an integer op implies, and the multiply-accumulate count.
import { attrInt } from '../onnx/build';
import type { NodeProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import type { QuantScheme, WeightInfo } from './report';

export interface WeightSlot {
  input: number;
  role: WeightInfo['role'];
  /** input slots of this weight's scale and zero-point (integer ops that dequantize internally) */
  scale?: number;
  zeroPoint?: number;
}

/** Known shapes at a node (undefined where inference could not tell). */
export interface NodeShapes {
  inputs: (number[] | undefined)[];
  outputs: (number[] | undefined)[];
}

export interface LayerOp {
  weights: WeightSlot[];
  /** axis of the main weight that indexes output channels */
  outAxis: (n: NodeProto, rank: number) => number;
  /** scheme implied by the op itself (integer ops); weights fed through DequantizeLinear/Cast are detected separately */
  scheme?: QuantScheme | ((n: NodeProto, isDynamic: boolean) => QuantScheme);
  /** input slot of the activations (to see whether DynamicQuantizeLinear feeds it) */
  data?: number;
  /** multiply-accumulates at the shapes given; 0 when a shape is unknown */
  macs: (n: NodeProto, s: NodeShapes) => number;
  /** weights may sit in any input (element-wise ops with a constant operand); only non-scalar float constants count */
  anyConstantInput?: WeightInfo['role'];
}

const first = () => 0;
const last = (_n: NodeProto, rank: number) => Math.max(0, rank - 1);
/** Ops whose work is not multiply-accumulates of a weight matrix (normalizations, element-wise scales). */
export const noMacs = () => 0;

/** Conv family: every output element takes (C/group)·∏kernel products = weight elements per output channel. */
const convMacs = (weight: number) => (_n: NodeProto, s: NodeShapes) => {
  const out = s.outputs[0];
  const w = s.inputs[weight];
  return out && w && w[0] ? numel(out) * (numel(w) / w[0]) : 0;
};

/** ConvTranspose: every input element is scattered through (M/group)·∏kernel weights. */
const convTransposeMacs = (_n: NodeProto, s: NodeShapes) => {
  const x = s.inputs[0];
  const w = s.inputs[1];
  return x && w && w[0] ? numel(x) * (numel(w) / w[0]) : 0;
};

/** Matrix products: every output element is a dot product over K = the last axis of A. */
const matmulMacs = (a: number) => (_n: NodeProto, s: NodeShapes) => {
  const out = s.outputs[0];
  const x = s.inputs[a];
  return out && x && x.length ? numel(out) * x[x.length - 1] : 0;
};

const gemmMacs = (n: NodeProto, s: NodeShapes) => {
  const out = s.outputs[0];
  const a = s.inputs[0];
  if (!out || !a || a.length !== 2) return 0;
  return numel(out) * (attrInt(n, 'transA', 0) ? a[0] : a[1]);
};

const matmulNBitsMacs = (n: NodeProto, s: NodeShapes) => {
  const out = s.outputs[0];
  return out ? numel(out) * attrInt(n, 'K', 0) : 0;
};

const convBiasOnly: WeightSlot[] = [{ input: 1, role: 'weight' }, { input: 2, role: 'bias' }];
const dynamicOrInteger = (_n: NodeProto, isDynamic: boolean): QuantScheme => (isDynamic ? 'dynamic' : 'integer');

export const layerOps: Record<string, LayerOp> = {
  Conv: { weights: convBiasOnly, outAxis: first, macs: convMacs(1) },
  ConvTranspose: { weights: convBiasOnly, outAxis: () => 1, macs: convTransposeMacs },
  Gemm: { weights: [{ input: 1, role: 'weight' }, { input: 2, role: 'bias' }], outAxis: (n) => (attrInt(n, 'transB', 0) ? 0 : 1), macs: gemmMacs },
  MatMul: { weights: [{ input: 1, role: 'weight' }], outAxis: last, macs: matmulMacs(0) },
  BatchNormalization: {
    weights: [{ input: 1, role: 'weight' }, { input: 2, role: 'bias' }, { input: 3, role: 'other' }, { input: 4, role: 'other' }],
    outAxis: first, macs: noMacs,
  },
  InstanceNormalization: { weights: [{ input: 1, role: 'weight' }, { input: 2, role: 'bias' }], outAxis: first, macs: noMacs },
  LayerNormalization: { weights: [{ input: 1, role: 'weight' }, { input: 2, role: 'bias' }], outAxis: first, macs: noMacs },
  PRelu: { weights: [], outAxis: first, macs: noMacs, anyConstantInput: 'weight' },
  Mul: { weights: [], outAxis: first, macs: noMacs, anyConstantInput: 'weight' },
  Div: { weights: [], outAxis: first, macs: noMacs, anyConstantInput: 'weight' },
  Add: { weights: [], outAxis: first, macs: noMacs, anyConstantInput: 'bias' },
  Sub: { weights: [], outAxis: first, macs: noMacs, anyConstantInput: 'bias' },
  QLinearConv: {
    weights: [{ input: 3, role: 'weight', scale: 4, zeroPoint: 5 }, { input: 8, role: 'bias' }],
    outAxis: first, scheme: 'qoperator', macs: convMacs(3),
  },
  QLinearMatMul: { weights: [{ input: 3, role: 'weight', scale: 4, zeroPoint: 5 }], outAxis: last, scheme: 'qoperator', macs: matmulMacs(0) },
  ConvInteger: { weights: [{ input: 1, role: 'weight', zeroPoint: 3 }], outAxis: first, scheme: dynamicOrInteger, data: 0, macs: convMacs(1) },
  MatMulInteger: { weights: [{ input: 1, role: 'weight', zeroPoint: 3 }], outAxis: last, scheme: dynamicOrInteger, data: 0, macs: matmulMacs(0) },
  'com.microsoft.QGemm': {
    weights: [{ input: 3, role: 'weight', scale: 4, zeroPoint: 5 }, { input: 6, role: 'bias' }],
    outAxis: (n) => (attrInt(n, 'transB', 0) ? 0 : 1), scheme: 'qoperator', macs: gemmMacs,
  },
  'com.microsoft.MatMulNBits': {
    weights: [{ input: 1, role: 'weight', scale: 2, zeroPoint: 3 }, { input: 5, role: 'bias' }],
    outAxis: first, scheme: 'weight-only', macs: matmulNBitsMacs,
  },
};

export function layerOpKey(n: NodeProto): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}.${n.opType}`;
}
