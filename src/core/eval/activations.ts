// Intermediate-tensor capture: the tensors are exposed as extra graph outputs and onnxruntime runs the
// model over data batches (as ONNX Runtime's calibrators and qdq_loss_debug do), one batch at a time.
import * as ort from 'onnxruntime-node';
import { DatasetError, UsageError } from '../errors';
import { valueInfo } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { indexGraph } from '../onnx/graph';
import { clone, ModelProtoSchema, type ModelProto, type ValueInfoProto } from '../onnx/proto';
import { encodeModel } from '../onnx/write';
import type { Dataset } from './datasets';
import { modelInput } from './modelInput';

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
  ) {}

  static async open(proto: ModelProto, tensorNames: readonly string[], opts: { threads?: number; file?: string } = {}): Promise<ActivationProbe> {
    const input = modelInput(proto);
    if (!input || !proto.graph) throw new UsageError(opts.file, 'the model has no data input');
    const augmented = clone(ModelProtoSchema, proto);
    const g = augmented.graph!;
    const index = indexGraph(g);
    const known = new Map<string, ValueInfoProto>([...g.valueInfo, ...g.output].map((v) => [v.name, v]));
    for (const name of tensorNames) {
      if (name === input.name || index.graphOutputs.has(name)) continue;
      if (!index.producer.has(name)) throw new UsageError(opts.file, `no node produces tensor '${name}'`);
      const info = known.get(name);
      const elemType = info?.type?.value.case === 'tensorType' ? info.type.value.value.elemType : DataType.FLOAT;
      if (elemType !== DataType.FLOAT) throw new UsageError(opts.file, `tensor '${name}' is not float32 and cannot be captured`);
      g.output.push(valueInfo(name, DataType.FLOAT));
    }
    const session = await ort.InferenceSession.create(encodeModel(augmented), {
      graphOptimizationLevel: 'disabled',
      logSeverityLevel: 3,
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
    const batch = input.shape[0];
    return new ActivationProbe(session, input.name, [...tensorNames], typeof batch === 'number' && batch > 0 ? batch : undefined);
  }

  /** Runs one batch `[count, ...sampleShape]` and returns the captured tensors by name. */
  async run(data: Float32Array, dims: readonly number[]): Promise<Map<string, CapturedTensor>> {
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, dims) };
    const wanted = this.tensorNames.filter((n) => n !== this.inputName);
    const results = await this.session.run(feeds, wanted);
    const out = new Map<string, CapturedTensor>();
    for (const name of this.tensorNames) {
      if (name === this.inputName) { out.set(name, { data, dims: [...dims] }); continue; }
      const t = results[name];
      out.set(name, { data: t.data as Float32Array, dims: t.dims.map(Number) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
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
