// Full-integer QDQ for TFLite: onnxruntime-style static QDQ (qdq.ts) leaves float tensors between quantized ops where
// onnxruntime has no integer kernel (HardSigmoid, Mul, HardSwish, Softmax, a Gemm's float output); TFLite's int8
// kernels need every activation int8 (TFLite quantization spec). Each such tensor gets a QuantizeLinear/DequantizeLinear
// pair with parameters as TFLite's converter chooses them: shared with the input through MaxPool/Reshape-like ops,
// 1/256 for Softmax, [0, 1] for (hard) sigmoids, otherwise the min/max range calibrated on the QDQ model itself.
import type { BatchSource } from '../eval/activations';
import { node } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, topologicalOrder, usedNames } from '../onnx/graph';
import { clone, ModelProtoSchema, type ModelProto, type NodeProto } from '../onnx/proto';
import { inferShapes } from '../onnx/shapes';
import { makeTensor, tensorValues, type TensorSource } from '../onnx/tensor';
import { fullRange, scaleZeroPoint, type QuantParams } from '../quantize/affine';
import { calibrate, type CalibrationOptions } from '../quantize/calibrate/calibrate';
import { STATIC_RULES } from '../quantize/rules';

const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear', 'Constant']);
/** Ops whose output keeps the input's quantization (quantizer role 'shared'). */
const shares = (n: NodeProto) => STATIC_RULES[n.opType]?.role === 'shared';
/** Outputs in [0, 1]. */
const UNIT_RANGE = new Set(['HardSigmoid', 'Sigmoid']);

/**
 * Float activation tensors of a QDQ model that no QuantizeLinear reads: the outputs TFLite needs quantized.
 * A graph output written by Gemm/MatMul is left float (the exporter gives FULLY_CONNECTED its exact output range).
 */
export function floatGaps(proto: ModelProto, source?: TensorSource): string[] {
  const g = proto.graph!;
  const index = indexGraph(g);
  const types = inferShapes(g, { source }, index).types;
  const gaps: string[] = [];
  for (const n of topologicalOrder(g)) {
    if (QDQ.has(n.opType)) continue;
    for (const o of n.output) {
      if (!o || types.get(o)?.dtype !== DataType.FLOAT) continue;
      if ((index.consumers.get(o) ?? []).some((c) => c.opType === 'QuantizeLinear')) continue;
      if (index.graphOutputs.has(o) && (n.opType === 'Gemm' || n.opType === 'MatMul')) continue;
      gaps.push(o);
    }
  }
  return gaps;
}

/** uint8 parameters (as the static quantizer writes activations) of the DequantizeLinear behind `name`, if any. */
function dequantizedParams(name: string, index: ReturnType<typeof indexGraph>, source?: TensorSource): QuantParams | undefined {
  const dq = index.producer.get(name);
  if (dq?.opType !== 'DequantizeLinear') return undefined;
  const scale = index.constants.get(dq.input[1]);
  const zp = dq.input[2] ? index.constants.get(dq.input[2]) : undefined;
  if (!scale || (dq.input[2] && !zp) || (zp && zp.dataType !== DataType.UINT8)) return undefined;
  return { scale: Number(tensorValues(scale, source)[0]), zeroPoint: zp ? Number(tensorValues(zp, source)[0]) : 0 };
}

/**
 * A copy of `proto` with every float gap quantized (uint8 Q/DQ, like the rest of the model). `data` calibrates the
 * gaps that need a measured range; returns the model unchanged when there are no gaps.
 */
export async function quantizeFloatGaps(proto: ModelProto, data: BatchSource, opts: CalibrationOptions & { source?: TensorSource } = {}): Promise<{ proto: ModelProto; gaps: string[] }> {
  const gaps = floatGaps(proto, opts.source);
  if (gaps.length === 0) return { proto, gaps };
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  const index = indexGraph(g);
  const names = usedNames(g);
  const [qmin, qmax] = fullRange('uint8');
  const params = new Map<string, QuantParams>();

  // Fixed or shared parameters where TFLite dictates them; the rest measured.
  const measured = gaps.filter((t) => {
    const p = index.producer.get(t)!;
    const consumers = index.consumers.get(t) ?? [];
    if (p.opType === 'Softmax') params.set(t, { scale: 1 / 256, zeroPoint: 0 });
    else if (UNIT_RANGE.has(p.opType)) params.set(t, scaleZeroPoint(0, 1, qmin, qmax));
    else if (shares(p) && dequantizedParams(p.input[0], index, opts.source)) params.set(t, dequantizedParams(p.input[0], index, opts.source)!);
    else if (consumers.length === 1 && shares(consumers[0])) {
      const q = (index.consumers.get(consumers[0].output[0]) ?? []).find((c) => c.opType === 'QuantizeLinear');
      const after = q && (index.consumers.get(q.output[0]) ?? []).find((c) => c.opType === 'DequantizeLinear');
      const shared = after && dequantizedParams(after.output[0], index, opts.source);
      if (!shared) return true;
      params.set(t, shared);
    } else return true;
    return false;
  });
  if (measured.length > 0) {
    const ranges = await calibrate(proto, measured, data, opts);
    for (const t of measured) {
      const r = ranges.get(t)!;
      params.set(t, scaleZeroPoint(r.min, r.max, qmin, qmax));
    }
  }
  // Shared ops after a gap (Flatten after a float Gemm, Reshape after Softmax) take the gap's parameters.
  for (const t of gaps) {
    const p = index.producer.get(t)!;
    const before = p.input[0];
    if (shares(p) && gaps.includes(before) && params.has(before)) params.set(t, params.get(before)!);
  }

  for (const t of gaps) {
    const p = index.producer.get(t)!;
    const { scale, zeroPoint } = params.get(t)!;
    const [f, q, s, z] = ['f', 'q', 's', 'z'].map((k) => freshName(names, `${t}_${k}`));
    g.initializer.push(makeTensor(s, DataType.FLOAT, [], [scale]), makeTensor(z, DataType.UINT8, [], [zeroPoint]));
    p.output[p.output.indexOf(t)] = f;
    const at = g.node.indexOf(p) + 1;
    g.node.splice(at, 0, node('QuantizeLinear', [f, s, z], [q]), node('DequantizeLinear', [q, s, z], [t]));
  }
  return { proto: out, gaps };
}
