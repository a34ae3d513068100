// `onnx-lens bench MODEL --data DATA [--labels Y.npy] [--baseline MODEL] [--json]`: accuracy, agreement with a
// baseline, batch-1 latency and size. The result goes to stdout; progress to stderr, or with --progress-fd N as
// JSON lines on descriptor N (then stderr carries warnings and errors alone).
import type { Command } from 'commander';
import { analyzeFile } from '../core/analysis/analyze';
import { measureSaturation, type MeasuredSaturation, type SaturationMeasurement } from '../core/analysis/saturationMeasured';
import { UsageError } from '../core/errors';
import { benchmark, type BenchModel, type BenchResult, type BenchStep, type ModelResult } from '../core/eval/benchmark';
import { detectCpuInt8, type CpuInt8 } from '../core/eval/cpuFeatures';
import { signedPp } from '../core/format';
import { openSession } from '../core/eval/runner';
import { readModel } from '../core/onnx/read';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { positiveInt } from './modelOutput';
import { progressFd, progressFdWriter, type ProgressWriter } from './progressFd';

interface BenchFlags extends DataFlags {
  data: string;
  baseline?: string;
  json?: boolean;
  batch: string;
  runs: string;
  threads: string;
  limit?: string;
  progressFd?: string;
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
    .option('--limit <n>', 'use at most N samples, evenly spread over the data set')
    .option('--progress-fd <n>', 'write progress as JSON lines ({"type":"progress",…}) to this open file descriptor');
  addDataOptions(cmd).action(async (file: string, flags: BenchFlags) => {
    const ints = {
      batch: positiveInt(flags.batch, '--batch'),
      runs: positiveInt(flags.runs, '--runs'),
      threads: positiveInt(flags.threads, '--threads'),
      limit: positiveInt(flags.limit, '--limit'),
    };
    const fd = progressFd(flags.progressFd);
    const writeProgress = fd === undefined ? undefined : progressFdWriter(fd);
    writeProgress?.({ message: `opening ${file}`, fraction: 0, phase: 'prepare' });
    const open = async (f: string): Promise<BenchModel> => ({
      accuracy: await openSession(f),
      latency: await openSession(f, { intraOpThreads: ints.threads }),
    });
    const model = await open(file);
    const baseline = flags.baseline ? await open(flags.baseline) : undefined;
    const data = await datasetFromOptions(flags.data, flags, model.accuracy.inputShape, ints.limit);
    const files = [file, ...(flags.baseline ? [flags.baseline] : [])];
    // Layers whose int8 weights can saturate, run on the first samples: do their pair sums saturate on AVX2?
    const saturation = new Map<string, SaturationMeasurement>();
    for (const f of files) if (!saturation.has(f)) saturation.set(f, await measureSaturation(await readModel(f), data, { file: f }));
    const warnings = saturationWarnings(files, detectCpuInt8(), saturation);
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);

    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      const result = await benchmark(model, data, baseline, {
        batchSize: ints.batch, latencyRuns: ints.runs, signal: abort.signal,
        onProgress: writeProgress ? benchProgressLines(writeProgress) : progressPrinter(),
      });
      const withSaturation = <T extends ModelResult>(m: T) => ({ ...m, saturation: saturation.get(m.model)?.layers ?? [], saturationSamples: saturation.get(m.model)?.samples ?? 0 });
      const json = { ...withSaturation(result), ...(result.baseline ? { baseline: withSaturation(result.baseline) } : {}), warnings };
      process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : formatBench(result, flags.data) + formatSaturation(files, saturation));
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw new UsageError(undefined, 'bench cancelled');
      throw e;
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  });
}

/** "p2o.Conv.0 (164,014 of 2,064,384 pair sums)", …: the layers that saturated, the first `max` of them. */
function saturatedList(layers: readonly MeasuredSaturation[], max = 5): string {
  const named = layers.slice(0, max).map((l) => `${l.layer} (${l.saturatedPairSums.toLocaleString('en-US')} of ${l.pairSums.toLocaleString('en-US')} pair sums)`);
  return named.join(', ') + (layers.length > max ? ` and ${layers.length - max} more` : '');
}

/**
 * Models whose int8 weights can saturate 16-bit pair sums, when this CPU is one that saturates them
 * (x86 without VNNI): their accuracy here is not what a VNNI or ARM CPU gives, and the fix is a re-quantization.
 * With `measured` (measureSaturation of a file), the warning names the layers that did saturate on the data.
 */
export function saturationWarnings(files: readonly string[], cpu: CpuInt8 = detectCpuInt8(), measured: ReadonlyMap<string, SaturationMeasurement> = new Map()): string[] {
  if (!cpu.saturates) return [];
  return files.flatMap((f) => {
    const m = measured.get(f);
    const layers = m ? m.layers.length : analyzeFile(f).layers.filter((l) => l.saturation === 'possible').length;
    if (!layers) return [];
    const did = m?.layers.filter((l) => l.verdict === 'measured') ?? [];
    const detail = !m?.samples ? '' : did.length ? `; on ${m.samples} samples of the data ${did.length} did: ${saturatedList(did)}` : `; none did on ${m.samples} samples of the data`;
    return [`${f}: ${layers} int8 layers can saturate 16-bit sums on this CPU (${cpu.name}: ${cpu.reason})${detail}, so its accuracy here ${did.length || !m?.samples ? 'is' : 'can be'} lower than on VNNI or ARM CPUs; quantize it again with --target portable (7-bit weights, same speed)`];
  });
}

/** The text report's saturation lines: per model with layers that can saturate, which did on the data and how often. */
function formatSaturation(files: readonly string[], measured: ReadonlyMap<string, SaturationMeasurement>): string {
  const lines: string[] = [];
  for (const f of new Set(files)) {
    const m = measured.get(f);
    if (!m?.layers.length) continue;
    const did = m.layers.filter((l) => l.verdict === 'measured');
    lines.push('', `int8 16-bit pair sums on x86 without VNNI (AVX2), ${m.samples} samples of the data, ${f}: ${did.length} of ${m.layers.length} layers that can saturate did`);
    for (const l of did) lines.push(`  ${l.layer.padEnd(40)} ${l.saturatedPairSums.toLocaleString('en-US').padStart(12)} of ${l.pairSums.toLocaleString('en-US')} pair sums (${((100 * l.saturatedPairSums) / l.pairSums).toPrecision(3)} %)`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * The --progress-fd lines of a benchmark: `phase` accuracy (per model: `model`, `done`/`total` samples) or latency
 * (`done`/`total` timed runs over all models); `fraction` of the whole counts a timed run like a sample.
 */
export function benchProgressLines(write: ProgressWriter): (phase: string, done: number, total: number, step: BenchStep) => void {
  let last: { pass: string; fraction: number } | undefined;
  return (message, done, total, step) => {
    const whole = step.models * (step.samples + step.runs);
    const before = step.pass === 'accuracy' ? step.index * step.samples : step.models * step.samples;
    const fraction = whole ? (before + done) / whole : 1;
    const pass = step.pass === 'accuracy' ? `accuracy ${step.index}` : 'latency';
    // At most one line per 0.5 % of the whole, but always the first and the last line of each pass.
    if (last?.pass === pass && done !== total && fraction - last.fraction < 0.005) return;
    last = { pass, fraction };
    write({
      message: `${message}: ${done}/${total}`, fraction, phase: step.pass, done, total, models: step.models,
      ...(step.pass === 'accuracy' ? { model: step.model, modelIndex: step.index } : {}),
    });
  };
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
    if (d.top1 !== null) lines.push(`top-1 change   ${signedPp(d.top1)}`);
    lines.push(
      `agreement      ${pct(d.agreement)} of predictions match the baseline (max |Δ output| ${d.maxAbsDiff.toPrecision(3)})`,
      `latency        ${d.latencyRatio.toFixed(2)}× the baseline's p50`,
      `size           ${d.sizeRatio.toFixed(3)}× the baseline's bytes`,
    );
  }
  return `${lines.join('\n')}\n`;
}
