// Empirical bias correction (AIMET empirical_bias_correction; Nagel et al. 2019, "Data-Free Quantization"):
// the per-channel mean of a layer's output is measured on calibration data in the reference (float) model
// and in the modified (quantized or pruned) one, and the difference is added to the layer's bias.
import { UsageError } from '../errors';
import { captureActivations, type BatchSource, type CaptureOptions } from '../eval/activations';
import { attrFloat } from '../onnx/build';
import { DataType, roundHalfEven } from '../onnx/dtypes';
import { freshName, indexGraph, usedNames, type GraphIndex } from '../onnx/graph';
import { clone, ModelProtoSchema, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto';
import { makeTensor, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';

/** A layer to correct: its node in the modified model, and the tensors whose channel means should agree. */
export interface BiasTarget {
  /** name of the Conv / Gemm / MatMul-free node in the modified model whose bias (input 2) changes */
  node: string;
  referenceTensor: string;
  modifiedTensor: string;
}

export interface BiasCorrection {
  node: string;
  /** mean |shift| applied over channels */
  meanShift: number;
  /** largest |shift| */
  maxShift: number;
}

export interface BiasCorrectionOptions extends CaptureOptions, TensorSource {
  /** told about shifts that could not be applied in full */
  onWarning?: (message: string) => void;
}

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/** Ops with a bias in input slot 2 and output channels on axis 1. */
const BIASED_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm']);

/**
 * Targets for a model whose layers keep their names and output tensors (pruning): every named
 * Conv/Gemm of `modified` whose output tensor also exists in `reference`.
 */
export function sameNameTargets(reference: ModelProto, modified: ModelProto): BiasTarget[] {
  const produced = new Set(reference.graph!.node.flatMap((n) => n.output));
  return modified.graph!.node
    .filter((n) => BIASED_OPS.has(n.opType) && n.name && produced.has(n.output[0]))
    .map((n) => ({ node: n.name, referenceTensor: n.output[0], modifiedTensor: n.output[0] }));
}

/** Per-channel sums over every axis but 1, accumulated batch by batch. */
class ChannelMeans {
  sums: Float64Array | undefined;
  count = 0;

  add(data: Float32Array, dims: readonly number[]): void {
    const channels = dims[1] ?? 1;
    const inner = dims.slice(2).reduce((a, b) => a * b, 1);
    this.sums ??= new Float64Array(channels);
    for (let i = 0; i < data.length; i++) this.sums[((i / inner) | 0) % channels] += data[i];
    this.count += data.length / channels;
  }

  means(): Float64Array {
    return Float64Array.from(this.sums ?? [], (s) => s / Math.max(1, this.count));
  }
}

/** Runs `proto` over the source and returns the channel means of `tensors`. */
async function measureMeans(proto: ModelProto, tensors: readonly string[], source: BatchSource, opts: CaptureOptions & TensorSource): Promise<Map<string, Float64Array>> {
  const means = new Map(tensors.map((t) => [t, new ChannelMeans()]));
  await captureActivations(proto, [...means.keys()], source, (batch) => {
    for (const [name, t] of batch) means.get(name)!.add(t.data, t.dims);
  }, opts);
  return new Map([...means].map(([k, m]) => [k, m.means()]));
}

/**
 * Measures the targets' channel means in both models over `source` and returns a copy of `modified`
 * with biases shifted by (reference mean − modified mean). Layers are corrected one after another in
 * the given (graph) order, each measured with the layers before it already corrected, as AIMET does —
 * correcting all at once over-corrects, since every layer also inherits its predecessors' shifts.
 * Quantized int32 biases behind a DequantizeLinear are shifted in integer steps of their own scale;
 * a missing float bias is added.
 */
export async function correctBiases(
  reference: ModelProto, modified: ModelProto, targets: readonly BiasTarget[], source: BatchSource,
  opts: BiasCorrectionOptions = {},
): Promise<{ proto: ModelProto; corrections: BiasCorrection[] }> {
  if (targets.length === 0) return { proto: modified, corrections: [] };
  const refMeans = await measureMeans(reference, targets.map((t) => t.referenceTensor), source, opts);
  const out = clone(ModelProtoSchema, modified);
  const g = out.graph!;
  const names = usedNames(g);
  const corrections: BiasCorrection[] = [];
  for (const target of targets) {
    const n = g.node.find((m) => m.name === target.node);
    if (!n || !BIASED_OPS.has(n.opType)) throw new UsageError(opts.file, `bias correction: no Conv/Gemm named '${target.node}'`);
    const want = refMeans.get(target.referenceTensor)!;
    const got = (await measureMeans(out, [target.modifiedTensor], source, opts)).get(target.modifiedTensor)!;
    if (want.length !== got.length) throw new UsageError(opts.file, `bias correction: '${target.referenceTensor}' has ${want.length} channels, '${target.modifiedTensor}' ${got.length}`);
    const beta = n.opType === 'Gemm' ? attrFloat(n, 'beta', 1) : 1;
    const shift = Float64Array.from(want, (w, c) => (w - got[c]) / beta);
    applyShift(n, shift, g.initializer, indexGraph(g), names, opts);
    let sum = 0, max = 0;
    for (const v of shift) { sum += Math.abs(v); max = Math.max(max, Math.abs(v)); }
    corrections.push({ node: target.node, meanShift: sum / shift.length, maxShift: max });
  }
  return { proto: out, corrections };
}

/** Adds `shift` to the node's bias, wherever that bias lives. */
function applyShift(n: NodeProto, shift: Float64Array, initializers: TensorProto[], index: GraphIndex, names: Set<string>, src: BiasCorrectionOptions): void {
  const replace = (old: TensorProto, values: ArrayLike<number>) => {
    const fresh = makeTensor(old.name, old.dataType, tensorDims(old), values);
    const i = initializers.indexOf(old);
    if (i < 0) throw new UsageError(src.file, `bias '${old.name}' of '${n.name}' is not an initializer`);
    initializers[i] = fresh;
  };
  const biasName = n.input[2];
  if (!biasName) {
    const name = freshName(names, `${n.name}_bias`);
    initializers.push(makeTensor(name, DataType.FLOAT, [shift.length], shift));
    n.input[2] = name;
    return;
  }
  const constant = index.constants.get(biasName);
  if (constant) {
    const values = tensorValues(constant, src);
    replace(constant, Float32Array.from(values, (v, c) => v + shift[c]));
    return;
  }
  const dq = index.producer.get(biasName);
  const q = dq?.opType === 'DequantizeLinear' ? index.constants.get(dq.input[0]) : undefined;
  const scale = dq ? index.constants.get(dq.input[1]) : undefined;
  if (!q || !scale || q.dataType !== DataType.INT32) throw new UsageError(src.file, `bias of '${n.name}' is neither a constant nor an int32 DequantizeLinear`);
  const scales = tensorValues(scale, src);
  const values = tensorValues(q, src);
  // A shift past the int32 range would wrap: it is clamped (a partial correction, and the layer stays fused).
  const shifted = Array.from(values, (v, c) => v + roundHalfEven(shift[c] / scales[scales.length === 1 ? 0 : c]));
  const clamped = shifted.filter((v) => v < INT32_MIN || v > INT32_MAX).length;
  if (clamped > 0) src.onWarning?.(`bias correction of '${n.name}': the shifted int32 bias of ${clamped} channel(s) exceeds the int32 range at its scale; clamped`);
  replace(q, Int32Array.from(shifted, (v) => Math.min(INT32_MAX, Math.max(INT32_MIN, v))));
}
