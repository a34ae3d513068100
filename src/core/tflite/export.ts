// ONNX QDQ int8 → TensorFlow Lite full-integer int8, following TFLite's quantization spec
// (tensorflow.org/lite/performance/quantization_spec): int8 activations (uint8 q − 128), symmetric int8 weights
// (per-channel for convolutions, per-tensor for FULLY_CONNECTED), int32 biases with scale s_in·s_w, NHWC layout.
import { UnsupportedOperator } from '../errors';
import { attrFloat, attrInt, attrInts, attrString } from '../onnx/build';
import { DataType, roundHalfEven } from '../onnx/dtypes';
import { indexGraph, nodeLabel, topologicalOrder, type GraphIndex } from '../onnx/graph';
import type { ModelProto, NodeProto } from '../onnx/proto';
import { opsetVersion } from '../onnx/read';
import { fuseHardSwish } from '../quantize/hardSwish';
import { inferShapes, isKnown, type ShapeInfo } from '../onnx/shapes';
import { tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import {
  Activation, BuiltinOperator, encodeTflite, Padding, TensorType,
  type BuiltinOptions, type Quantization, type TfliteModel, type TfliteTensor,
} from './schema';

export interface ExportOptions {
  /** float: QUANTIZE/DEQUANTIZE at the edges, the model takes and returns float32; int8: int8 tensors as they are */
  io: 'int8' | 'float';
  source?: TensorSource;
}

/** A model input or output; scale and zero point are those of the int8 tensor (behind QUANTIZE/DEQUANTIZE for float). */
export interface EdgeTensor { name: string; shape: number[]; type: 'int8' | 'float32'; scale: number; zeroPoint: number }

export interface ExportResult {
  bytes: Uint8Array;
  inputs: EdgeTensor[];
  outputs: EdgeTensor[];
  /** TFLite builtin operators used, by name (the ops to register in TFLite Micro's resolver) */
  ops: string[];
}

/** An int8 activation tensor of the TFLite graph, with its ONNX (NCHW) shape. */
interface Activation8 {
  index: number; scale: number; zeroPoint: number; onnxShape: number[];
  /** [C, H, W] of the NCHW map this tensor flattens (in TFLite's HWC order) */
  flattenedFrom?: number[];
}

interface QuantConst { values: Float64Array; dims: number[]; scale: Float64Array; zeroPoint: Float64Array; axis: number }

const SOFTMAX_OUTPUT = { scale: 1 / 256, zeroPoint: -128 };
const SIGMOID_OUTPUT = SOFTMAX_OUTPUT;
const INT8_MIN = -128;
const INT8_MAX = 127;
const clampInt8 = (v: number) => Math.min(INT8_MAX, Math.max(INT8_MIN, v));

/** An NCHW axis's position in NHWC. */
const NHWC_AXIS = [0, 3, 1, 2];

/** NCHW → NHWC for rank-4 shapes; other ranks are kept. */
const nhwc = (s: number[]) => (s.length === 4 ? [s[0], s[2], s[3], s[1]] : s);

class Exporter {
  readonly tensors: TfliteTensor[] = [];
  readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  readonly codes: { builtin: number; version: number }[] = [];
  readonly operators: TfliteModel['operators'] = [];
  /** ONNX tensor name (a QuantizeLinear output or its DequantizeLinear) → TFLite int8 tensor */
  readonly activations = new Map<string, Activation8>();
  readonly fusedActivations = new Set<NodeProto>();

  constructor(readonly index: GraphIndex, readonly shapes: ShapeInfo, readonly source: TensorSource, readonly opset: number) {}

  addTensor(t: Omit<TfliteTensor, 'buffer'>, data?: Uint8Array): number {
    let buffer = 0;
    if (data) { buffer = this.buffers.length; this.buffers.push(data); }
    this.tensors.push({ ...t, buffer });
    return this.tensors.length - 1;
  }

  opcode(builtin: number, version: number): number {
    let opcodeIndex = this.codes.findIndex((c) => c.builtin === builtin && c.version === version);
    if (opcodeIndex < 0) { opcodeIndex = this.codes.length; this.codes.push({ builtin, version }); }
    return opcodeIndex;
  }

  addOperator(builtin: number, version: number, inputs: number[], outputs: number[], options?: BuiltinOptions): void {
    this.operators.push({ opcodeIndex: this.opcode(builtin, version), inputs, outputs, options });
  }

  onnxShape(name: string, node: NodeProto): number[] {
    const shape = this.shapes.types.get(name)?.shape;
    if (!isKnown(shape)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: the shape of '${name}' is not known (fixed input shapes are needed)`);
    return shape;
  }

  /** A QuantizeLinear/DequantizeLinear scale and zero point as int8 parameters (uint8 zero points shift by −128). */
  activationParams(q: NodeProto): { scale: number; zeroPoint: number } {
    const scale = Number(tensorValues(this.constant(q.input[1], q), this.source)[0]);
    const zp = q.input[2] ? this.constant(q.input[2], q) : undefined;
    const unsigned = !zp || zp.dataType === DataType.UINT8;
    const zeroPoint = zp ? Number(tensorValues(zp, this.source)[0]) : 0;
    if (zp && zp.dataType !== DataType.UINT8 && zp.dataType !== DataType.INT8) {
      throw new UnsupportedOperator(undefined, `${nodeLabel(q)}: only 8-bit activations can be exported`);
    }
    return { scale, zeroPoint: unsigned ? zeroPoint - 128 : zeroPoint };
  }

  constant(name: string, node: NodeProto) {
    const t = this.index.constants.get(name);
    if (!t) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: '${name}' must be a constant`);
    return t;
  }

  /** A constant behind DequantizeLinear (weights, biases) with its scale/zero point per element of `axis`. */
  quantConst(name: string, node: NodeProto): QuantConst {
    const dq = this.index.producer.get(name);
    if (!dq || dq.opType !== 'DequantizeLinear' || !this.index.constants.has(dq.input[0])) {
      throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: weights must be quantized constants (DequantizeLinear of an initializer)`);
    }
    const q = this.constant(dq.input[0], dq);
    const values = Float64Array.from(tensorValues(q, this.source) as ArrayLike<number>, Number);
    const scale = Float64Array.from(tensorValues(this.constant(dq.input[1], dq), this.source) as ArrayLike<number>, Number);
    const zeroPoint = dq.input[2] ? Float64Array.from(tensorValues(this.constant(dq.input[2], dq), this.source) as ArrayLike<number>, Number) : new Float64Array(scale.length);
    const dims = tensorDims(q);
    const axis = scale.length > 1 ? (attrInt(dq, 'axis', 1) + dims.length) % dims.length : 0;
    return { values, dims, scale, zeroPoint, axis };
  }

  /** The int8 activation feeding `name` (through DequantizeLinear). */
  input(name: string, node: NodeProto): Activation8 {
    const a = this.activations.get(name);
    if (!a) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: input '${name}' is not a quantized activation (QuantizeLinear → DequantizeLinear)`);
    return a;
  }

  /**
   * The int8 tensor a compute node writes: the QuantizeLinear after it (through a Relu or Clip, which is fused), or, for a
   * float graph output, `fallback` parameters. Returns the fused activation too.
   */
  output(node: NodeProto, fallback?: () => { scale: number; zeroPoint: number }, fixed?: { scale: number; zeroPoint: number }): { tensor: number; activation: number } {
    let name = node.output[0];
    let activation: number = Activation.NONE;
    let consumers = this.index.consumers.get(name) ?? [];
    const fused = consumers.length === 1 && !this.index.graphOutputs.has(name) ? this.fusableActivation(consumers[0]) : undefined;
    if (fused !== undefined) {
      activation = fused;
      this.fusedActivations.add(consumers[0]);
      name = consumers[0].output[0];
      consumers = this.index.consumers.get(name) ?? [];
    }
    const shape = this.onnxShape(name, node);
    const q = consumers.length === 1 && consumers[0].opType === 'QuantizeLinear' ? consumers[0] : undefined;
    let params: { scale: number; zeroPoint: number };
    let onnxName: string;
    if (q) {
      params = fixed ?? this.activationParams(q);
      onnxName = q.output[0];
    } else if (fixed || fallback) {
      // A float output (a graph output, or a float tail such as Gemm → Flatten → Softmax that the quantizer left
      // unquantized): int8 with the op's own parameters (SOFTMAX, FULLY_CONNECTED's reachable range, a reshape's input's).
      if (consumers.some((c) => c.opType === 'QuantizeLinear')) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: its output '${name}' is quantized by some consumers only`);
      params = fixed ?? fallback!();
      onnxName = name;
    } else {
      throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: its output '${name}' is not quantized (no QuantizeLinear after it)`);
    }
    // ReLU with an output zero point at the int8 minimum is the clamp itself; fusing it keeps the intent visible.
    if (activation === Activation.NONE && params.zeroPoint === INT8_MIN) activation = Activation.RELU;
    const tensor = this.addTensor({ name: onnxName, shape: nhwc(shape), type: TensorType.INT8, quantization: { scale: [params.scale], zeroPoint: [params.zeroPoint] } });
    const act: Activation8 = { index: tensor, ...params, onnxShape: shape };
    this.activations.set(onnxName, act);
    for (const dq of this.index.consumers.get(onnxName) ?? []) if (dq.opType === 'DequantizeLinear') this.activations.set(dq.output[0], act);
    return { tensor, activation };
  }

  /** TFLite's fused activation for a Relu, or a Clip to [0, 6] (RELU6) or [0, ∞) (RELU); undefined for others. */
  fusableActivation(act: NodeProto): number | undefined {
    if (act.opType === 'Relu') return Activation.RELU;
    if (act.opType !== 'Clip') return undefined;
    const [lo, hi] = clipBounds(this, act);
    if (lo !== 0) return undefined;
    if (hi === 6) return Activation.RELU6;
    return hi === Infinity ? Activation.RELU : undefined;
  }

  int8Weights(name: string, values: Int8Array, shape: number[], q: Quantization): number {
    return this.addTensor({ name, shape, type: TensorType.INT8, quantization: q }, new Uint8Array(values.buffer.slice(0)));
  }

  int32Tensor(name: string, values: number[], shape: number[], q?: Quantization): number {
    return this.addTensor({ name, shape, type: TensorType.INT32, ...(q ? { quantization: q } : {}) }, new Uint8Array(Int32Array.from(values).buffer));
  }

  /** Bias requantized to int32 with scale s_in·s_w per output channel. */
  bias(node: NodeProto, inputScale: number, weightScales: number[]): number {
    const { values, scales } = this.biasValues(node, inputScale, weightScales);
    return this.biasTensor(`${node.name || node.output[0]}/bias`, values, scales);
  }

  /** The int32 bias values and their scales s_in·s_w (zeros when the node has no bias). */
  biasValues(node: NodeProto, inputScale: number, weightScales: number[]): { values: number[]; scales: number[] } {
    const n = weightScales.length;
    const scales = weightScales.map((s) => inputScale * s);
    let values = new Array<number>(n).fill(0);
    const floatBias = node.input[2] ? this.index.constants.get(node.input[2]) : undefined;
    if (floatBias?.dataType === DataType.FLOAT) {
      // A float bias (tools that leave biases unquantized): int32 with scale s_in·s_w, as TFLite's own converter writes it.
      const b = tensorValues(floatBias, this.source) as ArrayLike<number>;
      values = Array.from({ length: n }, (_, c) => Math.min(2 ** 31 - 1, Math.max(-(2 ** 31), roundHalfEven(b[c] / scales[c]))));
    } else if (node.input[2]) {
      const b = this.quantConst(node.input[2], node);
      values = Array.from({ length: n }, (_, c) => {
        const k = b.scale.length > 1 ? c : 0;
        return roundHalfEven(((b.values[c] - b.zeroPoint[k]) * b.scale[k]) / scales[c]);
      });
    }
    return { values, scales };
  }

  biasTensor(name: string, values: number[], scales: number[]): number {
    // A per-tensor weight scale gives a per-tensor bias scale (TFLite reads one scale only from one-element lists).
    const q = scales.every((s) => s === scales[0]) ? { scale: [scales[0]], zeroPoint: [0] } : { scale: scales, zeroPoint: scales.map(() => 0) };
    return this.int32Tensor(name, values, [values.length], q);
  }

  /** An int8 tensor of `shape` (NHWC) with the given parameters, written by an operator added afterwards. */
  int8Tensor(name: string, shape: number[], p: { scale: number; zeroPoint: number }): number {
    return this.addTensor({ name, shape, type: TensorType.INT8, quantization: { scale: [p.scale], zeroPoint: [p.zeroPoint] } });
  }

  /** `x` requantized to the parameters `p` by QUANTIZE (int8 → int8); `x` itself when they are already equal. */
  requantized(x: Activation8, p: { scale: number; zeroPoint: number }, name: string): Activation8 {
    if (x.scale === p.scale && x.zeroPoint === p.zeroPoint) return x;
    const index = this.int8Tensor(name, nhwc(x.onnxShape), p);
    this.addOperator(BuiltinOperator.QUANTIZE, 2, [x.index], [index]);
    return { ...x, index, ...p };
  }

  /** The parameters an output tensor was given by `output()`. */
  paramsOf(tensor: number): { scale: number; zeroPoint: number } {
    const q = this.tensors[tensor].quantization!;
    return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] };
  }

  /**
   * An operand of a broadcasting elementwise op of rank `rank`: a quantized activation, or a quantized constant
   * (DequantizeLinear of an int8/uint8 initializer) written as an int8 tensor, its shape padded with leading 1s to
   * `rank` (ONNX broadcasting aligns the last axes) and, for rank 4, transposed to NHWC.
   */
  operand(name: string, node: NodeProto, rank: number): Activation8 {
    const a = this.activations.get(name);
    if (a) {
      if (a.onnxShape.length !== rank) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: ${node.opType} of tensors of different ranks is not exported`);
      return a;
    }
    const c = this.quantConst(name, node);
    if (c.scale.length !== 1) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: a per-channel quantized constant operand is not exported`);
    if (c.dims.length > rank) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: the constant '${name}' has a higher rank than the other operand`);
    const dq = this.index.producer.get(name)!;
    const shift = this.constant(dq.input[0], dq).dataType === DataType.UINT8 ? 128 : 0;
    const dims = [...new Array<number>(rank - c.dims.length).fill(1), ...c.dims];
    const values = new Int8Array(c.values.length);
    if (rank === 4) {
      const [, ch, h, w] = dims;
      for (let n = 0; n < dims[0]; n++) for (let k = 0; k < ch; k++) for (let i = 0; i < h * w; i++) {
        values[(n * h * w + i) * ch + k] = c.values[(n * ch + k) * h * w + i] - shift;
      }
    } else {
      values.set(Array.from(c.values, (v) => v - shift));
    }
    const params = { scale: c.scale[0], zeroPoint: c.zeroPoint[0] - shift };
    const index = this.int8Weights(`${node.name || node.output[0]}/${name}`, values, nhwc(dims), { scale: [params.scale], zeroPoint: [params.zeroPoint] });
    return { index, ...params, onnxShape: dims };
  }
}

/**
 * Symmetric int8 per output channel (axis 0 of `dims`), zero point 0; asymmetric/uint8 inputs, and weights quantized
 * along another axis (other tools may quantize per input channel), are requantized from their real values.
 */
function symmetricPerChannel(w: QuantConst): { values: Int8Array; scales: number[] } {
  const outCh = w.dims[0];
  const perCh = w.values.length / outCh;
  const values = new Int8Array(w.values.length);
  const scales: number[] = [];
  // The scale and zero point of element i: one for the tensor, or those of i's index along `axis`.
  const inner = w.dims.slice(w.axis + 1).reduce((a, b) => a * b, 1);
  const param = (i: number) => (w.scale.length > 1 ? Math.floor(i / inner) % w.dims[w.axis] : 0);
  const real = (i: number) => (w.values[i] - w.zeroPoint[param(i)]) * w.scale[param(i)];
  for (let c = 0; c < outCh; c++) {
    const k = param(c * perCh);
    let maxAbs = 0;
    for (let i = 0; i < perCh; i++) maxAbs = Math.max(maxAbs, Math.abs(real(c * perCh + i)));
    const keep = (w.scale.length === 1 || w.axis === 0) && w.zeroPoint[k] === 0 && w.values.subarray(c * perCh, (c + 1) * perCh).every((v) => v >= -127 && v <= 127);
    const scale = keep ? w.scale[k] : maxAbs > 0 ? maxAbs / 127 : w.scale[k];
    for (let i = 0; i < perCh; i++) {
      values[c * perCh + i] = keep ? w.values[c * perCh + i] : clampInt8(roundHalfEven(real(c * perCh + i) / scale));
    }
    scales.push(scale);
  }
  return { values, scales };
}

/** TFLite padding for ONNX pads, or undefined when neither SAME nor VALID gives them (explicit PAD comes later). */
function tflitePadding(node: NodeProto, inHW: number[], kernel: number[], strides: number[], dilations: number[]): number | undefined {
  const autoPad = node.attribute.find((a) => a.name === 'auto_pad');
  const mode = autoPad ? new TextDecoder().decode(autoPad.s) : 'NOTSET';
  if (mode === 'VALID') return Padding.VALID;
  if (mode === 'SAME_UPPER') return Padding.SAME;
  if (mode !== 'NOTSET') return undefined;
  const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  if (pads.every((p) => p === 0)) return Padding.VALID;
  for (let d = 0; d < 2; d++) {
    const out = Math.ceil(inHW[d] / strides[d]);
    const total = Math.max((out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - inHW[d], 0);
    if (pads[d] !== Math.floor(total / 2) || pads[d + 2] !== total - Math.floor(total / 2)) return undefined;
  }
  return Padding.SAME;
}

/**
 * Strides, dilations and TFLite padding of a Conv/pool. Pads that SAME cannot express (e.g. PyTorch's symmetric
 * padding 1 with stride 2 on an even size) become an explicit PAD with the zero point, when `explicitPad` is given.
 */
function spatial(node: NodeProto, x: Activation8, kernel: number[], explicitPad?: Exporter) {
  const strides = attrInts(node, 'strides') ?? [1, 1];
  const dilations = attrInts(node, 'dilations') ?? [1, 1];
  const padding = tflitePadding(node, x.onnxShape.slice(2), kernel, strides, dilations);
  if (padding !== undefined) return { strides, dilations, padding, input: x };
  const pads = attrInts(node, 'pads');
  if (!explicitPad || !pads || pads.some((p) => p < 0)) {
    throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: pads ${JSON.stringify(pads)} are neither SAME nor VALID`);
  }
  const e = explicitPad;
  const [n, c, h, w] = x.onnxShape;
  const padded = [n, c, h + pads[0] + pads[2], w + pads[1] + pads[3]];
  const name = `${node.name || node.output[0]}/padded`;
  const paddings = e.int32Tensor(`${name}/paddings`, [0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0], [4, 2]);
  const out = e.addTensor({ name, shape: nhwc(padded), type: TensorType.INT8, quantization: { scale: [x.scale], zeroPoint: [x.zeroPoint] } });
  e.addOperator(BuiltinOperator.PAD, 2, [x.index, paddings], [out], { kind: 'pad' });
  return { strides, dilations, padding: Padding.VALID, input: { index: out, scale: x.scale, zeroPoint: x.zeroPoint, onnxShape: padded } };
}

/** Conv weights OIHW → OHWI (TFLite's CONV_2D filter layout). */
function ohwi(values: Int8Array, dims: number[]): Int8Array {
  const [outCh, inCh, kh, kw] = dims;
  const t = new Int8Array(values.length);
  for (let o = 0; o < outCh; o++) for (let i = 0; i < inCh; i++) for (let k = 0; k < kh * kw; k++) {
    t[(o * kh * kw + k) * inCh + i] = values[(o * inCh + i) * kh * kw + k];
  }
  return t;
}

interface GroupedConv {
  input: Activation8; values: Int8Array; dims: number[]; scales: number[]; group: number;
  strides: number[]; dilations: number[]; padding: number;
}

/**
 * Grouped Conv (1 < group < C): TFLite 2.2 has no grouped CONV_2D, so SPLIT the channels into `group` parts, one
 * CONV_2D per part (its slice of output channels, weights and bias), and CONCATENATION of the results. Every CONV_2D
 * writes with the output's parameters, so the int8 CONCATENATION only copies.
 */
function groupedConv(e: Exporter, node: NodeProto, g: GroupedConv): void {
  const [outCh, inPerGroup, kh, kw] = g.dims;
  const { input: x, group } = g;
  const [n, inCh, h, w] = x.onnxShape;
  if (inCh !== inPerGroup * group || outCh % group !== 0) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: group ${group} does not divide the channels`);
  const base = node.name || node.output[0];
  const out = e.output(node);
  const outParams = e.paramsOf(out.tensor);
  const outShape = e.tensors[out.tensor].shape;
  const outPerGroup = outCh / group;
  const axis = e.int32Tensor(`${base}/split_axis`, [3], []);
  const parts = Array.from({ length: group }, (_, k) => e.int8Tensor(`${base}/split${k}`, [n, h, w, inPerGroup], x));
  e.addOperator(BuiltinOperator.SPLIT, 2, [axis, x.index], parts, { kind: 'split', numSplits: group });
  const { values: biasAll, scales: biasScales } = e.biasValues(node, x.scale, g.scales);
  const perOut = inPerGroup * kh * kw;
  const results = parts.map((part, k) => {
    const channels = [k * outPerGroup, (k + 1) * outPerGroup];
    const scales = g.scales.slice(...channels);
    const weights = e.int8Weights(`${base}/weights${k}`, ohwi(g.values.subarray(channels[0] * perOut, channels[1] * perOut), [outPerGroup, inPerGroup, kh, kw]),
      [outPerGroup, kh, kw, inPerGroup], { scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: 0 });
    const bias = e.biasTensor(`${base}/bias${k}`, biasAll.slice(...channels), biasScales.slice(...channels));
    const result = e.int8Tensor(`${base}/group${k}`, [...outShape.slice(0, 3), outPerGroup], outParams);
    e.addOperator(BuiltinOperator.CONV_2D, 3, [part, weights, bias], [result], {
      kind: 'conv2d', padding: g.padding, strideW: g.strides[1], strideH: g.strides[0], activation: out.activation, dilationW: g.dilations[1], dilationH: g.dilations[0],
    });
    return result;
  });
  e.addOperator(BuiltinOperator.CONCATENATION, 2, results, [out.tensor], { kind: 'concatenation', axis: 3, activation: Activation.NONE });
}

/** Broadcasting ADD/MUL of two operands (activations or quantized constants) of the output's rank. */
function elementwise(e: Exporter, node: NodeProto, builtin: number, kind: 'add' | 'mul'): void {
  const rank = e.onnxShape(node.output[0], node).length;
  if (rank > 4) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: ${node.opType} of rank ${rank} is not exported`);
  const a = e.operand(node.input[0], node, rank);
  const b = e.operand(node.input[1], node, rank);
  // NHWC keeps numpy broadcasting: [N,C,1,1] → [N,1,1,C] against [N,H,W,C].
  const out = e.output(node);
  e.addOperator(builtin, 2, [a.index, b.index], [out.tensor], { kind, activation: out.activation });
}

/** Clip bounds (attributes before opset 11, constant inputs after); NaN for a bound that is not a constant. */
function clipBounds(e: Exporter, act: NodeProto): [number, number] {
  if (act.opType === 'Relu') return [0, Infinity];
  const bound = (slot: number, attr: string, fallback: number) => {
    if (e.opset < 11) return attrFloat(act, attr, fallback);
    if (!act.input[slot]) return fallback;
    const t = e.index.constants.get(act.input[slot]);
    return t ? Number(tensorValues(t, e.source)[0]) : NaN;
  };
  return [bound(1, 'min', -Infinity), bound(2, 'max', Infinity)];
}

/** Relu/Clip: nothing when fused into the op before it, else on its own (standaloneClip). */
function activation(e: Exporter, node: NodeProto): void {
  if (e.fusedActivations.has(node)) return;
  if (!e.activations.has(node.input[0])) {
    throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: a ${node.opType} that cannot be fused into the op before it (Relu, Clip to [0, 6] or [0, ∞)) and does not read a quantized tensor is not exported`);
  }
  standaloneClip(e, node);
}

/**
 * A Relu or Clip between quantized tensors that no op before it can take as its fused activation: MAXIMUM with the
 * lower bound and MINIMUM with the upper one, both quantized with the input's parameters (TFLite's int8
 * MAXIMUM/MINIMUM compare raw values, so the operands and result share parameters), then QUANTIZE to the output's.
 */
function standaloneClip(e: Exporter, node: NodeProto): void {
  const x = e.input(node.input[0], node);
  const [lo, hi] = clipBounds(e, node);
  if (Number.isNaN(lo) || Number.isNaN(hi)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Clip bounds must be constants`);
  const base = node.name || node.output[0];
  const out = e.output(node);
  const target = e.paramsOf(out.tensor);
  // RELU is only implied by an output zero point at −128 (the output range clamps); a fused activation would be lost.
  if (out.activation !== Activation.NONE && !(out.activation === Activation.RELU && target.zeroPoint === INT8_MIN)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: an activation after a Clip is not exported`);
  const sameParams = target.scale === x.scale && target.zeroPoint === x.zeroPoint;
  // A bound outside the int8 range of the input clips nothing and gets no op.
  const ops = ([[lo, BuiltinOperator.MAXIMUM, 'max'], [hi, BuiltinOperator.MINIMUM, 'min']] as const)
    .map(([bound, builtin, name]) => ({ q: Math.round(bound / x.scale) + x.zeroPoint, builtin, name }))
    .filter(({ q, name }) => Number.isFinite(q) && (name === 'max' ? q > INT8_MIN : q < INT8_MAX));
  const shape = nhwc(x.onnxShape);
  const ones = new Array<number>(shape.length).fill(1);
  let y = x.index;
  ops.forEach(({ q, builtin, name }, k) => {
    const bound = e.int8Weights(`${base}/${name}_bound`, Int8Array.of(clampInt8(q)), ones, { scale: [x.scale], zeroPoint: [x.zeroPoint] });
    const t = k === ops.length - 1 && sameParams ? out.tensor : e.int8Tensor(`${base}/${name}`, shape, x);
    e.addOperator(builtin, 2, [y, bound], [t], { kind: 'maximumMinimum' });
    y = t;
  });
  // Other output parameters (or no bound to apply): QUANTIZE int8 → int8 into the output.
  if (y !== out.tensor) e.addOperator(BuiltinOperator.QUANTIZE, 2, [y], [out.tensor]);
}

type Converter = (e: Exporter, node: NodeProto) => void;

/** Per-op conversion: ONNX op type → TFLite operators. */
const CONVERTERS: Record<string, Converter> = {
  Conv(e, node) {
    const x = e.input(node.input[0], node);
    const w = e.quantConst(node.input[1], node);
    const [outCh, inPerGroup, kh, kw] = w.dims;
    const group = attrInt(node, 'group', 1);
    const inCh = x.onnxShape[1];
    const { strides, dilations, padding, input } = spatial(node, x, [kh, kw], e);
    const { values, scales } = symmetricPerChannel(w);
    const depthwise = group === inCh && inPerGroup === 1 && group > 1;
    if (group !== 1 && !depthwise) {
      groupedConv(e, node, { input, values, dims: w.dims, scales, group, strides, dilations, padding });
      return;
    }
    const bias = e.bias(node, x.scale, scales);
    const weightName = `${node.name || node.output[0]}/weights`;
    let weights: number;
    if (depthwise) {
      // [C·M, 1, kh, kw] → [1, kh, kw, C·M]
      const t = new Int8Array(values.length);
      for (let o = 0; o < outCh; o++) for (let i = 0; i < kh * kw; i++) t[i * outCh + o] = values[o * kh * kw + i];
      weights = e.int8Weights(weightName, t, [1, kh, kw, outCh], { scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: 3 });
    } else {
      weights = e.int8Weights(weightName, ohwi(values, w.dims), [outCh, kh, kw, inPerGroup], { scale: scales, zeroPoint: scales.map(() => 0), quantizedDimension: 0 });
    }
    const out = e.output(node);
    const common = { padding, strideW: strides[1], strideH: strides[0], activation: out.activation, dilationW: dilations[1], dilationH: dilations[0] };
    if (depthwise) e.addOperator(BuiltinOperator.DEPTHWISE_CONV_2D, 3, [input.index, weights, bias], [out.tensor], { kind: 'depthwiseConv2d', ...common, depthMultiplier: outCh / inCh });
    else e.addOperator(BuiltinOperator.CONV_2D, 3, [input.index, weights, bias], [out.tensor], { kind: 'conv2d', ...common });
  },

  Gemm(e, node) {
    if (attrInt(node, 'transA', 0) !== 0) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Gemm with transA is not exported`);
    fullyConnected(e, node, attrInt(node, 'transB', 0) === 1);
  },

  // MatMul by a constant [I, O] weight on [N, I] activations: a FULLY_CONNECTED without bias.
  MatMul(e, node) {
    const rank = e.input(node.input[0], node).onnxShape.length;
    if (rank !== 2) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: MatMul is exported for rank-2 activations only (rank ${rank})`);
    fullyConnected(e, node, false);
  },

  Add(e, node) { elementwise(e, node, BuiltinOperator.ADD, 'add'); },

  Mul(e, node) { elementwise(e, node, BuiltinOperator.MUL, 'mul'); },

  // TFLite's int8 LOGISTIC writes with scale 1/256 and zero point −128; other ONNX output parameters get a QUANTIZE.
  Sigmoid(e, node) {
    const x = e.input(node.input[0], node);
    const out = e.output(node);
    const target = e.paramsOf(out.tensor);
    const fixed = target.scale === SIGMOID_OUTPUT.scale && target.zeroPoint === SIGMOID_OUTPUT.zeroPoint;
    const y = fixed ? out.tensor : e.int8Tensor(`${node.name || node.output[0]}/logistic`, nhwc(x.onnxShape), SIGMOID_OUTPUT);
    e.addOperator(BuiltinOperator.LOGISTIC, 2, [x.index], [y]);
    if (!fixed) e.addOperator(BuiltinOperator.QUANTIZE, 2, [y], [out.tensor]);
  },

  AveragePool(e, node) {
    const x = e.input(node.input[0], node);
    const kernel = attrInts(node, 'kernel_shape')!;
    // TFLite averages over the valid inputs of a SAME window, as ONNX does with count_include_pad = 0.
    const anyPads = (attrInts(node, 'pads') ?? []).some((p) => p !== 0) || attrString(node, 'auto_pad', 'NOTSET').startsWith('SAME');
    if (anyPads && attrInt(node, 'count_include_pad', 0) !== 0) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: AveragePool with count_include_pad = 1 is not exported`);
    if (attrInt(node, 'ceil_mode', 0) !== 0) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: AveragePool with ceil_mode = 1 is not exported`);
    // TFLite 2.2's int8 AVERAGE_POOL_2D does not requantize (TFLite Micro checks the parameters are equal).
    pool2d(e, node, x, kernel, BuiltinOperator.AVERAGE_POOL_2D);
  },

  Softmax(e, node) {
    const x = e.input(node.input[0], node);
    const rank = x.onnxShape.length;
    const axis = attrInt(node, 'axis', e.opset >= 13 ? -1 : 1);
    if ((axis + rank) % rank !== rank - 1 || rank === 4) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Softmax is exported over the last axis of a non-image tensor only`);
    // TFLite's int8 SOFTMAX writes with scale 1/256 and zero point −128 whatever the ONNX model chose.
    const out = e.output(node, undefined, SOFTMAX_OUTPUT);
    e.addOperator(BuiltinOperator.SOFTMAX, 2, [x.index], [out.tensor], { kind: 'softmax', beta: 1 });
  },

  Concat(e, node) {
    const inputs = node.input.map((name) => e.input(name, node));
    const rank = inputs[0].onnxShape.length;
    const axis = (attrInt(node, 'axis', 1) + rank) % rank;
    if (inputs.some((x) => x.flattenedFrom)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Concat of flattened feature maps is not exported`);
    const out = e.output(node);
    const target = e.paramsOf(out.tensor);
    // TFLite's int8 CONCATENATION copies bytes (TFLite Micro requires equal parameters): an input quantized
    // differently from the output is requantized to the output's parameters first.
    const base = node.name || node.output[0];
    const same = inputs.map((x, k) => e.requantized(x, target, `${base}/input${k}`));
    e.addOperator(BuiltinOperator.CONCATENATION, 2, same.map((x) => x.index), [out.tensor], {
      kind: 'concatenation', axis: rank === 4 ? NHWC_AXIS[axis] : axis, activation: out.activation,
    });
  },

  HardSwish(e, node) {
    const x = e.input(node.input[0], node);
    const out = e.output(node);
    e.addOperator(BuiltinOperator.HARD_SWISH, 1, [x.index], [out.tensor]);
  },

  // TFLite has no hard-sigmoid: max(0, min(1, αx + β)) = RELU6(6α·x + 6β) / 6 as MUL (skipped when 6α = 1),
  // ADD with a fused RELU6, MUL by 1/6 — α = 1/6 is MobileNetV3's, α = 0.2 ONNX's default and PaddleOCR's.
  HardSigmoid(e, node) {
    const x = e.input(node.input[0], node);
    const alpha = attrFloat(node, 'alpha', 0.2), beta = attrFloat(node, 'beta', 0.5);
    if (!(alpha > 0)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: HardSigmoid with alpha ${alpha} ≤ 0 is not exported`);
    const base = node.name || node.output[0];
    const shape = nhwc(x.onnxShape);
    const rank1 = new Array<number>(shape.length).fill(1);
    const scalar = (name: string, v: number) => e.int8Weights(`${base}/${name}`, Int8Array.of(v < 0 ? -127 : 127), rank1, { scale: [Math.abs(v) / 127 || 1], zeroPoint: [0] });
    const int8 = (name: string, p: { scale: number; zeroPoint: number }) => e.addTensor({ name: `${base}/${name}`, shape, type: TensorType.INT8, quantization: { scale: [p.scale], zeroPoint: [p.zeroPoint] } });
    let scaled = x.index;
    const gain = Math.fround(6 * alpha);
    if (Math.abs(gain - 1) > 1e-6) {
      // x · 6α keeps x's integers: scale s·6α, same zero point.
      scaled = int8('scaled', { scale: x.scale * gain, zeroPoint: x.zeroPoint });
      e.addOperator(BuiltinOperator.MUL, 2, [x.index, scalar('gain', gain)], [scaled], { kind: 'mul', activation: Activation.NONE });
    }
    const clipped = int8('relu6', { scale: 6 / 255, zeroPoint: INT8_MIN });
    e.addOperator(BuiltinOperator.ADD, 2, [scaled, scalar('offset', 6 * beta)], [clipped], { kind: 'add', activation: Activation.RELU6 });
    const out = e.output(node);
    e.addOperator(BuiltinOperator.MUL, 2, [clipped, scalar('sixth', 1 / 6)], [out.tensor], { kind: 'mul', activation: out.activation });
  },

  MaxPool(e, node) {
    const x = e.input(node.input[0], node);
    // LiteRT's XNNPACK refuses an int8 MAX_POOL_2D whose output parameters differ from its input's.
    pool2d(e, node, x, attrInts(node, 'kernel_shape')!, BuiltinOperator.MAX_POOL_2D);
  },

  // Constant padding: PAD fills with the zero point, PADV2 with another int8 value (the pad value quantized like the input).
  Pad(e, node) {
    const x = e.input(node.input[0], node);
    const mode = attrString(node, 'mode', 'constant');
    if (mode !== 'constant') throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Pad mode '${mode}' is not exported`);
    if (node.input[3]) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: Pad with axes is not exported`);
    const rank = x.onnxShape.length;
    const constantInput = (slot: number) => (node.input[slot] ? Array.from(tensorValues(e.constant(node.input[slot], node), e.source) as ArrayLike<number | bigint>, Number) : undefined);
    const pads = e.opset < 11 ? attrInts(node, 'pads') : constantInput(1);
    const value = e.opset < 11 ? attrFloat(node, 'value', 0) : constantInput(2)?.[0] ?? 0;
    if (!pads || pads.length !== 2 * rank || pads.some((p) => p < 0)) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: pads ${JSON.stringify(pads)} are not exported (one non-negative begin and end per axis)`);
    const base = node.name || node.output[0];
    // ONNX pads are [begin per axis…, end per axis…]; TFLite's paddings [[begin, end] per axis], NHWC for images.
    const axes = rank === 4 ? [0, 2, 3, 1] : [...Array(rank).keys()];
    const paddings = e.int32Tensor(`${base}/paddings`, axes.flatMap((a) => [pads[a], pads[a + rank]]), [rank, 2]);
    const fill = clampInt8(roundHalfEven(value / x.scale) + x.zeroPoint);
    const out = e.output(node);
    keepingInputParams(e, node, x, out.tensor, (t) => {
      if (fill === x.zeroPoint) {
        e.addOperator(BuiltinOperator.PAD, 2, [x.index, paddings], [t], { kind: 'pad' });
      } else {
        const v = e.int8Weights(`${base}/value`, Int8Array.of(fill), [], { scale: [x.scale], zeroPoint: [x.zeroPoint] });
        e.addOperator(BuiltinOperator.PADV2, 2, [x.index, paddings, v], [t], { kind: 'padV2' });
      }
    });
  },

  GlobalAveragePool(e, node) {
    const x = e.input(node.input[0], node);
    const axes = e.int32Tensor(`${node.name || node.output[0]}/axes`, [1, 2], [2]);
    const out = e.output(node);
    // MEAN requantizes to the output's parameters (AVERAGE_POOL_2D would need them equal to the input's).
    e.addOperator(BuiltinOperator.MEAN, 2, [x.index, axes], [out.tensor], { kind: 'reducer', keepDims: true });
  },

  // Fused into the op before it (which comes first in topological order), or on its own between quantized tensors.
  Relu(e, node) { activation(e, node); },
  Clip(e, node) { activation(e, node); },

  Flatten(e, node) { reshape(e, node); },
  Reshape(e, node) { reshape(e, node); },
};

/** Gemm/MatMul by a constant weight → FULLY_CONNECTED, weights per tensor as [O, I] (`transB`: the ONNX weight is [O, I]). */
function fullyConnected(e: Exporter, node: NodeProto, transB: boolean): void {
  const x = e.input(node.input[0], node);
  const w = e.quantConst(node.input[1], node);
  const [outF, inF] = transB ? w.dims : [w.dims[1], w.dims[0]];
  // Real weights [out, in]; columns in TFLite's flatten order (HWC) when the input was flattened from NHWC.
  const real = new Float64Array(outF * inF);
  const [c, h, wd] = x.flattenedFrom ?? [inF, 1, 1];
  for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) {
    const src = transB ? o * inF + i : i * outF + o;
    const k = w.scale.length > 1 ? (w.axis === 0 ? (transB ? o : i) : (transB ? i : o)) : 0;
    // ONNX column i = (ch, y, x) in CHW order → TFLite column (y, x, ch) in HWC order
    const ch = Math.floor(i / (h * wd)), y = Math.floor((i % (h * wd)) / wd), xx = i % wd;
    real[o * inF + (y * wd + xx) * c + ch] = (w.values[src] - w.zeroPoint[k]) * w.scale[k];
  }
  // FULLY_CONNECTED weights per tensor: TFLite 2.2 and TFLite Micro before 2024 mishandle per-channel FC.
  let maxAbs = 0;
  for (const v of real) maxAbs = Math.max(maxAbs, Math.abs(v));
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  const q = Int8Array.from(real, (v) => clampInt8(roundHalfEven(v / scale)));
  const weights = e.int8Weights(`${node.name || node.output[0]}/weights`, q, [outF, inF], { scale: [scale], zeroPoint: [0] });
  const bias = e.bias(node, x.scale, new Array(outF).fill(scale));
  const biasValues = e.buffers[e.tensors[bias].buffer];
  const out = e.output(node, () => fcOutputRange(x, q, scale, new Int32Array(biasValues.buffer.slice(0)), x.scale * scale));
  e.addOperator(BuiltinOperator.FULLY_CONNECTED, 4, [x.index, weights, bias], [out.tensor], { kind: 'fullyConnected', activation: out.activation });
}

function reshape(e: Exporter, node: NodeProto): void {
  const x = e.input(node.input[0], node);
  const out = e.output(node, () => ({ scale: x.scale, zeroPoint: x.zeroPoint }));
  const target = e.tensors[out.tensor];
  const outAct = e.activations.get(target.name)!;
  if (x.onnxShape.length === 4 && target.shape.length !== 4) {
    if (target.shape.length !== 2 || target.shape[1] !== x.onnxShape[1] * x.onnxShape[2] * x.onnxShape[3]) {
      throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: only a flatten of NCHW to [N, C·H·W] is exported`);
    }
    // TFLite flattens NHWC in HWC order; a following Gemm permutes its weight columns to match.
    if (x.onnxShape[2] * x.onnxShape[3] > 1) outAct.flattenedFrom = x.onnxShape.slice(1);
  }
  const shape = e.int32Tensor(`${target.name}/shape`, target.shape, [target.shape.length]);
  // TFLite Micro's RESHAPE copies bytes: other output parameters need a QUANTIZE after it.
  keepingInputParams(e, node, x, out.tensor, (t) => e.addOperator(BuiltinOperator.RESHAPE, 1, [x.index, shape], [t], { kind: 'reshape', newShape: target.shape }));
}

/** An int8 pooling op on the input's quantization parameters (then a QUANTIZE to the output's when they differ). */
function pool2d(e: Exporter, node: NodeProto, x: Activation8, kernel: number[], op: number): void {
  const { strides, padding } = spatial(node, x, kernel);
  const out = e.output(node);
  keepingInputParams(e, node, x, out.tensor, (t) => e.addOperator(op, 2, [x.index], [t], {
    kind: 'pool2d', padding, strideW: strides[1], strideH: strides[0], filterW: kernel[1], filterH: kernel[0], activation: out.activation,
  }));
}

/**
 * An op that must keep its input's quantization (pools, reshapes): `emit` writes it into the output tensor when the
 * parameters agree, otherwise into a tensor with the input's parameters that a QUANTIZE then requantizes.
 */
function keepingInputParams(e: Exporter, node: NodeProto, x: Activation8, output: number, emit: (tensor: number) => void): void {
  const target = e.paramsOf(output);
  const same = target.scale === x.scale && target.zeroPoint === x.zeroPoint;
  const t = same ? output : e.int8Tensor(`${node.name || node.output[0]}/with_input_params`, e.tensors[output].shape, x);
  emit(t);
  if (!same) e.addOperator(BuiltinOperator.QUANTIZE, 2, [t], [output]);
}

/** Output parameters of a FULLY_CONNECTED whose ONNX output is float: the exact range its inputs can reach. */
function fcOutputRange(x: Activation8, w: Int8Array, wScale: number, bias: Int32Array, accScale: number) {
  const xmin = (INT8_MIN - x.zeroPoint) * x.scale;
  const xmax = (INT8_MAX - x.zeroPoint) * x.scale;
  const outF = bias.length;
  const inF = w.length / outF;
  let lo = 0, hi = 0;
  for (let o = 0; o < outF; o++) {
    let a = bias[o] * accScale, b = a;
    for (let i = 0; i < inF; i++) {
      const v = w[o * inF + i] * wScale;
      a += Math.min(v * xmin, v * xmax);
      b += Math.max(v * xmin, v * xmax);
    }
    lo = Math.min(lo, a); hi = Math.max(hi, b);
  }
  const scale = (hi - lo) / 255 || 1;
  return { scale, zeroPoint: clampInt8(roundHalfEven(INT8_MIN - lo / scale)) };
}

const OP_NAMES = Object.fromEntries(Object.entries(BuiltinOperator).map(([k, v]) => [v, k]));

/** Converts a QDQ int8 ONNX model (as ONNX Lens's static quantizer writes it) to a .tflite flatbuffer. */
export function exportTflite(onnx: ModelProto, opts: ExportOptions): ExportResult {
  // Add → Clip(0, 6) → Mul → Div as exporters write hard-swish becomes one HardSwish (TFLite's HARD_SWISH).
  const proto = fuseHardSwish(onnx, opts.source);
  const graph = proto.graph!;
  const index = indexGraph(graph);
  const shapes = inferShapes(graph, { source: opts.source }, index);
  const e = new Exporter(index, shapes, opts.source ?? {}, opsetVersion(proto));
  const float = opts.io === 'float';
  const inputs: EdgeTensor[] = [];
  const inputIndices: number[] = [];
  for (const name of index.graphInputs) {
    const consumers = index.consumers.get(name) ?? [];
    const q = consumers[0];
    if (consumers.length !== 1 || q.opType !== 'QuantizeLinear') throw new UnsupportedOperator(undefined, `input '${name}': the model input must go straight into one QuantizeLinear (a static int8 QDQ model)`);
    const shape = e.onnxShape(name, q);
    const params = e.activationParams(q);
    const quantization = { scale: [params.scale], zeroPoint: [params.zeroPoint] };
    const tensor = e.addTensor({ name: float ? `${name}/int8` : name, shape: nhwc(shape), type: TensorType.INT8, quantization });
    const act = { index: tensor, ...params, onnxShape: shape };
    e.activations.set(q.output[0], act);
    for (const dq of index.consumers.get(q.output[0]) ?? []) if (dq.opType === 'DequantizeLinear') e.activations.set(dq.output[0], act);
    inputs.push({ name, shape: nhwc(shape), type: float ? 'float32' : 'int8', ...params });
    if (float) {
      const input = e.addTensor({ name, shape: nhwc(shape), type: TensorType.FLOAT32 });
      e.operators.unshift({ opcodeIndex: e.opcode(BuiltinOperator.QUANTIZE, 2), inputs: [input], outputs: [tensor] });
      inputIndices.push(input);
    } else {
      inputIndices.push(tensor);
    }
  }
  for (const node of topologicalOrder(graph)) {
    if (node.opType === 'QuantizeLinear' || node.opType === 'DequantizeLinear') continue;
    const convert = node.domain === '' || node.domain === 'ai.onnx' ? CONVERTERS[node.opType] : undefined;
    if (!convert) throw new UnsupportedOperator(undefined, `${nodeLabel(node)}: ${node.opType} cannot be exported to TFLite yet`);
    convert(e, node);
  }
  const outputs: EdgeTensor[] = [];
  const outputIndices: number[] = [];
  for (const v of graph.output) {
    const act = e.activations.get(v.name);
    if (!act) throw new UnsupportedOperator(undefined, `output '${v.name}' is not the output of an exported op`);
    if (act.flattenedFrom) throw new UnsupportedOperator(undefined, `output '${v.name}': a flattened feature map as model output is not exported yet`);
    const t = e.tensors[act.index];
    outputs.push({ name: v.name, shape: t.shape, type: float ? 'float32' : 'int8', scale: act.scale, zeroPoint: act.zeroPoint });
    if (float) {
      t.name = `${v.name}/int8`;
      const output = e.addTensor({ name: v.name, shape: t.shape, type: TensorType.FLOAT32 });
      e.addOperator(BuiltinOperator.DEQUANTIZE, 2, [act.index], [output]);
      outputIndices.push(output);
    } else {
      outputIndices.push(act.index);
    }
  }
  const model: TfliteModel = {
    description: 'ONNX Lens export', operatorCodes: e.codes, tensors: e.tensors,
    inputs: inputIndices, outputs: outputIndices, operators: e.operators, buffers: e.buffers,
  };
  return { bytes: encodeTflite(model), inputs, outputs, ops: [...new Set(e.codes.map((c) => OP_NAMES[c.builtin]))] };
}
