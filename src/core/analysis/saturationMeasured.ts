// Measured 16-bit pair-sum saturation: the uint8 activations a layer really receives (captured with onnxruntime)
// times its int8 weights, paired as saturation.ts says MLAS pairs them, counting the sums VPMADDUBSW would clamp.
import { attrInt, attrInts, attrString, node } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, nodeLabel, usedNames, type GraphIndex } from '../onnx/graph';
import { create, GraphProtoSchema, ModelProtoSchema, type NodeProto } from '../onnx/proto';
import type { Model } from '../onnx/read';
import { inferShapes, numel } from '../onnx/shapes';
import { tensorValues } from '../onnx/tensor';
import { captureActivations, type BatchSource, type CapturedTensor } from '../eval/activations';
import { findLayers } from './analyze';
import { layerSaturation, pairCanSaturate, pairLayout, type PairLayout } from './saturation';

/** Samples measured by default: enough to see the clamping, cheap next to an evaluation. */
export const MEASURE_SAMPLES = 32;

const INT16_MAX = 32767;
const INT16_MIN = -32768;

/** One layer whose weights can saturate ("possible" by weights alone), after running it on data. */
export interface MeasuredSaturation {
  /** node name (inspect's layer name) */
  layer: string;
  op: string;
  /** measured: some pair sum left [−32768, 32767] on the data; possible: none did (or none was measured) */
  verdict: 'measured' | 'possible';
  /** pair sums outside int16 */
  saturatedPairSums: number;
  /** pair sums computed: samples × output positions × output channels × ⌈K/2⌉ (0: activations not measurable) */
  pairSums: number;
}

export interface SaturationMeasurement {
  /** samples run (0 when no layer's weights can saturate) */
  samples: number;
  /** every layer whose weights say "possible", in graph order */
  layers: MeasuredSaturation[];
}

export interface MeasureOptions {
  /** measure at most this many samples, evenly spread over the source (default MEASURE_SAMPLES) */
  limit?: number;
  /** samples per onnxruntime run (default 4; the captured inputs of all measured layers are held per run) */
  batchSize?: number;
  file?: string;
}

/** A layer to measure: its uint8 activation tensor, that tensor's zero point (im2col padding) and its risky pairs. */
interface Target {
  n: NodeProto;
  result: MeasuredSaturation;
  /** uint8 activation tensor */
  input: string;
  /** activation zero point: a constant, or a (uint8) tensor computed at run time */
  zeroPoint: number | string;
  layout: PairLayout;
  /** Conv: the kernel's spatial shape */
  kernel: number[];
  /** the pairs that can saturate, flattened: channel, k of the first element, weight a, weight b (b's k is k + 1) */
  pairs: Int32Array;
  count: (a: CapturedTensor, zeroPoint: number, t: Target) => void;
}

/** The pairs of `layout` whose weights can saturate with some uint8 activations (the only ones worth evaluating). */
function riskyPairs(values: ArrayLike<number>, layout: PairLayout): Int32Array {
  const out: number[] = [];
  for (let c = 0; c < layout.channels; c++) {
    for (let k = 0; k < layout.length; k += 2) {
      const wa = values[layout.index(c, k)];
      const wb = k + 1 < layout.length ? values[layout.index(c, k + 1)] : 0;
      if (pairCanSaturate(wa, wb)) out.push(c, k, wa, wb);
    }
  }
  return Int32Array.from(out);
}

const outside = (s: number) => s > INT16_MAX || s < INT16_MIN;

/**
 * Gemm / MatMul: every row of the activation [..., M, K] (Gemm transA: [K, M]) is one reduction vector;
 * reduction element k of any output column reads the row's element k.
 */
function countMatrix(a: CapturedTensor, _zp: number, t: Target): void {
  const K = t.layout.length;
  const transA = attrInt(t.n, 'transA', 0) === 1; // Gemm, QGemm
  const rows = a.data.length / K;
  const x = a.data;
  const p = t.pairs;
  let saturated = 0;
  // transA (Gemm [K, M]): row r's element k sits at k·M + r.
  const [rowStride, kStride] = transA ? [1, rows] : [K, 1];
  for (let r = 0; r < rows; r++) {
    const base = r * rowStride;
    for (let i = 0; i < p.length; i += 4) {
      const k = p[i + 1];
      const b = k + 1 < K ? x[base + (k + 1) * kStride] : 0;
      if (outside(x[base + k * kStride] * p[i + 2] + b * p[i + 3])) saturated++;
    }
  }
  t.result.saturatedPairSums += saturated;
  t.result.pairSums += rows * t.layout.channels * Math.ceil(K / 2);
}

/** Conv geometry along one spatial axis: input size, kernel, stride, dilation, leading pad, output size. */
interface Axis { size: number; kernel: number; stride: number; dilation: number; pad: number; out: number }

/** The geometry of each spatial axis of Conv `n` on an input of `spatial` size with a kernel of `kernel`. */
function convAxes(n: NodeProto, spatial: readonly number[], kernel: readonly number[]): Axis[] {
  const r = spatial.length;
  const strides = attrInts(n, 'strides') ?? Array<number>(r).fill(1);
  const dilations = attrInts(n, 'dilations') ?? Array<number>(r).fill(1);
  const pads = attrInts(n, 'pads') ?? Array<number>(2 * r).fill(0);
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  return spatial.map((size, i) => {
    const axis = { size, kernel: kernel[i], stride: strides[i], dilation: dilations[i] };
    const span = (kernel[i] - 1) * dilations[i] + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const out = Math.ceil(size / strides[i]);
      const total = Math.max(0, (out - 1) * strides[i] + span - size);
      return { ...axis, pad: autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2), out };
    }
    const [begin, end] = autoPad === 'VALID' ? [0, 0] : [pads[i], pads[i + r]];
    return { ...axis, pad: begin, out: Math.floor((size + begin + end - span) / strides[i]) + 1 };
  });
}

/**
 * Conv (1-D and 2-D): the im2col row of every output position and group, K = (kernel position, input channel)
 * as in saturation.ts's convLayout, positions outside the input holding the activation zero point (as MLAS's
 * im2col and the symmetric conv kernel's padding buffer do).
 */
function countConv(a: CapturedTensor, zp: number, t: Target): void {
  const w = t.layout;
  const [N, C, ...spatial] = a.dims;
  const axes = convAxes(t.n, spatial, t.kernel);
  const [ay, ax] = axes.length === 1 ? [{ size: 1, kernel: 1, stride: 1, dilation: 1, pad: 0, out: 1 }, axes[0]] : axes;
  const [H, W] = [ay.size, ax.size];
  const group = attrInt(t.n, 'group', 1);
  const Cg = C / group;
  const perGroup = w.channels / group;
  // Risky pairs by group (their output channel decides the group).
  const byGroup: number[][] = Array.from({ length: group }, () => []);
  for (let i = 0; i < t.pairs.length; i += 4) byGroup[Math.floor(t.pairs[i] / perGroup)].push(i);
  const col = new Float32Array(w.length + 1); // + 1: the padding partner of a lone last element (weight 0)
  const x = a.data;
  const p = t.pairs;
  let saturated = 0;
  for (let s = 0; s < N; s++) {
    for (let gi = 0; gi < group; gi++) {
      const pairs = byGroup[gi];
      if (pairs.length === 0) continue;
      const channelBase = s * C + gi * Cg;
      for (let oy = 0; oy < ay.out; oy++) {
        for (let ox = 0; ox < ax.out; ox++) {
          for (let ky = 0; ky < ay.kernel; ky++) {
            const iy = oy * ay.stride - ay.pad + ky * ay.dilation;
            for (let kx = 0; kx < ax.kernel; kx++) {
              const ix = ox * ax.stride - ax.pad + kx * ax.dilation;
              const k0 = (ky * ax.kernel + kx) * Cg;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) col.fill(zp, k0, k0 + Cg);
              else for (let c = 0; c < Cg; c++) col[k0 + c] = x[((channelBase + c) * H + iy) * W + ix];
            }
          }
          for (const i of pairs) {
            const k = p[i + 1];
            if (outside(col[k] * p[i + 2] + col[k + 1] * p[i + 3])) saturated++;
          }
        }
      }
    }
  }
  t.result.saturatedPairSums += saturated;
  t.result.pairSums += N * ay.out * ax.out * w.channels * Math.ceil(w.length / 2);
}

const MATRIX_OPS = new Set(['MatMul', 'Gemm', 'QLinearMatMul', 'MatMulInteger', 'QGemm']);
const CONV_OPS = new Set(['Conv', 'QLinearConv', 'ConvInteger']);

/**
 * The uint8 tensor a layer's integer kernel reads and its zero point: for a fused QDQ unit the input
 * DequantizeLinear's quantized input (the QuantizeLinear output); for QLinearConv/QLinearMatMul/QGemm,
 * MatMulInteger/ConvInteger their first input. Undefined when it is not uint8 (S8S8 kernels are not measured).
 */
function activationOf(n: NodeProto, g: GraphIndex, dtypeOf: (name: string) => number | undefined): { input: string; zeroPoint: number | string } | undefined {
  const dq = n.opType === 'Conv' || n.opType === 'MatMul' || n.opType === 'Gemm' ? g.producer.get(n.input[0] ?? '') : undefined;
  const [input, zpName] = dq ? [dq.input[0], dq.input[2]] : [n.input[0], n.input[2]];
  if (!input || dtypeOf(input) !== DataType.UINT8) return undefined;
  if (!zpName) return { input, zeroPoint: 0 };
  const constant = g.constants.get(zpName);
  return { input, zeroPoint: constant ? Number(tensorValues(constant)[0]) : zpName };
}

/** `limit` samples of `source` spread evenly over it (k·n/limit, as the data sets' own limit picks them). */
function spread(source: BatchSource, limit: number): BatchSource {
  if (source.n <= limit) return source;
  const size = numel(source.sampleShape);
  return {
    n: limit,
    sampleShape: source.sampleShape,
    batch: async (start, count) => {
      const out = new Float32Array(count * size);
      for (let i = 0; i < count; i++) out.set(await source.batch(Math.floor(((start + i) * source.n) / limit), 1), i * size);
      return out;
    },
  };
}

/**
 * Runs `model` on up to `opts.limit` samples of `source` and, for every layer whose int8 weights can saturate 16-bit
 * pair sums (saturation.ts: "possible"), counts the pair sums of its real uint8 activations that do.
 */
export async function measureSaturation(model: Model, source: BatchSource, opts: MeasureOptions = {}): Promise<SaturationMeasurement> {
  const proto = model.proto;
  const g = indexGraph(proto.graph!);
  let shapes: ReturnType<typeof inferShapes> | undefined;
  const dtypeOf = (name: string) => (shapes ??= inferShapes(proto.graph!, { source: model }, g)).types.get(name)?.dtype;
  const targets: Target[] = [];
  const layers: MeasuredSaturation[] = [];
  for (const layer of findLayers(model, g)) {
    const n = layer.node;
    const w = layer.weights.find((x) => x.role === 'weight');
    if (!w || layerSaturation(n, w, g) !== 'possible') continue;
    const result: MeasuredSaturation = { layer: nodeLabel(n), op: n.opType, verdict: 'possible', saturatedPairSums: 0, pairSums: 0 };
    layers.push(result);
    const layout = pairLayout(n, w.shape)!;
    const act = activationOf(n, g, dtypeOf);
    const spatial = w.shape.length - 2;
    const count = MATRIX_OPS.has(n.opType) ? countMatrix : CONV_OPS.has(n.opType) && (spatial === 1 || spatial === 2) ? countConv : undefined;
    if (!act || !count) continue;
    targets.push({ n, result, ...act, layout, kernel: w.shape.slice(2), pairs: riskyPairs(w.values(), layout), count });
  }
  if (targets.length === 0) return { samples: 0, layers };
  // DynamicQuantizeLinear scales a whole batch at once: measure one sample per run, as batch-1 inference sees it.
  const dynamic = targets.some((t) => g.producer.get(t.input)?.opType === 'DynamicQuantizeLinear');

  // The uint8 tensors (and run-time zero points) are Cast to float at the end of the graph to be captured.
  const used = usedNames(proto.graph!);
  const floatOf = new Map<string, string>();
  const casts: NodeProto[] = [];
  for (const name of targets.flatMap((t) => [t.input, ...(typeof t.zeroPoint === 'string' ? [t.zeroPoint] : [])])) {
    if (floatOf.has(name)) continue;
    const out = freshName(used, `${name}_as_float`);
    floatOf.set(name, out);
    casts.push(node('Cast', [name], [out], { to: DataType.FLOAT }, freshName(used, `${name}_cast`)));
  }
  const probeProto = create(ModelProtoSchema, { ...proto, graph: create(GraphProtoSchema, { ...proto.graph!, node: [...proto.graph!.node, ...casts] }) });
  const samples = await captureActivations(probeProto, [...floatOf.values()], spread(source, opts.limit ?? MEASURE_SAMPLES), (tensors) => {
    for (const t of targets) {
      const a = tensors.get(floatOf.get(t.input)!)!;
      const zp = typeof t.zeroPoint === 'number' ? t.zeroPoint : tensors.get(floatOf.get(t.zeroPoint)!)!.data[0];
      t.count(a, zp, t);
    }
  }, { batchSize: dynamic ? 1 : opts.batchSize ?? 4, file: opts.file });
  for (const r of layers) if (r.saturatedPairSums > 0) r.verdict = 'measured';
  return { samples, layers };
}
