// Per-operator quantization rules (after ONNX Runtime's QDQ registry and the node-unit selectors its CPU
// provider fuses into QLinearConv / QLinearAdd / QGemm / …): which inputs carry activations or weights,
// the per-channel axis of the weight, and whether the output must be quantized for the fusion to apply.
import { attrInt } from '../onnx/build';
import type { NodeProto } from '../onnx/proto';

export type QuantRole =
  /** activation input(s) + constant weight (+ bias), e.g. Conv → QLinearConv */
  | 'weighted'
  /** every data input and the output get their own parameters (Add → QLinearAdd, Concat → QLinearConcat); none may be constant */
  | 'elementwise'
  /** one activation in, one out, each with its own parameters (GlobalAveragePool → QLinearGlobalAveragePool) */
  | 'pool'
  /** the output reuses the input's parameters, so Q/DQ around it cancel (MaxPool, Reshape, …) */
  | 'shared'
  /** an activation the producer's output range can absorb (removed when safe) */
  | 'removable';

export interface OpRule {
  role: QuantRole;
  /** input slots that carry activations (default [0]) */
  activationInputs?: number[];
  /** input slot of the constant weight */
  weightInput?: number;
  /** input slot of the bias (quantized to int32 with scale s_input · s_weight) */
  biasInput?: number;
  /** per-channel axis of the weight (output channels) */
  weightAxis?: (n: NodeProto) => number;
  /** axis of the weight that is summed over (input channels / K): where block-wise quantization cuts blocks */
  reductionAxis?: (n: NodeProto) => number;
  /** the fused kernel also accepts a float output (QGemm, MatMulIntegerToFloat): quantize it only when a consumer needs it */
  floatOutputOk?: boolean;
  /**
   * onnxruntime fuses it when zero points of 0 are left out (the default of QuantizeLinear / DequantizeLinear):
   * weight and bias zero points, and uint8 activation zero points. Checked on onnxruntime 1.30; QGemm and the
   * Q/DQ pairs dropped around shared ops still need them written out.
   */
  implicitZeroPoints?: boolean;
}

const SHARED: OpRule = { role: 'shared' };

export const STATIC_RULES: Record<string, OpRule> = {
  Conv: { role: 'weighted', weightInput: 1, biasInput: 2, weightAxis: () => 0, reductionAxis: () => 1, implicitZeroPoints: true },
  Gemm: { role: 'weighted', weightInput: 1, biasInput: 2, weightAxis: (n) => (attrInt(n, 'transB', 0) ? 0 : 1), reductionAxis: (n) => (attrInt(n, 'transB', 0) ? 1 : 0), floatOutputOk: true },
  MatMul: { role: 'weighted', weightInput: 1, weightAxis: () => -1, reductionAxis: () => -2, floatOutputOk: true },
  Add: { role: 'elementwise', activationInputs: [0, 1], implicitZeroPoints: true },
  Concat: { role: 'elementwise', activationInputs: [] },
  GlobalAveragePool: { role: 'pool', implicitZeroPoints: true },
  AveragePool: { role: 'pool' },
  MaxPool: SHARED,
  Reshape: SHARED,
  Flatten: SHARED,
  Transpose: SHARED,
  Squeeze: SHARED,
  Unsqueeze: SHARED,
  Relu: { role: 'removable' },
  Clip: { role: 'removable' },
};

/** Input slots of `n` that carry activations under `rule` (Concat: all of them). */
export function activationSlots(n: NodeProto, rule: OpRule): number[] {
  if (rule.role === 'elementwise' && rule.activationInputs?.length === 0) return n.input.map((_, i) => i);
  return rule.activationInputs ?? [0];
}

/** Ops whose constant weight weight-only and dynamic quantization compress, with the output-channel axis. */
export const WEIGHT_RULES: Record<string, OpRule> = {
  Conv: STATIC_RULES.Conv,
  Gemm: STATIC_RULES.Gemm,
  MatMul: STATIC_RULES.MatMul,
};
