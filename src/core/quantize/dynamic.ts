// Dynamic int8 quantization (ONNX Runtime quantize_dynamic, IntegerOps): MatMul / Gemm weights stored as
// int8, activations quantized to uint8 at run time by DynamicQuantizeLinear, products in MatMulInteger —
// the pattern onnxruntime fuses into DynamicQuantizeMatMul (U8S8 kernels, so the target's weight range
// applies). Conv is NOT turned into ConvInteger: in onnxruntime-node 1.30's CPU provider ConvInteger accepts
// only per-tensor weight zero points, so Conv falls back to weight-only int8 (DequantizeLinear,
// per-channel), which keeps accuracy and runs everywhere.
import { attrFloat, attrInt, node } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, usedNames } from '../onnx/graph';
import { upgradeOpset } from '../onnx/opsetUpgrade';
import { clone, ModelProtoSchema, type ModelProto, type NodeProto } from '../onnx/proto';
import { opsetVersion } from '../onnx/read';
import { makeTensor, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import { quantizeTensor } from './affine';
import { dropUnusedConstants } from './compact';
import { DEFAULT_TARGET, recordTarget, reducedRange, type QuantTarget } from './target';
import { quantizeWeightOnly, type QuantizedLayer } from './weightOnly';

export interface DynamicLayer extends Omit<QuantizedLayer, 'format'> { format: QuantizedLayer['format'] | 'MatMulInteger' }

/** A [rows, cols] row-major matrix transposed. */
function transpose(values: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** Is this node a MatMul/Gemm the integer path handles (2-D constant weight, no transposed A)? */
function integerMatMul(n: NodeProto, constants: Map<string, unknown>): boolean {
  if (n.domain !== '' || !constants.has(n.input[1])) return false;
  if (n.opType === 'MatMul') return true;
  return n.opType === 'Gemm' && !attrInt(n, 'transA', 0) && (!n.input[2] || constants.has(n.input[2]));
}

export function quantizeDynamic(proto: ModelProto, selected: readonly NodeProto[], opts: { perChannel: boolean; target?: QuantTarget }, src: TensorSource = {}): { proto: ModelProto; layers: DynamicLayer[] } {
  const target = opts.target ?? DEFAULT_TARGET;
  const constants = indexGraph(proto.graph!).constants;
  const matmuls = selected.filter((n) => integerMatMul(n, constants) && tensorDims(constants.get(n.input[1])!).length === 2);
  const rest = selected.filter((n) => !matmuls.includes(n));
  // Weight-only for Conv (and anything the integer path does not take) first; it upgrades the opset if needed.
  const names = matmuls.map((n) => [n.name, n.output[0]]);
  const base = rest.length ? quantizeWeightOnly(proto, rest, { bits: 8, perChannel: opts.perChannel }, src) : { proto: opsetVersion(proto) < 11 ? upgradeOpset(proto, 11, src) : proto, layers: [] };
  const out = base.proto === proto ? clone(ModelProtoSchema, proto) : base.proto;
  const g = out.graph!;
  const index = indexGraph(g);
  const used = usedNames(g);
  const layers: DynamicLayer[] = [...base.layers];
  const replaced = new Set<string>();
  const replacement = new Map<NodeProto, NodeProto[]>();
  for (const [name, output] of names) {
    const n = g.node.find((m) => m.output[0] === output)!;
    const wName = n.input[1];
    const w = index.constants.get(wName)!;
    const [r, c] = tensorDims(w);
    const transB = n.opType === 'Gemm' && attrInt(n, 'transB', 0) === 1;
    const kn = transB ? transpose(tensorValues(w, src), r, c) : tensorValues(w, src);
    const [k, cols] = transB ? [c, r] : [r, c];
    const q = quantizeTensor(kn, [k, cols], { type: 'int8', symmetric: true, axis: opts.perChannel ? 1 : undefined, reduceRange: reducedRange(target) });
    const alpha = n.opType === 'Gemm' ? attrFloat(n, 'alpha', 1) : 1;
    const label = n.name || output;
    const fresh = (s: string) => freshName(used, `${label}_${s}`);
    const [wq, ws, xq, xs, xz, acc, accF, scale, scaled] = ['w_i8', 'w_s', 'x_u8', 'x_s', 'x_zp', 'i32', 'f32', 'scale', 'y'].map(fresh);
    g.initializer.push(makeTensor(wq, DataType.INT8, [k, cols], q.values), makeTensor(ws, DataType.FLOAT, q.scales.length > 1 ? [cols] : [], Float64Array.from(q.scales, (s) => s * alpha)));
    const nodes = [
      node('DynamicQuantizeLinear', [n.input[0]], [xq, xs, xz]),
      node('MatMulInteger', [xq, wq, xz], [acc]),
      node('Cast', [acc], [accF], { to: DataType.FLOAT }),
      node('Mul', [xs, ws], [scale]),
    ];
    const bias = n.opType === 'Gemm' ? n.input[2] : undefined;
    if (bias) {
      const beta = attrFloat(n, 'beta', 1);
      const b = index.constants.get(bias)!;
      const bName = fresh('bias');
      g.initializer.push(makeTensor(bName, DataType.FLOAT, tensorDims(b), Float32Array.from(tensorValues(b, src), (v) => v * beta)));
      nodes.push(node('Mul', [accF, scale], [scaled]), node('Add', [scaled, bName], [output], {}, name));
      replaced.add(bias);
    } else {
      nodes.push(node('Mul', [accF, scale], [output], {}, name));
    }
    replacement.set(n, nodes);
    replaced.add(wName);
    layers.push({ name, op: n.opType, weight: wName, format: 'MatMulInteger', bits: 8 });
  }
  g.node = g.node.flatMap((n) => replacement.get(n) ?? [n]);
  dropUnusedConstants(g, replaced);
  if (matmuls.length) recordTarget(out, target);
  return { proto: out, layers };
}
