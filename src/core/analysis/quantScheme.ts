// Quantization scheme detection from the graph itself, as ONNX Runtime's quantizer lays models out
// (onnxruntime/python/tools/quantization): QDQ (DequantizeLinear feeding a weight input), QOperator
// (QLinearConv/QLinearMatMul), dynamic (ConvInteger/MatMulInteger after DynamicQuantizeLinear), weight-only
// (MatMulNBits blocks), and float16/bfloat16/float8 storage. Resolves each weight to its stored tensor with
// the scale and zero-point that give its real value: real = (q − zeroPoint) · scale.
import { UnsupportedOperator } from '../errors';
import { attrInt } from '../onnx/build';
import { DataType, dtypeBits, dtypeInfo, dtypeName } from '../onnx/dtypes';
import type { GraphIndex } from '../onnx/graph';
import type { NodeProto, TensorProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import { forEachRawChunk, rawBytes, tensorDims, tensorValues, type ByteBuffer, type TensorSource } from '../onnx/tensor';
import type { LayerOp, WeightSlot } from './layerOps';
import type { QuantScheme, WeightInfo } from './report';

export interface StoredWeight {
  /** name of the tensor that holds the stored values */
  name: string;
  tensor: TensorProto;
  role: WeightInfo['role'];
  /** logical shape of the weight (MatMulNBits: [N, K], not the packed blob shape) */
  shape: number[];
  dtype: string;
  bits: number;
  scheme: QuantScheme;
  perChannel: boolean;
  axis?: number;
  blockSize?: number;
  /** scale and zero-point tensors stored next to the weight */
  quantParams: TensorProto[];
  /** stored values in logical order (integers for quantized weights) */
  values: () => ArrayLike<number>;
  /** does values() give the stored tensor's own elements (false when they are unpacked, as for MatMulNBits)? */
  valuesAreTensor: boolean;
  /** the stored tensor's raw little-endian bytes: a view of the file buffer, or read from disk into `into` */
  rawBytes: (into?: ByteBuffer) => Uint8Array;
  /** the same bytes in pieces of `chunkBytes` where they are read from disk (forEachRawChunk), else whole */
  rawChunks: (chunkBytes: number, into: ByteBuffer, fn: (bytes: Uint8Array, offset: number) => void) => void;
  /** for element i: the stored value that means real zero, and the scale to real values */
  zeroPoint: (i: number) => number;
  scale: (i: number) => number;
}

const floatSchemes: Record<number, QuantScheme> = {
  [DataType.FLOAT]: 'float', [DataType.DOUBLE]: 'float', [DataType.FLOAT16]: 'fp16', [DataType.BFLOAT16]: 'bf16',
  [DataType.FLOAT8E4M3FN]: 'fp8', [DataType.FLOAT8E4M3FNUZ]: 'fp8', [DataType.FLOAT8E5M2]: 'fp8', [DataType.FLOAT8E5M2FNUZ]: 'fp8',
};

function storageScheme(dataType: number): QuantScheme {
  return floatSchemes[dataType] ?? 'integer';
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/**
 * Maps an element index of a tensor of `shape` to the index of its quantization parameter: one parameter
 * (per tensor), one per slice along `axis` (per channel), or one per block of `blockSize` along `axis`.
 */
export function paramIndexer(shape: readonly number[], paramDims: readonly number[], axis: number, blockSize = 0): (i: number) => number {
  if (numel(paramDims) <= 1) return () => 0;
  const inner = numel(shape.slice(axis + 1));
  const channels = shape[axis];
  if (paramDims.length <= 1 || !blockSize) return (i) => Math.floor(i / inner) % channels;
  const blocks = paramDims[axis];
  return (i) => {
    const outer = Math.floor(i / (inner * channels));
    const c = Math.floor(i / inner) % channels;
    return (outer * blocks + Math.floor(c / blockSize)) * inner + (i % inner);
  };
}

function lookup(t: TensorProto | undefined, src: TensorSource, fallback: number, index: (i: number) => number): (i: number) => number {
  if (!t) return () => fallback;
  const v = tensorValues(t, src);
  if (v.length === 1) return () => v[0];
  return (i) => v[index(i)];
}

/** The scale and zero-point tensors that exist. */
function present(...tensors: (TensorProto | undefined)[]): TensorProto[] {
  return tensors.filter((x): x is TensorProto => !!x);
}

/** Reads of the stored tensor's raw bytes, whole or in pieces. */
function byteAccess(t: TensorProto, src: TensorSource): Pick<StoredWeight, 'rawBytes' | 'rawChunks'> {
  return {
    rawBytes: (into) => rawBytes(t, src, into),
    rawChunks: (chunkBytes, into, fn) => forEachRawChunk(t, src, chunkBytes, into, fn),
  };
}

/** Accessors of a weight whose stored tensor `t` holds its elements in logical order, `index` mapping each to its scale and zero-point. */
function elementAccess(t: TensorProto, scaleT: TensorProto | undefined, zpT: TensorProto | undefined, index: (i: number) => number, src: TensorSource):
  Pick<StoredWeight, 'quantParams' | 'values' | 'valuesAreTensor' | 'rawBytes' | 'rawChunks' | 'zeroPoint' | 'scale'> {
  return {
    quantParams: present(scaleT, zpT),
    values: () => tensorValues(t, src),
    valuesAreTensor: true,
    ...byteAccess(t, src),
    zeroPoint: lookup(zpT, src, 0, index),
    scale: lookup(scaleT, src, 1, index),
  };
}

/** A constant stored directly (possibly through a Cast), or with scale/zero-point inputs of the op itself. */
function direct(name: string, t: TensorProto, slot: WeightSlot, n: NodeProto, op: LayerOp, opScheme: QuantScheme | undefined, g: GraphIndex, src: TensorSource): StoredWeight {
  const shape = tensorDims(t);
  const scaleT = slot.scale !== undefined ? g.constants.get(n.input[slot.scale] ?? '') : undefined;
  const zpT = slot.zeroPoint !== undefined ? g.constants.get(n.input[slot.zeroPoint] ?? '') : undefined;
  const perChannel = present(scaleT, zpT).some((q) => numel(tensorDims(q)) > 1);
  const axis = op.outAxis(n, shape.length);
  const index = paramIndexer(shape, perChannel ? [shape[axis]] : [], axis);
  const quantized = slot.scale !== undefined || slot.zeroPoint !== undefined;
  return {
    name, tensor: t, role: slot.role, shape,
    dtype: dtypeName(t.dataType), bits: dtypeBits(t.dataType),
    scheme: quantized && opScheme ? opScheme : storageScheme(t.dataType),
    perChannel: quantized && perChannel, axis: quantized && perChannel ? axis : undefined,
    ...elementAccess(t, scaleT, zpT, index, src),
  };
}

/** DequantizeLinear(q, scale, zeroPoint) feeding the weight input: the QDQ format. */
function qdq(dq: NodeProto, q: TensorProto, slot: WeightSlot, g: GraphIndex, src: TensorSource): StoredWeight {
  const shape = tensorDims(q);
  const scaleT = g.constants.get(dq.input[1] ?? '');
  const zpT = dq.input[2] ? g.constants.get(dq.input[2]) : undefined;
  const paramDims = scaleT ? tensorDims(scaleT) : [];
  const perChannel = numel(paramDims) > 1;
  const axis = normAxis(attrInt(dq, 'axis', 1), shape.length);
  const blockSize = attrInt(dq, 'block_size', 0);
  const index = paramIndexer(shape, paramDims, axis, blockSize);
  return {
    name: dq.input[0], tensor: q, role: slot.role, shape,
    dtype: dtypeName(q.dataType), bits: dtypeBits(q.dataType), scheme: 'qdq',
    perChannel, axis: perChannel ? axis : undefined, blockSize: blockSize || undefined,
    ...elementAccess(q, scaleT, zpT, index, src),
  };
}

/** MatMulNBits (com.microsoft): B is uint8 [N, blocks, blobBytes] holding `bits`-bit values, K along blocks. */
function matmulNBits(n: NodeProto, b: TensorProto, g: GraphIndex, src: TensorSource): StoredWeight {
  const N = attrInt(n, 'N', 0);
  const K = attrInt(n, 'K', 0);
  const bits = attrInt(n, 'bits', 4);
  const blockSize = attrInt(n, 'block_size', 0);
  if (!N || !K || !blockSize || ![2, 4, 8].includes(bits)) {
    throw new UnsupportedOperator(src.file, `MatMulNBits node '${n.name}' has attributes N=${N} K=${K} bits=${bits} block_size=${blockSize}`);
  }
  const blocks = Math.ceil(K / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const mask = (1 << bits) - 1;
  const scaleT = g.constants.get(n.input[2] ?? '');
  const zpT = n.input[3] ? g.constants.get(n.input[3]) : undefined;
  const block = (i: number) => Math.floor(i / K) * blocks + Math.floor((i % K) / blockSize);
  let zeroPoint: (i: number) => number = () => 2 ** (bits - 1);
  if (zpT?.dataType === DataType.UINT8) {
    const zp = tensorValues(zpT, src);
    const rowBytes = Math.ceil((blocks * bits) / 8);
    zeroPoint = (i) => {
      const row = Math.floor(i / K);
      const blk = Math.floor((i % K) / blockSize);
      return (zp[row * rowBytes + Math.floor((blk * bits) / 8)] >> ((blk * bits) % 8)) & mask;
    };
  } else if (zpT) {
    zeroPoint = lookup(zpT, src, 0, block);
  }
  return {
    name: n.input[1], tensor: b, role: 'weight', shape: [N, K],
    dtype: `uint${bits}`, bits, scheme: 'weight-only', perChannel: true, axis: 0, blockSize,
    quantParams: present(scaleT, zpT),
    values: () => {
      const packed = tensorValues(b, src);
      const out = new Uint8Array(N * K);
      for (let row = 0; row < N; row++) {
        for (let k = 0; k < K; k++) {
          const j = k % blockSize;
          const byte = packed[(row * blocks + Math.floor(k / blockSize)) * blobBytes + Math.floor((j * bits) / 8)];
          out[row * K + k] = (byte >> ((j * bits) % 8)) & mask;
        }
      }
      return out;
    },
    valuesAreTensor: false,
    ...byteAccess(b, src),
    zeroPoint,
    scale: lookup(scaleT, src, 1, block),
  };
}

/** Strings and complex numbers are never weights. */
function numeric(t: TensorProto | undefined): TensorProto | undefined {
  const kind = t && dtypeInfo(t.dataType)?.kind;
  return kind === 'string' || kind === 'complex' || kind === undefined ? undefined : t;
}

/**
 * The stored weight behind input `slot` of node `n`: a constant (initializer or Constant node), possibly
 * reached through DequantizeLinear (QDQ) or Cast; undefined when the input is computed at run time.
 */
export function resolveWeight(n: NodeProto, slot: WeightSlot, op: LayerOp, g: GraphIndex, src: TensorSource): StoredWeight | undefined {
  const name = n.input[slot.input];
  if (!name) return undefined;
  const constant = numeric(g.constants.get(name));
  const isDynamic = op.data !== undefined && g.producer.get(n.input[op.data] ?? '')?.opType === 'DynamicQuantizeLinear';
  const opScheme = typeof op.scheme === 'function' ? op.scheme(n, isDynamic) : op.scheme;
  if (constant) {
    if (opScheme === 'weight-only' && slot.role === 'weight') return matmulNBits(n, constant, g, src);
    return direct(name, constant, slot, n, op, opScheme, g, src);
  }
  const producer = g.producer.get(name);
  const source = producer && numeric(g.constants.get(producer.input[0] ?? ''));
  if (!producer || !source) return undefined;
  if (producer.opType === 'DequantizeLinear') return qdq(producer, source, slot, g, src);
  if (producer.opType === 'Cast') return direct(producer.input[0], source, { ...slot, scale: undefined, zeroPoint: undefined }, n, op, undefined, g, src);
  return undefined;
}
