// The analysis report: per-layer statistics and model totals. This is also the `inspect --json` contract
// (DESIGN.md "CLI contract") and what the editor's webview receives.
import type { Saturation } from './saturation';

export type QuantScheme =
  | 'float' // float32/float64 weights
  | 'fp16' // float16 weights
  | 'bf16' // bfloat16 weights
  | 'fp8' // float8 weights
  | 'qdq' // DequantizeLinear feeding the weight input (QuantizeLinear/DequantizeLinear graph)
  | 'qoperator' // QLinearConv / QLinearMatMul / QGemm with integer weights
  | 'dynamic' // ConvInteger / MatMulInteger fed by DynamicQuantizeLinear
  | 'weight-only' // MatMulNBits and similar blockwise integer weights
  | 'integer'; // other integer weights

export interface WeightInfo {
  name: string;
  shape: number[];
  dtype: string;
  /** what the tensor is to the layer */
  role: 'weight' | 'bias' | 'other';
  params: number;
  zeros: number;
  bytes: number;
}

export interface LayerStats {
  /** node name (or `op:firstOutput` when the node has none) */
  name: string;
  op: string;
  /** position of the node in the graph's node list */
  index: number;
  weights: WeightInfo[];
  /** elements in all weight tensors of the layer (weights + biases) */
  params: number;
  /** elements equal to zero — for quantized weights, equal to the zero-point */
  zeros: number;
  /** zeros / params, 0..1 (element-wise) */
  sparsity: number;
  /** fraction of output channels of the main weight that are entirely zero, 0..1 */
  channelSparsity: number;
  /** fraction of groups of 4 consecutive input-dimension weights holding ≥ 2 zeros (2:4 pattern), 0..1 */
  twoFour: number;
  /** storage bits of the main weight: 32, 16, 8, 4, … */
  bits: number;
  dtype: string;
  scheme: QuantScheme;
  perChannel: boolean;
  /** quantization axis for per-channel schemes */
  axis?: number;
  /** block size for blockwise (weight-only) schemes */
  blockSize?: number;
  /**
   * integer layers only: can its int8 weights saturate the 16-bit pair sums of x86 CPUs without VNNI
   * (saturation.ts)? Absent for layers that run float kernels.
   */
  saturation?: Saturation;
  /** multiply-accumulates for one inference at batch 1 (0 when shapes are unknown) */
  macs: number;
  /** bytes the layer's weight tensors take on disk */
  weightBytes: number;
  inputShape?: (number | string)[];
  outputShape?: (number | string)[];
}

export interface TensorSignature { name: string; dtype: string; shape: (number | string)[] }

export interface ModelSummary {
  path: string;
  /** file size in bytes (plus external data) */
  bytes: number;
  /** external data files (locations relative to the model's folder), when the model has any */
  externalData?: string[];
  opset: number;
  irVersion: number;
  producer: string;
  nodes: number;
  /** nodes with weights (== layers.length) */
  layers: number;
  params: number;
  zeros: number;
  sparsity: number;
  macs: number;
  /** layers whose MACs are unknown (and counted as 0) because shapes could not be inferred, e.g. symbolic H×W */
  macsUnknownLayers?: number;
  weightBytes: number;
  /** bits → params stored at that width, e.g. { "32": 1200, "8": 400000 } */
  bitsMix: Record<string, number>;
  /** largest sum of live activation tensors at any point of a topological schedule, batch 1 */
  peakActivationBytes: number;
  /** activation tensors of unknown size, left out of the peak (which is then a lower bound) */
  activationsUnknown?: number;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

export interface ModelReport {
  model: ModelSummary;
  layers: LayerStats[];
}
