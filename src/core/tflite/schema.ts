// The part of the TensorFlow Lite flatbuffer schema (tensorflow/lite/schema/schema.fbs, file identifier "TFL3")
// that the exporter writes, as plain data and an encoder on the npm `flatbuffers` builder. Field numbers are the
// schema's field ids (a union takes two: its type byte, then its table).
import { Builder, type Offset } from 'flatbuffers';

export const TensorType = { FLOAT32: 0, INT32: 2, UINT8: 3, INT64: 4, INT8: 9 } as const;

export const BuiltinOperator = {
  ADD: 0, AVERAGE_POOL_2D: 1, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, DEQUANTIZE: 6, FULLY_CONNECTED: 9, MAX_POOL_2D: 17,
  CONCATENATION: 2, LOGISTIC: 14, MUL: 18, RESHAPE: 22, SOFTMAX: 25, PAD: 34, MEAN: 40, SPLIT: 49, MAXIMUM: 55, MINIMUM: 57, PADV2: 60,
  QUANTIZE: 114, HARD_SWISH: 117,
} as const;

export const Padding = { SAME: 0, VALID: 1 } as const;
export const Activation = { NONE: 0, RELU: 1, RELU6: 3 } as const;

/** Builtin options: one variant per options table used, tagged with its BuiltinOptions union number. */
export type BuiltinOptions =
  | { kind: 'conv2d'; padding: number; strideW: number; strideH: number; activation: number; dilationW: number; dilationH: number }
  | { kind: 'depthwiseConv2d'; padding: number; strideW: number; strideH: number; depthMultiplier: number; activation: number; dilationW: number; dilationH: number }
  | { kind: 'pool2d'; padding: number; strideW: number; strideH: number; filterW: number; filterH: number; activation: number }
  | { kind: 'fullyConnected'; activation: number }
  | { kind: 'add'; activation: number }
  | { kind: 'mul'; activation: number }
  | { kind: 'softmax'; beta: number }
  | { kind: 'concatenation'; axis: number; activation: number }
  | { kind: 'reshape'; newShape: number[] }
  | { kind: 'pad' }
  | { kind: 'padV2' }
  | { kind: 'reducer'; keepDims: boolean }
  | { kind: 'split'; numSplits: number }
  | { kind: 'maximumMinimum' };

const OPTIONS_UNION: Record<BuiltinOptions['kind'], number> = {
  conv2d: 1, depthwiseConv2d: 2, pool2d: 5, fullyConnected: 8, softmax: 9, concatenation: 10, add: 11, reshape: 17, mul: 21, pad: 22, reducer: 27,
  split: 35, maximumMinimum: 39, padV2: 43,
};

export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  /** the axis of per-channel parameters */
  quantizedDimension?: number;
}

export interface TfliteTensor {
  name: string;
  shape: number[];
  type: number;
  /** index into TfliteModel.buffers; 0 (the empty buffer) for activations */
  buffer: number;
  quantization?: Quantization;
}

export interface TfliteOperator {
  /** index into TfliteModel.operatorCodes */
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  options?: BuiltinOptions;
}

export interface TfliteModel {
  description: string;
  /** builtin operator codes, each with its op version */
  operatorCodes: { builtin: number; version: number }[];
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
  /** buffers[0] must be empty (the schema's convention for "no data") */
  buffers: Uint8Array[];
}

/** Buffer data is aligned to 16 bytes so that a C array of the file can be read in place (TFLite Micro). */
const BUFFER_ALIGNMENT = 16;

function int32Vector(b: Builder, values: readonly number[]): Offset {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly Offset[]): Offset {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

/**
 * Equal vectors written once and referenced from every table that has them (valid in a flatbuffer: a vector
 * is an offset). Per-channel quantization repeats [0, …, 0] zero points of each width for every weight and
 * bias tensor — 8 bytes a channel each — and tensor shapes repeat; sharing them keeps the file near its
 * weights' size.
 */
class SharedVectors {
  private readonly written = new Map<string, Offset>();
  constructor(private readonly b: Builder) {}

  int32(values: readonly number[]): Offset {
    return this.once(`i32:${values.join(',')}`, () => int32Vector(this.b, values));
  }

  int64(values: readonly number[]): Offset {
    return this.once(`i64:${values.join(',')}`, () => {
      this.b.startVector(8, values.length, 8);
      for (let i = values.length - 1; i >= 0; i--) this.b.addInt64(BigInt(values[i]));
      return this.b.endVector();
    });
  }

  private once(key: string, write: () => Offset): Offset {
    let at = this.written.get(key);
    if (at === undefined) this.written.set(key, (at = write()));
    return at;
  }
}

function encodeQuantization(b: Builder, shared: SharedVectors, q: Quantization): Offset {
  b.startVector(4, q.scale.length, 4);
  for (let i = q.scale.length - 1; i >= 0; i--) b.addFloat32(q.scale[i]);
  const scale = b.endVector();
  const zeroPoint = shared.int64(q.zeroPoint);
  b.startObject(7); // min, max, scale, zero_point, details_type, details, quantized_dimension
  b.addFieldOffset(2, scale, 0);
  b.addFieldOffset(3, zeroPoint, 0);
  b.addFieldInt32(6, q.quantizedDimension ?? 0, 0);
  return b.endObject();
}

function encodeTensor(b: Builder, shared: SharedVectors, t: TfliteTensor): Offset {
  const shape = shared.int32(t.shape);
  const name = b.createString(t.name);
  const quantization = t.quantization ? encodeQuantization(b, shared, t.quantization) : 0;
  b.startObject(5); // shape, type, buffer, name, quantization
  b.addFieldOffset(0, shape, 0);
  b.addFieldInt8(1, t.type, 0);
  b.addFieldInt32(2, t.buffer, 0);
  b.addFieldOffset(3, name, 0);
  if (quantization) b.addFieldOffset(4, quantization, 0);
  return b.endObject();
}

/** A table of scalar fields, field id = position in `fields`: [byte (true) or int32 (false), value, default]. */
function scalarTable(b: Builder, fields: [byte: boolean, value: number, fallback: number][]): Offset {
  b.startObject(fields.length);
  fields.forEach(([byte, value, fallback], id) => (byte ? b.addFieldInt8(id, value, fallback) : b.addFieldInt32(id, value, fallback)));
  return b.endObject();
}

function encodeOptions(b: Builder, o: BuiltinOptions): Offset {
  switch (o.kind) {
    case 'conv2d': // padding, stride_w, stride_h, fused_activation_function, dilation_w_factor, dilation_h_factor
      return scalarTable(b, [[true, o.padding, 0], [false, o.strideW, 0], [false, o.strideH, 0], [true, o.activation, 0], [false, o.dilationW, 1], [false, o.dilationH, 1]]);
    case 'depthwiseConv2d': // padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w/h_factor
      return scalarTable(b, [[true, o.padding, 0], [false, o.strideW, 0], [false, o.strideH, 0], [false, o.depthMultiplier, 0], [true, o.activation, 0],
        [false, o.dilationW, 1], [false, o.dilationH, 1]]);
    case 'pool2d': // padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
      return scalarTable(b, [[true, o.padding, 0], [false, o.strideW, 0], [false, o.strideH, 0], [false, o.filterW, 0], [false, o.filterH, 0], [true, o.activation, 0]]);
    case 'fullyConnected': // fused_activation_function (then weights_format, keep_num_dims, … left at their defaults)
    case 'add': // fused_activation_function
    case 'mul':
      return scalarTable(b, [[true, o.activation, 0]]);
    case 'concatenation': // axis, fused_activation_function
      return scalarTable(b, [[false, o.axis, 0], [true, o.activation, 0]]);
    case 'softmax': // beta
      b.startObject(1);
      b.addFieldFloat32(0, o.beta, 0);
      return b.endObject();
    case 'reshape': {
      const newShape = int32Vector(b, o.newShape);
      b.startObject(1); // new_shape
      b.addFieldOffset(0, newShape, 0);
      return b.endObject();
    }
    case 'pad':
    case 'padV2':
    case 'maximumMinimum':
      return scalarTable(b, []);
    case 'split': // num_splits
      return scalarTable(b, [[false, o.numSplits, 0]]);
    case 'reducer': // keep_dims
      return scalarTable(b, [[true, o.keepDims ? 1 : 0, 0]]);
  }
}

function encodeOperator(b: Builder, op: TfliteOperator): Offset {
  const inputs = int32Vector(b, op.inputs);
  const outputs = int32Vector(b, op.outputs);
  const options = op.options ? encodeOptions(b, op.options) : 0;
  b.startObject(5); // opcode_index, inputs, outputs, builtin_options_type, builtin_options
  b.addFieldInt32(0, op.opcodeIndex, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  if (op.options) {
    b.addFieldInt8(3, OPTIONS_UNION[op.options.kind], 0);
    b.addFieldOffset(4, options, 0);
  }
  return b.endObject();
}

function encodeBuffer(b: Builder, data: Uint8Array): Offset {
  let bytes = 0;
  if (data.length > 0) {
    b.startVector(1, data.length, BUFFER_ALIGNMENT);
    for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
    bytes = b.endVector();
  }
  b.startObject(1); // data
  if (bytes) b.addFieldOffset(0, bytes, 0);
  return b.endObject();
}

/** The model as a .tflite file; the returned array owns its ArrayBuffer (runtimes may take `.buffer` whole). */
export function encodeTflite(m: TfliteModel): Uint8Array {
  if (m.buffers.length === 0 || m.buffers[0].length !== 0) throw new Error('TFLite buffer 0 must exist and be empty');
  const b = new Builder(1 << 16);
  // Buffers first: they are the bulk of the file and need their alignment.
  const buffers = offsetVector(b, m.buffers.map((d) => encodeBuffer(b, d)));
  const shared = new SharedVectors(b);
  const tensors = offsetVector(b, m.tensors.map((t) => encodeTensor(b, shared, t)));
  const operators = offsetVector(b, m.operators.map((op) => encodeOperator(b, op)));
  const inputs = int32Vector(b, m.inputs);
  const outputs = int32Vector(b, m.outputs);
  const graphName = b.createString('main');
  b.startObject(5); // tensors, inputs, outputs, operators, name
  b.addFieldOffset(0, tensors, 0);
  b.addFieldOffset(1, inputs, 0);
  b.addFieldOffset(2, outputs, 0);
  b.addFieldOffset(3, operators, 0);
  b.addFieldOffset(4, graphName, 0);
  const subgraph = b.endObject();
  const subgraphs = offsetVector(b, [subgraph]);
  const codes = offsetVector(b, m.operatorCodes.map((c) => {
    b.startObject(4); // deprecated_builtin_code (byte, read by runtimes before 2.5), custom_code, version, builtin_code
    b.addFieldInt8(0, Math.min(c.builtin, 127), 0);
    b.addFieldInt32(2, c.version, 1);
    b.addFieldInt32(3, c.builtin, 0);
    return b.endObject();
  }));
  const description = b.createString(m.description);
  b.startObject(5); // version, operator_codes, subgraphs, description, buffers
  b.addFieldInt32(0, 3, 0); // schema version 3
  b.addFieldOffset(1, codes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffers, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}
