// `onnx-lens bench MODEL --data DATA [--labels Y.npy] [--baseline MODEL] [--json]`: accuracy, agreement with a
// baseline, batch-1 latency and size. Progress goes to stderr, the result to stdout.
import type { Command } from 'commander';
import { analyzeFile } from '../core/analysis/analyze';
import { UsageError } from '../core/errors';
import { benchmark, type BenchModel, type BenchResult, type ModelResult } from '../core/eval/benchmark';
import { detectCpuInt8, type CpuInt8 } from '../core/eval/cpuFeatures';
import { openSession } from '../core/eval/runner';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { positiveInt } from './modelOutput';

interface BenchFlags extends DataFlags {
  data: string;
  baseline?: string;
  json?: boolean;
  batch: string;
  runs: string;
  threads: string;
  limit?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('bench')
    .description('measure top-1/top-5, latency (p50/p95, batch 1) and size; with --baseline also the deltas and agreement')
    .argument('<model>', 'the .onnx model to measure')
    .requiredOption('--data <path>', 'evaluation data: a folder of class folders of images, a flat image folder, or a float32 .npy')
    .option('--baseline <model>', 'the reference model (e.g. the uncompressed original) to compare with')
    .option('--json', 'print one JSON object')
    .option('--batch <n>', 'samples per inference for the accuracy pass', '32')
    .option('--runs <n>', 'timed batch-1 runs for latency (after 5 warm-up runs)', '50')
    .option('--threads <n>', 'onnxruntime intra-op threads for the latency runs', '1')
    .option('--limit <n>', 'use at most N samples, evenly spread over the data set');
  addDataOptions(cmd).action(async (file: string, flags: BenchFlags) => {
    const ints = {
      batch: positiveInt(flags.batch, '--batch'),
      runs: positiveInt(flags.runs, '--runs'),
      threads: positiveInt(flags.threads, '--threads'),
      limit: positiveInt(flags.limit, '--limit'),
    };
    const open = async (f: string): Promise<BenchModel> => ({
      accuracy: await openSession(f),
      latency: await openSession(f, { intraOpThreads: ints.threads }),
    });
    const model = await open(file);
    const baseline = flags.baseline ? await open(flags.baseline) : undefined;
    const data = await datasetFromOptions(flags.data, flags, model.accuracy.inputShape, ints.limit);
    const warnings = saturationWarnings([file, ...(flags.baseline ? [flags.baseline] : [])]);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);

    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      const result = await benchmark(model, data, baseline, {
        batchSize: ints.batch, latencyRuns: ints.runs, signal: abort.signal, onProgress: progressPrinter(),
      });
      process.stdout.write(flags.json ? `${JSON.stringify({ ...result, warnings })}\n` : formatBench(result, flags.data));
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw new UsageError(undefined, 'bench cancelled');
      throw e;
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  });
}

/**
 * Models whose int8 weights can saturate 16-bit pair sums, when this CPU is one that saturates them
 * (x86 without VNNI): their accuracy here is not what a VNNI or ARM CPU gives, and the fix is a re-quantization.
 */
export function saturationWarnings(files: readonly string[], cpu: CpuInt8 = detectCpuInt8()): string[] {
  if (!cpu.saturates) return [];
  return files.flatMap((f) => {
    const layers = analyzeFile(f).layers.filter((l) => l.saturation === 'possible').length;
    if (!layers) return [];
    return [`${f}: ${layers} int8 layers can saturate 16-bit sums on this CPU (${cpu.name}: ${cpu.reason}), so its accuracy here is lower than on VNNI or ARM CPUs; quantize it again with --target portable (7-bit weights, same speed)`];
  });
}

/** One stderr line per phase and every ~10 %; on a terminal the line is rewritten in place. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (phase: string, done: number, total: number) => void {
  let lastPhase = '';
  let lastTenth = -1;
  return (phase, done, total) => {
    const tenth = total ? Math.floor((10 * done) / total) : 10;
    if (phase === lastPhase && tenth === lastTenth) return;
    const line = `${phase}: ${done}/${total}`;
    if (stream.isTTY) stream.write(`\r\x1b[K${line}${done === total ? '\n' : ''}`);
    else stream.write(`${line}\n`);
    lastPhase = phase;
    lastTenth = tenth;
  };
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)} %`);
const ms = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms`;
const signed = (x: number, unit: string) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)} ${unit}`;

function formatBench(r: BenchResult, data: string): string {
  const row = (m: ModelResult) =>
    [pct(m.top1).padStart(9), pct(m.top5).padStart(9), ms(m.latencyMs.p50).padStart(11), ms(m.latencyMs.p95).padStart(11), String(m.bytes).padStart(12), `  ${m.model}`].join('');
  const lines = [
    `data ${data}: ${r.n} samples${r.top1 === null ? ' (unlabelled)' : ''}; latency = batch 1 over ${r.latencyMs.runs} runs`,
    `${'top-1'.padStart(9)}${'top-5'.padStart(9)}${'p50'.padStart(11)}${'p95'.padStart(11)}${'bytes'.padStart(12)}  model`,
    row(r),
  ];
  if (r.baseline && r.delta) {
    const d = r.delta;
    lines.push(row(r.baseline), '');
    if (d.top1 !== null) lines.push(`top-1 change   ${signed(d.top1, 'pp')}`);
    lines.push(
      `agreement      ${pct(d.agreement)} of predictions match the baseline (max |Δ output| ${d.maxAbsDiff.toPrecision(3)})`,
      `latency        ${d.latencyRatio.toFixed(2)}× the baseline's p50`,
      `size           ${d.sizeRatio.toFixed(3)}× the baseline's bytes`,
    );
  }
  return `${lines.join('\n')}\n`;
}
