// Intermediate-tensor capture: the tensors become the graph outputs of the model cut down to what they depend
// on, and onnxruntime runs it over data batches (as ONNX Runtime's calibrators and qdq_loss_debug do), one at a time.
import type * as ort from 'onnxruntime-node';
import { DatasetError, OnnxFormatError, UsageError } from '../errors';
import { valueInfo } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { indexGraph, type GraphIndex } from '../onnx/graph';
import { forEachGraph } from '../onnx/read';
import { create, GraphProtoSchema, ModelProtoSchema, type ModelProto, type NodeProto, type ValueInfoProto } from '../onnx/proto';
import { encodeModel } from '../onnx/write';
import type { Dataset } from './datasets';
import { modelInput } from './modelInput';
import { onnxruntime } from './onnxruntime';
import { firstLine } from './runner';

export interface CapturedTensor { data: Float32Array; dims: number[] }

/** What capture needs of a data set: its size, sample shape and batches of samples. */
export type BatchSource = Pick<Dataset, 'n' | 'sampleShape' | 'batch'>;

export interface CaptureOptions {
  /** samples per run when the model's batch dimension is not fixed (default 16) */
  batchSize?: number;
  /** use at most this many samples of the source */
  limit?: number;
  /** onnxruntime intra-op threads (default: onnxruntime's choice) */
  threads?: number;
}

/**
 * A model with some inner tensors exposed, ready to run batches. Float tensors only: the tensors
 * quantization and reconstruction look at are activations.
 */
export class ActivationProbe {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputName: string,
    readonly tensorNames: readonly string[],
    /** the model's batch dimension when fixed (e.g. 1), else undefined */
    readonly fixedBatch: number | undefined,
    private readonly fed: ReadonlySet<string>,
  ) {}

  /**
   * `opts.from` names float tensors that are fed instead of computed: the model is cut there and they
   * become its inputs (run them with runFrom); by default the model's data input is fed.
   */
  static async open(proto: ModelProto, tensorNames: readonly string[], opts: { threads?: number; file?: string; from?: readonly string[] } = {}): Promise<ActivationProbe> {
    const input = modelInput(proto);
    if (!input || !proto.graph) throw new UsageError(opts.file, 'the model has no data input');
    const g = proto.graph;
    const index = indexGraph(g);
    const known = new Map<string, ValueInfoProto>([...g.valueInfo, ...g.output].map((v) => [v.name, v]));
    const outputs: ValueInfoProto[] = [];
    const fed = new Set(opts.from ?? [input.name]);
    for (const name of tensorNames) {
      if (fed.has(name)) continue;
      if (!index.producer.has(name) && !index.graphOutputs.has(name)) throw new UsageError(opts.file, `no node produces tensor '${name}'`);
      const info = known.get(name);
      const elemType = info?.type?.value.case === 'tensorType' ? info.type.value.value.elemType : DataType.FLOAT;
      if (elemType !== DataType.FLOAT) throw new UsageError(opts.file, `tensor '${name}' is not float32 and cannot be captured`);
      outputs.push(index.graphOutputs.has(name) ? known.get(name)! : valueInfo(name, DataType.FLOAT));
    }
    // Capturing just the input still needs a valid model: then the graph keeps its own outputs.
    const kept = outputs.length > 0 ? outputs : g.output;
    const inputs = opts.from?.map((name) => valueInfo(name, DataType.FLOAT));
    let session: ort.InferenceSession;
    try {
      session = await onnxruntime().InferenceSession.create(encodeModel(truncated(proto, index, kept, fed, inputs)), {
        graphOptimizationLevel: 'disabled',
        logSeverityLevel: 3,
        ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
      });
    } catch (e) {
      throw new OnnxFormatError(opts.file, `onnxruntime cannot load the model: ${firstLine(e)}`);
    }
    const batch = input.shape[0];
    return new ActivationProbe(session, input.name, [...tensorNames], typeof batch === 'number' && batch > 0 ? batch : undefined, fed);
  }

  /** Runs one batch `[count, ...sampleShape]` and returns the captured tensors by name. */
  run(data: Float32Array, dims: readonly number[]): Promise<Map<string, CapturedTensor>> {
    return this.runFrom(new Map([[this.inputName, { data, dims: [...dims] }]]));
  }

  /** Runs one batch given the fed tensors by name (see `from` of open). */
  async runFrom(inputs: ReadonlyMap<string, CapturedTensor>): Promise<Map<string, CapturedTensor>> {
    const { Tensor } = onnxruntime();
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.fed) {
      const t = inputs.get(name);
      if (!t) throw new Error(`no value fed for '${name}'`);
      feeds[name] = new Tensor('float32', t.data, t.dims);
    }
    const wanted = this.tensorNames.filter((n) => !this.fed.has(n));
    // Only fed tensors wanted (e.g. a lone layer reading the graph input): nothing to run.
    const results = wanted.length > 0 ? await this.session.run(feeds, wanted) : {};
    const out = new Map<string, CapturedTensor>();
    for (const name of this.tensorNames) {
      if (this.fed.has(name)) { out.set(name, inputs.get(name)!); continue; }
      const t = results[name];
      out.set(name, { data: t.data as Float32Array, dims: t.dims.map(Number) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Which of the `available` tensors computing `tensorNames` starts from, walking back through the graph
 * and stopping at the first available tensor on every path (tensors no path stops at need the model input).
 */
export function feedsFor(proto: ModelProto, tensorNames: readonly string[], available: ReadonlySet<string>): string[] {
  const index = indexGraph(proto.graph!);
  const feeds: string[] = [];
  const stack = [...tensorNames];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (available.has(name)) { feeds.push(name); continue; }
    const n = index.producer.get(name);
    if (n) stack.push(...n.input.filter(Boolean), ...outerNames(n));
  }
  return feeds;
}

/**
 * The model cut down to the nodes the wanted outputs depend on, with those as its only outputs:
 * onnxruntime runs every node of a graph whatever the fetches, so an early tensor would otherwise cost a
 * full forward pass. The walk back stops at fed tensors. Nodes and tensors are shared with `proto`, not copied.
 */
function truncated(proto: ModelProto, index: GraphIndex, outputs: ValueInfoProto[], fed: ReadonlySet<string>, inputs?: ValueInfoProto[]): ModelProto {
  const needed = new Set<NodeProto>();
  const stack = outputs.map((v) => v.name);
  const seen = new Set<string>();
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const n = fed.has(name) ? undefined : index.producer.get(name);
    if (!n || needed.has(n)) continue;
    needed.add(n);
    stack.push(...n.input.filter(Boolean), ...outerNames(n));
  }
  const g = index.graph;
  const node = g.node.filter((n) => needed.has(n));
  const initializer = g.initializer.filter((t) => seen.has(t.name));
  // Old opsets list initializers among the inputs too: one whose initializer was dropped must go as well.
  const kept = g.input.filter((v) => index.graphInputs.has(v.name) ? !inputs : seen.has(v.name));
  const input = [...(inputs ?? []), ...kept];
  const valueInfo = g.valueInfo.filter((v) => seen.has(v.name));
  return create(ModelProtoSchema, { ...proto, graph: create(GraphProtoSchema, { ...g, node, initializer, input, valueInfo, output: outputs }) });
}

/** Every tensor name read inside a node's subgraphs (If/Loop/Scan bodies may read outer-scope tensors). */
function outerNames(n: NodeProto): string[] {
  const names: string[] = [];
  for (const a of n.attribute) {
    for (const sub of [...(a.g ? [a.g] : []), ...a.graphs]) forEachGraph(sub, (s) => { for (const m of s.node) names.push(...m.input.filter(Boolean)); });
  }
  return names;
}

/** The batches a source is cut into for a model: [start, count] pairs. */
export function batchPlan(source: BatchSource, fixedBatch: number | undefined, opts: CaptureOptions = {}): [number, number][] {
  const n = Math.min(source.n, opts.limit ?? Infinity);
  if (n <= 0) throw new DatasetError(undefined, 'the data set is empty');
  const size = fixedBatch ?? opts.batchSize ?? 16;
  const plan: [number, number][] = [];
  for (let start = 0; start + (fixedBatch ?? 1) <= n; start += size) plan.push([start, Math.min(size, n - start)]);
  return plan;
}

/**
 * Runs the model over the source and hands every batch's captured tensors to `onBatch` (then drops them,
 * so memory stays at one batch). Returns the number of samples seen.
 */
export async function captureActivations(
  proto: ModelProto,
  tensorNames: readonly string[],
  source: BatchSource,
  onBatch: (tensors: Map<string, CapturedTensor>, start: number, count: number) => void | Promise<void>,
  opts: CaptureOptions & { file?: string } = {},
): Promise<number> {
  const probe = await ActivationProbe.open(proto, tensorNames, opts);
  let seen = 0;
  try {
    for (const [start, count] of batchPlan(source, probe.fixedBatch, opts)) {
      const data = await source.batch(start, count);
      await onBatch(await probe.run(data, [count, ...source.sampleShape]), start, count);
      seen += count;
    }
  } finally {
    await probe.close();
  }
  return seen;
}
