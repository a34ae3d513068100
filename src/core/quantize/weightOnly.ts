// Weight-only quantization: constant weights stored as int8 / int4 and restored by DequantizeLinear at
// load time (ONNX QDQ, per-tensor, per-channel or opset-21 block-wise), and 2-D MatMul weights as
// com.microsoft MatMulNBits (ONNX Runtime's matmul_nbits_quantizer: blocks along K, symmetric RTN).
import { UsageError } from '../errors';
import { attr, node } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, nodeLabel, usedNames } from '../onnx/graph';
import { upgradeOpset } from '../onnx/opsetUpgrade';
import { clone, create, ModelProtoSchema, OperatorSetIdProtoSchema, type ModelProto, type NodeProto } from '../onnx/proto';
import { opsetVersion } from '../onnx/read';
import { makeTensor, packSubByte, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import { quantizeTensor, scaleDims, type QuantizedTensor, type WeightQuantOptions } from './affine';
import { dropUnusedConstants } from './compact';
import { WEIGHT_RULES } from './rules';

export interface WeightOnlyOptions {
  bits: 8 | 4;
  /** one scale per output channel (default) instead of one per tensor */
  perChannel: boolean;
  /** int4: elements per block along the summed axis (K / input channels), a power of two ≥ 16. MatMul
   * weights always use blocks (MatMulNBits, default 32); Conv/Gemm weights only when this is given. */
  blockSize?: number;
  /** int4: use MatMulNBits for 2-D MatMul weights (default true) */
  matMulNBits?: boolean;
  /** how the integers are chosen for the scales quantizeTensor gives (default round-to-nearest; GPTQ: src/core/obs/gptq.ts) */
  rounding?: WeightRounding;
}

/** Quantizes one layer's weight (node as in the input model) like quantizeTensor(values, dims, quant), possibly choosing other integers. */
export type WeightRounding = (node: NodeProto, values: ArrayLike<number>, dims: number[], quant: WeightQuantOptions) => QuantizedTensor;

const nearest: WeightRounding = (_node, values, dims, quant) => quantizeTensor(values, dims, quant);

export interface QuantizedLayer { name: string; op: string; weight: string; format: 'DequantizeLinear' | 'MatMulNBits'; bits: number }

/** Candidate nodes: Conv / Gemm / MatMul whose weight input is a float constant. */
export function weightCandidates(proto: ModelProto): NodeProto[] {
  const index = indexGraph(proto.graph!);
  return proto.graph!.node.filter((n) => {
    const rule = WEIGHT_RULES[n.opType];
    if (!rule || n.domain !== '') return false;
    const w = index.constants.get(n.input[rule.weightInput!]);
    return !!w && w.dataType === DataType.FLOAT;
  });
}

/** Weight-only quantization of `selected` (nodes of `proto`); returns the new model and what changed. */
export function quantizeWeightOnly(proto: ModelProto, selected: readonly NodeProto[], opts: WeightOnlyOptions, src: TensorSource = {}): { proto: ModelProto; layers: QuantizedLayer[] } {
  const blockSize = opts.blockSize ?? 32;
  const blockWise = opts.bits === 4 && opts.blockSize !== undefined;
  if (opts.bits === 4 && (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)) throw new UsageError(src.file, `--block-size must be a power of two ≥ 16, got ${blockSize}`);
  // Per-channel DequantizeLinear needs opset 13; int4 DequantizeLinear needs opset 21.
  const needed = opts.bits === 4 ? 21 : opts.perChannel ? 13 : 10;
  const out = opsetVersion(proto) < needed ? upgradeOpset(proto, needed, src) : clone(ModelProtoSchema, proto);
  const g = out.graph!;
  // The upgrade may insert nodes and nodes may be unnamed: find the selected ones again by their output, which
  // the upgrade keeps for every op with a weight (it renames only the Softmax family's outputs).
  const chosen = selected.map((n) => g.node.find((m) => m.output[0] === n.output[0])!);
  const index = indexGraph(g);
  const names = usedNames(g);
  const layers: QuantizedLayer[] = [];
  const replaced = new Set<string>();
  const before = new Map<NodeProto, NodeProto[]>();
  const qType = opts.bits === 4 ? 'int4' : 'int8';
  const dataType = opts.bits === 4 ? DataType.INT4 : DataType.INT8;
  let usesContrib = false;
  const round = opts.rounding ?? nearest;

  for (const n of chosen) {
    const rule = WEIGHT_RULES[n.opType];
    const slot = rule.weightInput!;
    const wName = n.input[slot];
    const w = index.constants.get(wName)!;
    const dims = tensorDims(w);
    const values = tensorValues(w, src);
    // The rounding sees the node before it may become MatMulNBits.
    const original = { ...n, name: nodeLabel(n) } as NodeProto;
    if (opts.bits === 4 && (opts.matMulNBits ?? true) && n.opType === 'MatMul' && dims.length === 2 && dims[0] >= 16) {
      const [k, cols] = dims;
      const { packed, scales } = matMulNBitsWeight(round(original, values, dims, { type: 'int4', symmetric: true, axis: 0, blockSize }), k, cols, blockSize);
      n.opType = 'MatMulNBits';
      n.domain = 'com.microsoft';
      const bq = freshName(names, `${wName}_nbits`);
      const bs = freshName(names, `${wName}_s`);
      g.initializer.push(makeTensor(bq, DataType.UINT8, [cols, Math.ceil(k / blockSize), blockSize / 2], packed), makeTensor(bs, DataType.FLOAT, [cols * Math.ceil(k / blockSize)], scales));
      n.input = [n.input[0], bq, bs];
      n.attribute.push(attr('K', k), attr('N', cols), attr('bits', 4), attr('block_size', blockSize));
      usesContrib = true;
      layers.push({ name: n.name, op: 'MatMul', weight: wName, format: 'MatMulNBits', bits: 4 });
    } else {
      const reduction = (rule.reductionAxis!(n) + dims.length) % dims.length;
      const axis = blockWise ? reduction : opts.perChannel ? (rule.weightAxis!(n) + dims.length) % dims.length : undefined;
      const q = round(original, values, dims, { type: qType, symmetric: true, axis, ...(blockWise ? { blockSize } : {}) });
      const wq = freshName(names, `${wName}_${qType}`);
      const ws = freshName(names, `${wName}_s`);
      g.initializer.push(makeTensor(wq, dataType, dims, q.values), makeTensor(ws, DataType.FLOAT, scaleDims(q, dims), q.scales));
      const dq = freshName(names, `${wName}_dq`);
      const attrs: Record<string, number> = axis === undefined ? {} : blockWise ? { axis, block_size: blockSize } : { axis };
      before.set(n, [...(before.get(n) ?? []), node('DequantizeLinear', [wq, ws], [dq], attrs)]);
      n.input[slot] = dq;
      layers.push({ name: n.name, op: n.opType, weight: wName, format: 'DequantizeLinear', bits: opts.bits });
    }
    replaced.add(wName);
  }
  g.node = g.node.flatMap((n) => [...(before.get(n) ?? []), n]);
  dropUnusedConstants(g, replaced);
  if (usesContrib && !out.opsetImport.some((o) => o.domain === 'com.microsoft')) {
    out.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
  }
  return { proto: out, layers };
}

/**
 * MatMulNBits layout of a [K, N] weight quantized block-wise along K (symmetric int4, scales [K / blockSize, N]):
 * per column, blocks of `blockSize` along K with the default zero point 8 (q + 8 stored unsigned), two values
 * per byte, low nibble first; a last partial block is padded with zeros.
 */
function matMulNBitsWeight(q: QuantizedTensor, k: number, cols: number, blockSize: number): { packed: Uint8Array; scales: Float32Array } {
  const blocks = Math.ceil(k / blockSize);
  const packed = new Uint8Array(cols * blocks * (blockSize / 2));
  const scales = new Float32Array(cols * blocks);
  const column = new Int32Array(blockSize);
  for (let c = 0; c < cols; c++) {
    for (let b = 0; b < blocks; b++) {
      column.fill(8);
      for (let i = 0; i < blockSize && b * blockSize + i < k; i++) column[i] = q.values[(b * blockSize + i) * cols + c] + 8;
      scales[c * blocks + b] = q.scales[b * cols + c];
      packed.set(packSubByte(column, 4), (c * blocks + b) * (blockSize / 2));
    }
  }
  return { packed, scales };
}
