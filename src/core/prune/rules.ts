// How channels flow through each operator, for structured pruning (the inter-/intra-layer dependency
// rules of DepGraph / Torch-Pruning, applied to ONNX op semantics). An op missing here blocks pruning of
// every channel that reaches it.

export type ChannelFlow =
  /** output channel i depends only on input channel i; `params` = inputs holding one value per channel */
  | { kind: 'preserve'; params?: readonly number[] }
  /** broadcasting binary/variadic ops: activations share channels, per-channel constants are sliced */
  | { kind: 'elementwise' }
  | { kind: 'concat' }
  | { kind: 'split' }
  /** [N, C, H, W] → [N, C·H·W] (Flatten, or a Reshape that does the same) */
  | { kind: 'flatten' }
  /** Conv / Gemm / MatMul: input channels are consumed, output channels produced */
  | { kind: 'layer' };

const preserve: ChannelFlow = { kind: 'preserve' };
const elementwise: ChannelFlow = { kind: 'elementwise' };

export const CHANNEL_FLOW: Readonly<Record<string, ChannelFlow>> = {
  Relu: preserve, LeakyRelu: preserve, Sigmoid: preserve, HardSigmoid: preserve, HardSwish: preserve, Tanh: preserve,
  Elu: preserve, Selu: preserve, Softplus: preserve, Gelu: preserve, Erf: preserve, Identity: preserve, Dropout: preserve,
  Cast: preserve, Abs: preserve, Neg: preserve, Sqrt: preserve, Exp: preserve, Mish: preserve,
  // Clip's min/max are scalars; Pad is only channel-preserving with zero channel pads (checked in channelGroups).
  Clip: preserve, Pad: preserve,
  MaxPool: preserve, AveragePool: preserve, GlobalAveragePool: preserve, GlobalMaxPool: preserve, LpPool: preserve,
  Resize: preserve, Upsample: preserve,
  BatchNormalization: { kind: 'preserve', params: [1, 2, 3, 4] },
  InstanceNormalization: { kind: 'preserve', params: [1, 2] },
  PRelu: elementwise,
  Add: elementwise, Sub: elementwise, Mul: elementwise, Div: elementwise, Max: elementwise, Min: elementwise, Sum: elementwise,
  Concat: { kind: 'concat' },
  Split: { kind: 'split' },
  Flatten: { kind: 'flatten' },
  Reshape: { kind: 'flatten' },
  Conv: { kind: 'layer' }, Gemm: { kind: 'layer' }, MatMul: { kind: 'layer' },
};
