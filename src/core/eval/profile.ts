// Per-layer latency from onnxruntime's own session profiler (SessionOptions.enableProfiling, Chrome trace format: one
// `<node>_kernel_time` event per kernel per run), mapped back to the model's weighted layers through the optimized
// graph the same session writes out (optimizedModelFilePath), since the profiler names the nodes onnxruntime runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { findLayers, type LayerWeights } from '../analysis/analyze';
import { OnnxFormatError, UsageError } from '../errors';
import { indexGraph, nodeLabel, type GraphIndex } from '../onnx/graph';
import type { GraphProto, NodeProto } from '../onnx/proto';
import { openModelLazy } from '../onnx/read';
import { seededRandom } from '../random';
import { onnxruntime } from './onnxruntime';
import { firstLine, openSession } from './runner';

export interface LayerTime {
  /** our node label, as `inspect --json`'s layers[].name */
  name: string;
  op: string;
  /** milliseconds per run (see LayerProfile) */
  ms: number;
  /** of all kernel time (totalMs) */
  share: number;
  /** the names of the onnxruntime nodes (of its optimized graph) whose kernel time is this layer's */
  kernels: string[];
  /** a layer onnxruntime folded into another one's kernel (BatchNormalization into its Conv): that layer's name */
  fusedInto?: string;
}

export interface LayerProfile {
  model: string;
  /** timed runs (after the warm-up runs) */
  runs: number;
  /**
   * Kernel time per run, in ms. Every figure (layers, other, total) is the mean over the middle half of the runs
   * ranked by their total: as robust to a stray slow run as a median, and unlike per-layer medians the parts add up.
   */
  totalMs: number;
  /** every weighted layer `inspect` lists, slowest first (graph order among equals); those without a kernel at 0 ms */
  layers: LayerTime[];
  /** kernels no weighted layer accounts for (layout reorders, standalone activations and pooling, input quantization…), by op slowest first */
  other: { ms: number; kernels: number; ops: { op: string; ms: number; kernels: number }[] };
}

export interface ProfileOptions {
  /** timed runs (default 20) */
  runs?: number;
  /** untimed runs first (default 5, as bench's latency) */
  warmup?: number;
  /** shapes for inputs with symbolic dims other than the batch (which becomes 1) */
  inputShapes?: Record<string, readonly number[]>;
  signal?: AbortSignal;
  /** after each run, warm-up included */
  onProgress?: (done: number, total: number) => void;
}

/** A kernel's duration in one run, as the profiler names it. */
interface KernelRun { node: string; op: string; us: number }

/**
 * Runs `file` batch-1 on bench's latency session (CPU, one intra-op thread, all graph optimizations) with the
 * profiler on, and splits each run's kernel time over the model's weighted layers.
 */
export async function profileLayers(file: string, opts: ProfileOptions = {}): Promise<LayerProfile> {
  const runs = Math.max(1, Math.floor(opts.runs ?? 20));
  const warmup = Math.max(0, Math.floor(opts.warmup ?? 5));
  const model = openModelLazy(file);
  let original: GraphIndex;
  let layers: LayerWeights[];
  try {
    original = indexGraph(model.proto.graph!);
    layers = findLayers(model, original);
  } finally {
    model.close();
  }

  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'onnx-lens-profile-'));
  try {
    const optimizedFile = path.join(dir, 'optimized.onnx');
    const { session } = await openSession(file, {
      intraOpThreads: 1,
      extra: {
        enableProfiling: true, profileFilePrefix: path.join(dir, 'profile'), optimizedModelFilePath: optimizedFile, logSeverityLevel: 3,
        // Only the graph is read back: weights go to a side file, so that a model over protobuf's 2 GB still saves.
        extra: { session: { optimized_model_external_initializers_file_name: 'weights.bin', optimized_model_external_initializers_min_size_in_bytes: '1024' } },
      },
    });
    try {
      const feeds = inputFeeds(session, file, opts.inputShapes ?? {});
      for (let i = 0; i < warmup + runs; i++) {
        opts.signal?.throwIfAborted();
        try {
          await session.run(feeds);
        } catch (e) {
          throw new OnnxFormatError(file, `onnxruntime failed to run the model: ${firstLine(e)}`);
        }
        opts.onProgress?.(i + 1, warmup + runs);
      }
    } finally {
      session.endProfiling();
      await session.release();
    }
    const trace = (await fs.promises.readdir(dir)).find((f) => f.startsWith('profile') && f.endsWith('.json'));
    if (!trace) throw new OnnxFormatError(file, 'onnxruntime wrote no profile');
    const kernelRuns = parseTrace(JSON.parse(await fs.promises.readFile(path.join(dir, trace), 'utf8')), file).slice(warmup);
    const optimized = openModelLazy(optimizedFile);
    try {
      return summarize(file, layers, attributeKernels(original, optimized.proto.graph!, layers), kernelRuns);
    } finally {
      optimized.close();
    }
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** Filled typed arrays by onnxruntime tensor type: floats uniform in [−1, 1), integers 0 (latency does not depend on values). */
const INPUT_FILL: Record<string, (n: number, random: () => number) => ort.Tensor.DataType> = {
  float32: (n, random) => Float32Array.from({ length: n }, () => 2 * random() - 1),
  float64: (n, random) => Float64Array.from({ length: n }, () => 2 * random() - 1),
  float16: (n) => new Uint16Array(n),
  int8: (n) => new Int8Array(n),
  uint8: (n) => new Uint8Array(n),
  int16: (n) => new Int16Array(n),
  uint16: (n) => new Uint16Array(n),
  int32: (n) => new Int32Array(n),
  uint32: (n) => new Uint32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint64: (n) => new BigUint64Array(n),
  bool: (n) => new Uint8Array(n),
};

/** One batch-1 tensor per model input; a symbolic batch dim becomes 1, other symbolic dims need `shapes`. */
function inputFeeds(session: ort.InferenceSession, file: string, shapes: Record<string, readonly number[]>): Record<string, ort.Tensor> {
  const inputs = session.inputMetadata;
  const unknown = Object.keys(shapes).filter((name) => !inputs.some((i) => i.name === name));
  if (unknown.length) throw new UsageError(file, `no model input is named '${unknown[0]}' (inputs: ${inputs.map((i) => i.name).join(', ')})`);
  const random = seededRandom(1);
  const { Tensor } = onnxruntime();
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const fill = input.isTensor ? INPUT_FILL[input.type] : undefined;
    if (!input.isTensor || !fill) throw new UsageError(file, `input '${input.name}' is of type ${input.isTensor ? input.type : 'non-tensor'}; profile can feed numeric tensors only`);
    const fixed = (d: number | string) => typeof d === 'number' && d > 0;
    const dims = shapes[input.name] ?? input.shape.map((d, k) => (fixed(d) ? Number(d) : k === 0 ? 1 : d));
    if (!dims.every(fixed)) {
      const example = input.shape.map((d, k) => (fixed(d) ? d : k === 0 ? 1 : /^\w{1,12}$/.test(String(d)) ? d : '?')).join(',');
      throw new UsageError(file, `input '${input.name}' has symbolic dims [${input.shape.join(', ')}]: give its shape (--shape ${input.name}=${example})`);
    }
    const shape = dims.map(Number);
    feeds[input.name] = new Tensor(input.type as 'float32', fill(shape.reduce((a, b) => a * b, 1), random) as Float32Array, shape);
  }
  return feeds;
}

interface TraceEvent { cat?: string; name?: string; ts?: number; dur?: number; args?: { op_name?: string } }

const KERNEL_SUFFIX = '_kernel_time';

/** The kernel events of each `model_run`, in run order and, within a run, in execution order. */
function parseTrace(events: unknown, file?: string): KernelRun[][] {
  if (!Array.isArray(events)) throw new OnnxFormatError(file, 'the onnxruntime profile is not a Chrome trace (JSON array)');
  const list = events as TraceEvent[];
  const windows = list.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => ({ start: e.ts ?? 0, end: (e.ts ?? 0) + (e.dur ?? 0) })).sort((a, b) => a.start - b.start);
  const runs: KernelRun[][] = windows.map(() => []);
  const kernels = list.filter((e) => e.cat === 'Node' && e.name?.endsWith(KERNEL_SUFFIX)).sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  let r = 0;
  for (const e of kernels) {
    const ts = e.ts ?? 0;
    while (r < windows.length && ts > windows[r].end) r++;
    if (r === windows.length) break;
    if (ts < windows[r].start) continue;
    runs[r].push({ node: e.name!.slice(0, -KERNEL_SUFFIX.length), op: e.args?.op_name ?? '', us: Math.max(0, e.dur ?? 0) });
  }
  return runs;
}

/**
 * Layer ops that own a kernel (convolutions, matrix products); other weighted layers (normalizations, element-wise
 * constants) may be folded into the kernel of the one before them, so the walk back from a kernel goes through them.
 */
const KERNEL_LAYER_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'QLinearConv', 'QLinearMatMul', 'ConvInteger', 'MatMulInteger']);

/** Where the optimized graph's nodes came from. */
interface Attribution {
  /** optimized node → the layer its kernel time is charged to (undefined: other) */
  layerOf: Map<NodeProto, LayerWeights | undefined>;
  /** layer → the layer whose kernel also computes it (onnxruntime fused it away) */
  fusedInto: Map<LayerWeights, LayerWeights>;
}

/** onnxruntime's suffixes for nodes it rewrites: NCHWc (`<tensor>_nchwc`) and the NHWC layout transformer (`<node>_token_N`). */
const REWRITE_SUFFIX = /(?:_nchwc|_token_\d+)+$/;
/** The float32 copy onnxruntime makes of a float16 tensor for a CPU kernel without float16, and the Cast that makes it. */
const PRECISION_CAST = /^InsertedPrecisionFreeCast_/;

/** Nodes onnxruntime inserts to change a tensor's layout, not its values. */
const LAYOUT_OPS = new Set(['ReorderInput', 'ReorderOutput', 'Transpose']);

/**
 * Which original weighted layer each node of onnxruntime's optimized graph computes. A node's output is traced to the
 * original tensor it holds: the same name where onnxruntime kept it, else the node's name without onnxruntime's
 * suffixes and float16-cast prefix (an original node's name, or for NCHWc nodes a tensor's), else — for layout nodes —
 * its input's. The original nodes between that tensor and the node's own (traced) inputs are the ones it fused
 * (Conv→BatchNormalization→Relu, DequantizeLinear→Conv→QuantizeLinear as QLinearConv, …) and the kernel layer among
 * them is charged. A node reading only constants (a weight's DequantizeLinear) goes to the layer using that weight.
 */
function attributeKernels(original: GraphIndex, optimized: GraphProto, layers: readonly LayerWeights[]): Attribution {
  const layerByNode = new Map(layers.map((l) => [l.node, l]));
  const originalNode = new Map(original.graph.node.filter((n) => n.name).map((n) => [n.name, n]));
  const isOriginal = (t: string) => original.producer.has(t) || original.graphInputs.has(t) || original.constants.has(t);
  const producer = new Map<string, NodeProto>();
  for (const n of optimized.node) for (const o of n.output) if (o) producer.set(o, n);
  const constants = new Set(optimized.initializer.map((t) => t.name));

  const computes = new Map<NodeProto, string[]>();
  /** The original tensors an optimized node computes. */
  const tensorsOf = (n: NodeProto): string[] => {
    let found = computes.get(n);
    if (found) return found;
    computes.set(n, []); // a cycle guard; graphs have none
    const base = n.name.replace(REWRITE_SUFFIX, '').replace(PRECISION_CAST, '');
    const named = originalNode.get(base);
    found = n.output.filter((o) => o && isOriginal(o));
    if (!found.length && named) found = named.output.filter(Boolean);
    else if (!found.length && isOriginal(base)) found = [base];
    else if (!found.length && LAYOUT_OPS.has(n.opType) && n.input[0]) found = [origin(n.input[0])].filter((t): t is string => !!t);
    computes.set(n, found);
    return found;
  };
  const origin = (t: string): string | undefined => {
    if (isOriginal(t)) return t;
    if (isOriginal(t.replace(PRECISION_CAST, ''))) return t.replace(PRECISION_CAST, '');
    const p = producer.get(t);
    return p ? tensorsOf(p)[Math.max(0, p.output.indexOf(t))] ?? tensorsOf(p)[0] : undefined;
  };

  // A tensor another node computes ends a walk too: a fused node's name can be that of an earlier tensor than the one
  // it writes (an NCHWc Conv that also took in the Add and Relu after it), and its consumer must not walk through it.
  const computedBy = new Map<string, NodeProto[]>();
  for (const n of optimized.node) for (const t of tensorsOf(n)) computedBy.set(t, [...(computedBy.get(t) ?? []), n]);
  const layerOf = new Map<NodeProto, LayerWeights | undefined>();
  const fusedRegion = new Map<LayerWeights, LayerWeights>();
  for (const n of optimized.node) {
    if (LAYOUT_OPS.has(n.opType)) { layerOf.set(n, undefined); continue; }
    const own = new Set(tensorsOf(n));
    const inputs = new Set(n.input.filter(Boolean).map(origin));
    const stop = (t: string) => inputs.has(t) || original.constants.has(t) || (!own.has(t) && (computedBy.get(t) ?? []).some((m) => m !== n));
    const region: LayerWeights[] = [];
    const seen = new Set<string>();
    const stack = [...own];
    while (stack.length) {
      const t = stack.pop()!;
      if (seen.has(t) || stop(t)) continue;
      seen.add(t);
      const p = original.producer.get(t);
      if (!p) continue;
      const layer = layerByNode.get(p);
      if (layer) region.push(layer);
      if (!(layer && KERNEL_LAYER_OPS.has(p.opType))) stack.push(...p.input.filter(Boolean));
    }
    let charged: LayerWeights | undefined = region.filter((l) => KERNEL_LAYER_OPS.has(l.node.opType)).sort((a, b) => b.index - a.index)[0]
      ?? region.sort((a, b) => a.index - b.index)[0];
    if (!charged && n.input.length && n.input.every((i) => !i || constants.has(i))) charged = weightConsumer(original, layerByNode, tensorsOf(n));
    layerOf.set(n, charged);
    if (charged) for (const l of region) if (l !== charged) fusedRegion.set(l, charged);
  }
  const charged = new Set(layerOf.values());
  const fusedInto = new Map([...fusedRegion].filter(([l]) => !charged.has(l)));
  return { layerOf, fusedInto };
}

/** The weighted layer that reads one of `tensors` (the output of a node that only transforms a weight). */
function weightConsumer(original: GraphIndex, layerByNode: ReadonlyMap<NodeProto, LayerWeights>, tensors: readonly (string | undefined)[]): LayerWeights | undefined {
  for (const t of tensors) {
    const layer = (t ? original.consumers.get(t) ?? [] : []).map((c) => layerByNode.get(c)).find((l): l is LayerWeights => l !== undefined);
    if (layer) return layer;
  }
  return undefined;
}

/** Each run's kernel time split over the layers, then the mean over the middle half of the runs by total. */
function summarize(file: string, layers: readonly LayerWeights[], attribution: Attribution, runs: readonly KernelRun[][]): LayerProfile {
  // The profiler names kernels by node name and op, which need not be unique (unnamed nodes): the k-th event of a
  // (name, op) in a run is the k-th such node in the optimized graph's (topological) order.
  const nodesByKey = new Map<string, NodeProto[]>();
  for (const n of attribution.layerOf.keys()) {
    const key = `${n.name}\u0000${n.opType}`;
    nodesByKey.set(key, [...(nodesByKey.get(key) ?? []), n]);
  }
  const slot = new Map(layers.map((l, k) => [l, k]));
  const kernels = layers.map(() => new Set<string>());
  // Other kernels by op, in slots after the layers' (created as the ops first appear).
  const otherOps = new Map<string, { slot: number; kernels: Set<string> }>();
  const perRun = runs.map((events) => {
    const times: number[] = [];
    const seen = new Map<string, number>();
    for (const e of events) {
      let key = `${e.node}\u0000${e.op}`;
      // The profiler calls an unnamed node `<op>_<its index>`; the saved graph leaves it unnamed.
      if (!nodesByKey.has(key) && e.node.startsWith(`${e.op}_`)) key = `\u0000${e.op}`;
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      const nodes = nodesByKey.get(key);
      const layer = nodes ? attribution.layerOf.get(nodes[k % nodes.length]) : undefined;
      let i: number;
      if (layer) {
        i = slot.get(layer)!;
        kernels[i].add(e.node);
      } else {
        let op = otherOps.get(e.op);
        if (!op) otherOps.set(e.op, (op = { slot: layers.length + otherOps.size, kernels: new Set() }));
        op.kernels.add(`${key}\u0000${k}`);
        i = op.slot;
      }
      times[i] = (times[i] ?? 0) + e.us;
    }
    return times;
  });
  const sum = (xs: readonly (number | undefined)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  const middle = [...perRun].sort((a, b) => sum(a) - sum(b));
  const cut = Math.floor(middle.length / 4);
  const kept = middle.slice(cut, middle.length - cut);
  const mean = (time: (run: readonly number[]) => number) => round(sum(kept.map(time)) / Math.max(1, kept.length) / 1000);
  const layerMs = layers.map((_, i) => mean((t) => t[i] ?? 0));
  const otherMs = mean((t) => sum(t.slice(layers.length)));
  const totalMs = round(sum(layerMs) + otherMs);
  const times: LayerTime[] = layers.map((l, i) => {
    const fused = attribution.fusedInto.get(l);
    return {
      name: nodeLabel(l.node), op: l.node.opType, ms: layerMs[i], share: totalMs ? layerMs[i] / totalMs : 0, kernels: [...kernels[i]],
      ...(fused ? { fusedInto: nodeLabel(fused.node) } : {}),
    };
  });
  times.sort((a, b) => b.ms - a.ms); // stable: graph order among equals
  const ops = [...otherOps].map(([op, o]) => ({ op, ms: mean((t) => t[o.slot] ?? 0), kernels: o.kernels.size })).sort((a, b) => b.ms - a.ms);
  return { model: file, runs: runs.length, totalMs, layers: times, other: { ms: otherMs, kernels: sum(ops.map((o) => o.kernels)), ops } };
}

/** To 0.1 µs: finer than the profiler's 1 µs ticks, so sums stay exact to rounding. */
const round = (ms: number) => Math.round(ms * 1e4) / 1e4;
