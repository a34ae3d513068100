// 16-bit pair-sum saturation of int8 weights on x86 without VNNI: onnxruntime's MLAS U8S8 kernels multiply
// uint8 activations by int8 weights with VPMADDUBSW, which adds two neighbouring products into an int16 with
// saturation (onnxruntime quantization guide; PyTorch issue #44939). Pairs as MLAS forms them (onnxruntime
// core/mlas: qlinearconv.cc ReorderFilter + MlasGemmU8S8CopyPackBAvx2, convsym.cpp MlasConvSymPackW):
// - Gemm / MatMul: rows k and k+1 of B (k even) for each output column;
// - Conv: the reduction runs over (kernel position, input channel) — HWIO, both in the symmetric conv kernel
//   (input channels a multiple of 4, paired (c, c+1) at one kernel position) and in the im2col + QGEMM path
//   (K = kh·kw·cin padded to 4, so with an odd channel count a pair spans two kernel positions);
// - depthwise Conv (one input channel per group): MlasConvDepthwise / ConvSymDepthwise widen to 16/32 bits
//   and never saturate.
import { attrInt } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import type { GraphIndex } from '../onnx/graph';
import type { NodeProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import { layerOpKey } from './layerOps';
import type { StoredWeight } from './quantScheme';

/** none: no weight pair can saturate; possible: some pair can, with some uint8 activations; measured: it did on real data. */
export type Saturation = 'none' | 'possible' | 'measured';

const INT16_MAX = 32767;
const INT16_MIN = -32768;
const UINT8_MAX = 255;

/** The reduction vector of each output channel, in the order the kernel walks it. */
export interface PairLayout {
  channels: number;
  /** reduction length (K) per output channel */
  length: number;
  /** element index in the stored weight of the k-th reduction element of `channel` */
  index: (channel: number, k: number) => number;
}

/** Gemm / MatMul weight [K, N] (or [N, K] with transB): pairs run along K. */
function matrixLayout(shape: readonly number[], transposed: boolean): PairLayout | undefined {
  if (shape.length !== 2) return undefined;
  const [rows, cols] = shape;
  return transposed
    ? { channels: rows, length: cols, index: (n, k) => n * cols + k }
    : { channels: cols, length: rows, index: (n, k) => k * cols + n };
}

/** Conv weight [M, C/group, k…] walked in (kernel position, input channel) order; undefined for depthwise. */
function convLayout(shape: readonly number[], n: NodeProto): PairLayout | undefined {
  const [outChannels, inChannels] = shape;
  if (shape.length < 3 || (inChannels === 1 && attrInt(n, 'group', 1) > 1)) return undefined;
  const kernel = numel(shape.slice(2));
  return { channels: outChannels, length: inChannels * kernel, index: (m, k) => (m * inChannels + (k % inChannels)) * kernel + Math.floor(k / inChannels) };
}

/**
 * How the U8S8 kernels pair the weight of `n`, by op. ConvInteger is taken like Conv; onnxruntime's
 * conv_integer.cc runs it through im2col + QGEMM too, but its reduction order there was not checked.
 */
const layouts: Record<string, (n: NodeProto, shape: readonly number[]) => PairLayout | undefined> = {
  Conv: (n, shape) => convLayout(shape, n),
  QLinearConv: (n, shape) => convLayout(shape, n),
  ConvInteger: (n, shape) => convLayout(shape, n),
  MatMul: (_n, shape) => matrixLayout(shape, false),
  QLinearMatMul: (_n, shape) => matrixLayout(shape, false),
  MatMulInteger: (_n, shape) => matrixLayout(shape, false),
  Gemm: (n, shape) => matrixLayout(shape, attrInt(n, 'transB', 0) === 1),
  'com.microsoft.QGemm': (n, shape) => matrixLayout(shape, attrInt(n, 'transB', 0) === 1),
};

export function pairLayout(n: NodeProto, shape: readonly number[]): PairLayout | undefined {
  return layouts[layerOpKey(n)]?.(n, shape);
}

/**
 * Can a pair (wa, wb) of stored int8 weights saturate a · wa + b · wb for some a, b in 0..255? The extremes are
 * 255 · (the pair's positive weights) and 255 · (its negative ones). A lone last weight (K odd) pairs with padding.
 */
export function pairCanSaturate(wa: number, wb: number): boolean {
  const positive = Math.max(wa, 0) + Math.max(wb, 0);
  const negative = Math.min(wa, 0) + Math.min(wb, 0);
  return UINT8_MAX * positive > INT16_MAX || UINT8_MAX * negative < INT16_MIN;
}

/** Does any kernel pair of `values` (stored int8 weights) saturate with worst-case uint8 activations? */
export function weightsCanSaturate(values: ArrayLike<number>, layout: PairLayout): boolean {
  for (let c = 0; c < layout.channels; c++) {
    for (let k = 0; k + 1 < layout.length; k += 2) {
      if (pairCanSaturate(values[layout.index(c, k)], values[layout.index(c, k + 1)])) return true;
    }
  }
  return false;
}

/**
 * Does onnxruntime run node `n` with integer kernels? QOperator and dynamic layers do; a QDQ weight does when
 * the activation input comes out of a DequantizeLinear too (ORT fuses the node unit), otherwise it is
 * dequantized for a float kernel. S8S8 QDQ units that ORT leaves in float are counted (conservative).
 */
function runsIntegerKernel(n: NodeProto, w: StoredWeight, g: GraphIndex): boolean {
  if (w.scheme === 'qoperator' || w.scheme === 'dynamic' || w.scheme === 'integer') return true;
  return w.scheme === 'qdq' && g.producer.get(n.input[0] ?? '')?.opType === 'DequantizeLinear';
}

/**
 * Saturation of a layer's main weight, or undefined when the layer runs float kernels. uint8 weights run
 * U8U8 kernels, which widen to 16 bits before multiplying, so only int8 weights can saturate.
 */
export function layerSaturation(n: NodeProto, w: StoredWeight, g: GraphIndex): Saturation | undefined {
  if (!runsIntegerKernel(n, w, g)) return undefined;
  const layout = w.tensor.dataType === DataType.INT8 ? pairLayout(n, w.shape) : undefined;
  if (!layout) return 'none';
  return weightsCanSaturate(w.values(), layout) ? 'possible' : 'none';
}
