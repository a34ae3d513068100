// Small models in every weight storage scheme ONNX Runtime's quantizer and converters produce — QDQ per-tensor
// and per-channel, QOperator (QLinearConv/QLinearMatMul), dynamic (DynamicQuantizeLinear + ConvInteger/
// MatMulInteger), weight-only MatMulNBits (com.microsoft, 4-bit blocks), and float16/bfloat16 weights behind a
// Cast — each with the exact stored weight values the caller passes, so tests know every zero by hand.
// All run on onnxruntime-node's CPU provider. The float input is always `x`, the output always `y`.
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import type { ModelProto, TensorProto } from '../../src/core/onnx/proto';
import { makeTensor, packSubByte } from '../../src/core/onnx/tensor';

const F = DataType.FLOAT;

/** A scalar, or one value per channel (a 1-D tensor). */
function param(name: string, dtype: number, v: number | readonly number[]): TensorProto {
  return typeof v === 'number' ? makeTensor(name, dtype, [], [v]) : makeTensor(name, dtype, [v.length], v);
}

export interface ConvWeights {
  /** stored weight values, row-major [Cout, Cin, kh, kw] */
  values: readonly number[];
  dims: [number, number, number, number];
  scale: number | readonly number[];
  zeroPoint: number | readonly number[];
}

/** Input of the conv models: [1, Cin, 4, 4]. */
const convInputDims = (w: ConvWeights) => [1, w.dims[1], 4, 4];

/**
 * QDQ: x → QuantizeLinear → DequantizeLinear → Conv(·, DequantizeLinear(w_q int8, scale, zp[, axis 0]), bias) → y.
 * Per-channel when scale/zeroPoint are arrays (axis 0 = output channels).
 */
export function qdqConv(w: ConvWeights): ModelProto {
  const cout = w.dims[0];
  const perChannel = typeof w.scale !== 'number';
  return model(graph({
    name: perChannel ? 'qdq_conv_per_channel' : 'qdq_conv_per_tensor',
    nodes: [
      node('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['x_q'], {}, 'x_quant'),
      node('DequantizeLinear', ['x_q', 'x_scale', 'x_zp'], ['x_dq'], {}, 'x_dequant'),
      node('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], ['w_dq'], perChannel ? { axis: 0 } : {}, 'w_dequant'),
      node('Conv', ['x_dq', 'w_dq', 'bias'], ['y'], { kernel_shape: w.dims.slice(2), pads: [1, 1, 1, 1] }, 'conv'),
    ],
    inputs: [valueInfo('x', F, convInputDims(w))],
    outputs: [valueInfo('y', F, [1, cout, 4, 4])],
    initializers: [
      makeTensor('x_scale', F, [], [0.02]), makeTensor('x_zp', DataType.UINT8, [], [128]),
      makeTensor('w_q', DataType.INT8, w.dims, w.values),
      param('w_scale', F, w.scale), param('w_zp', DataType.INT8, w.zeroPoint),
      makeTensor('bias', F, [cout], Array.from({ length: cout }, (_, i) => 0.1 * i)),
    ],
  }), { opset: 13 });
}

/** QOperator: x → QuantizeLinear → QLinearConv(w uint8, w_scale, w_zp, int32 bias) → DequantizeLinear → y. */
export function qlinearConv(w: ConvWeights): ModelProto {
  const cout = w.dims[0];
  return model(graph({
    name: 'qlinear_conv',
    nodes: [
      node('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['x_q'], {}, 'x_quant'),
      node('QLinearConv', ['x_q', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'y_scale', 'y_zp', 'bias_q'], ['y_q'],
        { kernel_shape: w.dims.slice(2), pads: [1, 1, 1, 1] }, 'qconv'),
      node('DequantizeLinear', ['y_q', 'y_scale', 'y_zp'], ['y'], {}, 'y_dequant'),
    ],
    inputs: [valueInfo('x', F, convInputDims(w))],
    outputs: [valueInfo('y', F, [1, cout, 4, 4])],
    initializers: [
      makeTensor('x_scale', F, [], [0.02]), makeTensor('x_zp', DataType.UINT8, [], [128]),
      makeTensor('w_q', DataType.UINT8, w.dims, w.values),
      param('w_scale', F, w.scale), param('w_zp', DataType.UINT8, w.zeroPoint),
      makeTensor('y_scale', F, [], [0.05]), makeTensor('y_zp', DataType.UINT8, [], [128]),
      makeTensor('bias_q', DataType.INT32, [cout], Array.from({ length: cout }, (_, i) => 10 * i)),
    ],
  }), { opset: 13 });
}

export interface MatMulWeights {
  /** stored weight values, row-major [K, N] */
  values: readonly number[];
  dims: [number, number];
  scale: number | readonly number[];
  zeroPoint: number | readonly number[];
}

/** QOperator: x [1, K] → QuantizeLinear → QLinearMatMul(w uint8 [K, N]) → DequantizeLinear → y [1, N]. */
export function qlinearMatMul(w: MatMulWeights): ModelProto {
  const [k, n] = w.dims;
  return model(graph({
    name: 'qlinear_matmul',
    nodes: [
      node('QuantizeLinear', ['x', 'x_scale', 'x_zp'], ['x_q'], {}, 'x_quant'),
      node('QLinearMatMul', ['x_q', 'x_scale', 'x_zp', 'w_q', 'w_scale', 'w_zp', 'y_scale', 'y_zp'], ['y_q'], {}, 'qmatmul'),
      node('DequantizeLinear', ['y_q', 'y_scale', 'y_zp'], ['y'], {}, 'y_dequant'),
    ],
    inputs: [valueInfo('x', F, [1, k])],
    outputs: [valueInfo('y', F, [1, n])],
    initializers: [
      makeTensor('x_scale', F, [], [0.02]), makeTensor('x_zp', DataType.UINT8, [], [128]),
      makeTensor('w_q', DataType.UINT8, w.dims, w.values),
      param('w_scale', F, w.scale), param('w_zp', DataType.UINT8, w.zeroPoint),
      makeTensor('y_scale', F, [], [0.05]), makeTensor('y_zp', DataType.UINT8, [], [128]),
    ],
  }), { opset: 13 });
}

/**
 * Dynamic (ORT quantize_dynamic layout): x → DynamicQuantizeLinear → MatMulInteger(·, w uint8 [K, N], x_zp, w_zp)
 * → Cast(float) → Mul(x_scale · w_scale) → y. w_scale is per tensor.
 */
export function dynamicMatMul(w: MatMulWeights & { scale: number }): ModelProto {
  const [k, n] = w.dims;
  return model(graph({
    name: 'dynamic_matmul',
    nodes: [
      node('DynamicQuantizeLinear', ['x'], ['x_q', 'x_scale', 'x_zp'], {}, 'x_dynquant'),
      node('MatMulInteger', ['x_q', 'w_q', 'x_zp', 'w_zp'], ['acc'], {}, 'matmul_int'),
      node('Cast', ['acc'], ['acc_f'], { to: F }, 'acc_cast'),
      node('Mul', ['x_scale', 'w_scale'], ['scale'], {}, 'scale_mul'),
      node('Mul', ['acc_f', 'scale'], ['y'], {}, 'rescale'),
    ],
    inputs: [valueInfo('x', F, [1, k])],
    outputs: [valueInfo('y', F, [1, n])],
    initializers: [makeTensor('w_q', DataType.UINT8, w.dims, w.values), param('w_scale', F, w.scale), param('w_zp', DataType.UINT8, w.zeroPoint)],
  }), { opset: 13 });
}

/** Dynamic conv: x → DynamicQuantizeLinear → ConvInteger(·, w uint8, x_zp, w_zp) → Cast → Mul(x_scale · w_scale) → y. */
export function dynamicConv(w: ConvWeights & { scale: number; zeroPoint: number }): ModelProto {
  const cout = w.dims[0];
  return model(graph({
    name: 'dynamic_conv',
    nodes: [
      node('DynamicQuantizeLinear', ['x'], ['x_q', 'x_scale', 'x_zp'], {}, 'x_dynquant'),
      node('ConvInteger', ['x_q', 'w_q', 'x_zp', 'w_zp'], ['acc'], { kernel_shape: w.dims.slice(2), pads: [1, 1, 1, 1] }, 'conv_int'),
      node('Cast', ['acc'], ['acc_f'], { to: F }, 'acc_cast'),
      node('Mul', ['x_scale', 'w_scale'], ['scale'], {}, 'scale_mul'),
      node('Mul', ['acc_f', 'scale'], ['y'], {}, 'rescale'),
    ],
    inputs: [valueInfo('x', F, convInputDims(w))],
    outputs: [valueInfo('y', F, [1, cout, 4, 4])],
    initializers: [makeTensor('w_q', DataType.UINT8, w.dims, w.values), param('w_scale', F, w.scale), param('w_zp', DataType.UINT8, w.zeroPoint)],
  }), { opset: 13 });
}

export interface NBitsWeights {
  /** 4-bit stored values 0..15, row-major [N, K] (B transposed, as MatMulNBits stores it) */
  values: readonly number[];
  n: number;
  k: number;
  blockSize: number;
  /** one scale per (row, block), row-major [N, blocks] */
  scales: readonly number[];
  /** one 4-bit zero-point per (row, block), row-major [N, blocks] */
  zeroPoints: readonly number[];
}

/**
 * Weight-only (ORT MatMul4BitsQuantizer layout): y = MatMulNBits(x [1, K], B uint8 [N, blocks, blockSize/2],
 * scales [N·blocks], zero_points uint8 [N·⌈blocks/2⌉]), com.microsoft domain, bits = 4.
 */
export function matmulNBits(w: NBitsWeights): ModelProto {
  const blocks = Math.ceil(w.k / w.blockSize);
  const blob = w.blockSize / 2;
  const padded: number[] = [];
  for (let r = 0; r < w.n; r++) {
    for (let kk = 0; kk < blocks * w.blockSize; kk++) padded.push(kk < w.k ? w.values[r * w.k + kk] : 0);
  }
  const zpRow = Math.ceil(blocks / 2);
  const zp: number[] = [];
  for (let r = 0; r < w.n; r++) {
    for (let b = 0; b < zpRow * 2; b++) zp.push(b < blocks ? w.zeroPoints[r * blocks + b] : 0);
  }
  const bPacked = packSubByte(padded, 4);
  const zpPacked = packSubByte(zp, 4);
  return model(graph({
    name: 'matmul_nbits',
    nodes: [node('MatMulNBits', ['x', 'w_q', 'w_scales', 'w_zp'], ['y'], { K: w.k, N: w.n, bits: 4, block_size: w.blockSize }, 'matmul_4bit', 'com.microsoft')],
    inputs: [valueInfo('x', F, [1, w.k])],
    outputs: [valueInfo('y', F, [1, w.n])],
    initializers: [
      makeTensor('w_q', DataType.UINT8, [w.n, blocks, blob], bPacked),
      makeTensor('w_scales', F, [w.n * blocks], w.scales),
      makeTensor('w_zp', DataType.UINT8, [w.n * zpRow], zpPacked),
    ],
  }), { opset: 17, extraOpsets: { 'com.microsoft': 1 } });
}

/**
 * Float16/bfloat16 weight storage with float32 compute (keep_io_types conversion):
 * y = Conv(x, Cast(w_half → float32)) + bias, w [Cout, Cin, 3, 3].
 */
export function halfWeightConv(dtype: DataType.FLOAT16 | DataType.BFLOAT16, values: readonly number[], dims: [number, number, number, number]): ModelProto {
  return model(graph({
    name: dtype === DataType.FLOAT16 ? 'fp16_conv' : 'bf16_conv',
    nodes: [
      node('Cast', ['w_half'], ['w'], { to: F }, 'w_cast'),
      node('Conv', ['x', 'w'], ['y'], { kernel_shape: dims.slice(2), pads: [1, 1, 1, 1] }, 'conv'),
    ],
    inputs: [valueInfo('x', F, [1, dims[1], 4, 4])],
    outputs: [valueInfo('y', F, [1, dims[0], 4, 4])],
    initializers: [makeTensor('w_half', dtype, dims, values)],
  }), { opset: 13 });
}

/** Float16 end to end: y = MatMul(x float16 [1, K], w float16 [K, N]). */
export function fp16MatMul(values: readonly number[], dims: [number, number]): ModelProto {
  return model(graph({
    name: 'fp16_matmul',
    nodes: [node('MatMul', ['x', 'w'], ['y'], {}, 'matmul')],
    inputs: [valueInfo('x', DataType.FLOAT16, [1, dims[0]])],
    outputs: [valueInfo('y', DataType.FLOAT16, [1, dims[1]])],
    initializers: [makeTensor('w', DataType.FLOAT16, dims, values)],
  }), { opset: 13 });
}

export interface BlockedWeights {
  /** int4 stored values −8 … 7, row-major [K, N] */
  values: readonly number[];
  k: number;
  n: number;
  blockSize: number;
  /** row-major [K / blockSize, N]: one scale and zero-point per block of K for each column */
  scales: readonly number[];
  zeroPoints: readonly number[];
}

/**
 * Blockwise QDQ (ORT MatMul4BitsQuantizer, QDQ format): y = MatMul(x [1, K], DequantizeLinear(w int4 [K, N],
 * scale [K/bs, N], zp int4 [K/bs, N], axis 0, block_size bs)); opset 21.
 */
export function blockedQdqMatMul(w: BlockedWeights): ModelProto {
  const blocks = w.k / w.blockSize;
  return model(graph({
    name: 'qdq_blocked_matmul',
    nodes: [
      node('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], ['w_dq'], { axis: 0, block_size: w.blockSize }, 'w_dequant'),
      node('MatMul', ['x', 'w_dq'], ['y'], {}, 'matmul'),
    ],
    inputs: [valueInfo('x', F, [1, w.k])],
    outputs: [valueInfo('y', F, [1, w.n])],
    initializers: [
      makeTensor('w_q', DataType.INT4, [w.k, w.n], w.values),
      makeTensor('w_scale', F, [blocks, w.n], w.scales),
      makeTensor('w_zp', DataType.INT4, [blocks, w.n], w.zeroPoints),
    ],
  }), { opset: 21, irVersion: 10 });
}
