// Runs a model over a data set with onnxruntime-node (CPU), batch by batch, and collects its first output.
import type * as ort from 'onnxruntime-node';
import { OnnxFormatError } from '../errors';
import type { BatchSource } from './activations';
import { onnxruntime } from './onnxruntime';

export interface SessionOptions {
  /** onnxruntime intra-op threads; 1 gives stable single-thread latency, undefined lets onnxruntime choose */
  intraOpThreads?: number;
  /** the model's bytes, run from memory (`file` then only names it in messages) */
  bytes?: Uint8Array;
  /** further onnxruntime options on top of these (profiling, the optimized-graph dump) */
  extra?: ort.InferenceSession.SessionOptions;
}

export interface ModelSession {
  file: string;
  session: ort.InferenceSession;
  inputName: string;
  /** dims as numbers, or strings for symbolic (dynamic) ones */
  inputShape: (number | string)[];
  outputName: string;
}

export async function openSession(file: string, opts: SessionOptions = {}): Promise<ModelSession> {
  let session: ort.InferenceSession;
  try {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      ...opts.extra,
    };
    const { InferenceSession } = onnxruntime();
    session = await (opts.bytes ? InferenceSession.create(opts.bytes, options) : InferenceSession.create(file, options));
  } catch (e) {
    throw new OnnxFormatError(file, `onnxruntime cannot load the model: ${firstLine(e)}`);
  }
  const input = session.inputMetadata[0];
  if (!input || session.outputNames.length === 0) throw new OnnxFormatError(file, 'the model has no inputs or no outputs');
  return {
    file,
    session,
    inputName: input.name,
    inputShape: input.isTensor ? [...input.shape] : [],
    outputName: session.outputNames[0],
  };
}

/** One sample's output flattened: `values` holds n rows of `width` numbers (logits or probabilities). */
export interface Outputs {
  n: number;
  width: number;
  values: Float32Array;
}

export interface RunOptions {
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** The model's first output for every sample, in data-set order. The next batch is decoded while one runs. */
export async function runModel(model: ModelSession, data: BatchSource, opts: RunOptions = {}): Promise<Outputs> {
  const fixedBatch = typeof model.inputShape[0] === 'number' && model.inputShape[0] > 0 ? model.inputShape[0] : undefined;
  const batchSize = fixedBatch ?? Math.max(1, opts.batchSize ?? 32);
  let values: Float32Array | undefined;
  let width = 0;
  const loadBatch = (start: number) => data.batch(start, Math.min(batchSize, data.n - start));
  let next = data.n > 0 ? loadBatch(0) : undefined;
  for (let start = 0; start < data.n; start += batchSize) {
    opts.signal?.throwIfAborted();
    const count = Math.min(batchSize, data.n - start);
    const input = await next!;
    next = start + count < data.n ? loadBatch(start + count) : undefined;
    // A pending decode must not turn into an unhandled rejection if this batch fails.
    next?.catch(() => undefined);
    // A fixed batch dimension gets a zero-padded last batch; the padding rows' outputs are dropped.
    const runCount = fixedBatch ?? count;
    const batch = runCount > count ? padded(input, (input.length / count) * runCount) : input;
    const output = await runBatch(model, batch, runCount, data.sampleShape);
    const rowWidth = output.length / runCount;
    if (!values) { width = rowWidth; values = new Float32Array(data.n * width); }
    values.set(output.subarray(0, count * width), start * width);
    opts.onProgress?.(start + count, data.n);
  }
  return { n: data.n, width, values: values ?? new Float32Array(0) };
}

function padded(values: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(values);
  return out;
}

/** Runs one batch of `count` samples and returns the first output as float32. */
export async function runBatch(model: ModelSession, input: Float32Array, count: number, sampleShape: readonly number[]): Promise<Float32Array> {
  const { Tensor } = onnxruntime();
  const tensor = new Tensor('float32', input, [count, ...sampleShape]);
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await model.session.run({ [model.inputName]: tensor }, [model.outputName]);
  } catch (e) {
    throw new OnnxFormatError(model.file, `onnxruntime failed to run the model: ${firstLine(e)}`);
  }
  const out = result[model.outputName] as ort.Tensor;
  const data = out.data;
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array || data instanceof Uint8Array || data instanceof Int8Array) return Float32Array.from(data);
  throw new OnnxFormatError(model.file, `output '${model.outputName}' has type ${out.type}; expected float scores`);
}

/** The first line of an onnxruntime error: its message without the native stack. */
export function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}
