// Single-sample latency: warm-up runs, then timed runs of batch 1; percentiles by linear interpolation
// between order statistics (numpy.percentile's default).
import type { Dataset } from './datasets';
import { runBatch, type ModelSession } from './runner';

export interface LatencyOptions {
  warmup?: number;
  runs?: number;
  signal?: AbortSignal;
}

export interface LatencyProgress {
  /** after each round of each model: timed runs done so far over all models, of runs × models */
  onProgress?: (done: number, total: number) => void;
}

export interface Latency {
  p50: number;
  p95: number;
  runs: number;
}

/**
 * p50/p95 of `runs` batch-1 inferences per model (cycling over the first samples of `data`) after `warmup`
 * untimed ones, measured in alternating rounds, so that load from other processes on a shared machine
 * falls on all models alike and their ratio stays meaningful.
 */
export async function measureLatencies(models: readonly ModelSession[], data: Dataset, opts: LatencyOptions & LatencyProgress & { rounds?: number } = {}): Promise<Latency[]> {
  const inputs = await latencyInputs(data);
  const runs = Math.max(1, opts.runs ?? 50);
  const rounds = Math.min(runs, Math.max(1, opts.rounds ?? 5));
  const times: number[][] = models.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const share = Math.floor((runs * (r + 1)) / rounds) - Math.floor((runs * r) / rounds);
    for (const [k, m] of models.entries()) {
      times[k].push(...await timeRuns(m, inputs, data.sampleShape, { ...opts, runs: share, warmup: r === 0 ? opts.warmup : 0 }));
      opts.onProgress?.(times.reduce((sum, t) => sum + t.length, 0), runs * models.length);
    }
  }
  return times.map(summarize);
}

async function latencyInputs(data: Dataset): Promise<Float32Array[]> {
  if (data.n === 0) throw new RangeError('latency needs at least one sample');
  return Promise.all(Array.from({ length: Math.min(8, data.n) }, (_, i) => data.batch(i, 1)));
}

async function timeRuns(model: ModelSession, inputs: Float32Array[], sampleShape: readonly number[], opts: LatencyOptions): Promise<number[]> {
  const warmup = opts.warmup ?? 5;
  const runs = Math.max(1, opts.runs ?? 50);
  const times: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    opts.signal?.throwIfAborted();
    const t0 = performance.now();
    await runBatch(model, inputs[i % inputs.length], 1, sampleShape);
    if (i >= warmup) times.push(performance.now() - t0);
  }
  return times;
}

function summarize(times: number[]): Latency {
  return { p50: percentile(times, 50), p95: percentile(times, 95), runs: times.length };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
