// The benchmark DESIGN.md "Benchmark task" describes: a model (and optionally its baseline) on one data set —
// top-1/top-5, agreement with the baseline's predictions, output difference, batch-1 latency, size on disk.
import { externalDataBytes } from '../analysis/analyze';
import { openModelLazy } from '../onnx/read';
import type { Dataset } from './datasets';
import { measureLatencies, type Latency } from './latency';
import { agreement, maxAbsDiff, topKAccuracy } from './metrics';
import { runModel, type ModelSession, type Outputs } from './runner';

export interface ModelResult {
  model: string;
  /** bytes on disk, external data included */
  bytes: number;
  /** null when the data set has no labels */
  top1: number | null;
  top5: number | null;
  latencyMs: Latency;
}

export interface BenchResult extends ModelResult {
  n: number;
  baseline?: ModelResult;
  delta?: {
    /** percentage points, model − baseline */
    top1: number | null;
    top5: number | null;
    /** model p50 / baseline p50 (below 1 = faster) */
    latencyRatio: number;
    /** model bytes / baseline bytes */
    sizeRatio: number;
    /** fraction of samples where model and baseline predict the same class */
    agreement: number;
    maxAbsDiff: number;
  };
}

/** One model opened twice: for throughput (onnxruntime's thread choice) and for single-thread latency. */
export interface BenchModel { accuracy: ModelSession; latency: ModelSession }

export interface BenchOptions {
  batchSize?: number;
  latencyRuns?: number;
  warmup?: number;
  signal?: AbortSignal;
  /** `phase` is a readable line ("evaluating m.onnx"); `step` says which pass it is, for machine-readable progress */
  onProgress?: (phase: string, done: number, total: number, step: BenchStep) => void;
}

/** The passes of a benchmark: one accuracy pass per model (its samples), then the interleaved latency runs. */
/** `samples` is the data set's size, `runs` the timed batch-1 runs per model. */
export type BenchStep = { pass: 'accuracy' | 'latency'; models: number; samples: number; runs: number } & ({ pass: 'accuracy'; model: string; index: number } | { pass: 'latency' });

export async function benchmark(model: BenchModel, data: Dataset, baseline: BenchModel | undefined, opts: BenchOptions = {}): Promise<BenchResult> {
  const models = baseline ? [model, baseline] : [model];
  const outputs: Outputs[] = [];
  const runs = Math.max(1, opts.latencyRuns ?? 50);
  for (const [index, m] of models.entries()) {
    const step: BenchStep = { pass: 'accuracy', model: m.accuracy.file, index, models: models.length, samples: data.n, runs };
    outputs.push(await runModel(m.accuracy, data, {
      batchSize: opts.batchSize, signal: opts.signal,
      onProgress: (done, total) => opts.onProgress?.(`evaluating ${m.accuracy.file}`, done, total, step),
    }));
  }
  const phase = `timing ${models.map((m) => m.latency.file).join(' and ')}`;
  const latencyStep: BenchStep = { pass: 'latency', models: models.length, samples: data.n, runs };
  opts.onProgress?.(phase, 0, runs * models.length, latencyStep);
  const latencies = await measureLatencies(models.map((m) => m.latency), data, {
    runs, warmup: opts.warmup, signal: opts.signal,
    onProgress: (done, total) => opts.onProgress?.(phase, done, total, latencyStep),
  });

  const top = (out: Outputs, k: number) => (data.labels ? topKAccuracy(out, data.labels, k) : null);
  const results: ModelResult[] = [];
  for (const [k, m] of models.entries()) {
    results.push({
      model: m.accuracy.file, bytes: await modelBytes(m.accuracy.file),
      top1: top(outputs[k], 1), top5: top(outputs[k], 5), latencyMs: latencies[k],
    });
  }
  const [main, base] = results;
  const result: BenchResult = { ...main, n: data.n };
  if (!base) return result;
  const pp = (a: number | null, b: number | null) => (a === null || b === null ? null : (a - b) * 100);
  result.baseline = base;
  result.delta = {
    top1: pp(main.top1, base.top1),
    top5: pp(main.top5, base.top5),
    latencyRatio: main.latencyMs.p50 / base.latencyMs.p50,
    sizeRatio: main.bytes / base.bytes,
    agreement: agreement(outputs[0], outputs[1]),
    maxAbsDiff: maxAbsDiff(outputs[0], outputs[1]),
  };
  return result;
}

/** File size plus the external data its initializers reference (the weights themselves are not read). */
async function modelBytes(file: string): Promise<number> {
  const model = openModelLazy(file);
  try {
    return model.fileBytes + externalDataBytes(model);
  } finally {
    model.close();
  }
}
