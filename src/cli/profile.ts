// `onnx-lens profile MODEL [--runs N] [--warmup N] [--shape NAME=DIMS] [--json]`: where a batch-1 inference spends its
// time, layer by layer, from onnxruntime's own profiler (src/core/eval/profile.ts) on bench's latency session. The
// table (or JSON) goes to stdout; progress to stderr, or with --progress-fd N as JSON lines on N.
import type { Command } from 'commander';
import { UsageError } from '../core/errors';
import { detectCpuInt8 } from '../core/eval/cpuFeatures';
import { profileLayers, type LayerProfile } from '../core/eval/profile';
import { progressPrinter } from './bench';
import { parseShapes } from './inspect';
import { positiveInt } from './modelOutput';
import { progressFd, progressFdWriter } from './progressFd';

interface ProfileFlags {
  runs: string;
  warmup: string;
  shape: string[];
  json?: boolean;
  progressFd?: string;
}

export function register(program: Command): void {
  program.command('profile')
    .description('per-layer latency (batch 1, one thread, as bench) from onnxruntime\'s profiler, slowest layer first')
    .argument('<model>', 'the .onnx model')
    .option('--runs <n>', 'profiled runs', '20')
    .option('--warmup <n>', 'runs before the profiled ones', '5')
    .option('--shape <name=dims>', 'concrete shape of an input with symbolic dims other than the batch (repeatable), e.g. x=1,3,224,224',
      (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'print one JSON object')
    .option('--progress-fd <n>', 'write progress as JSON lines ({"type":"progress",…}) to this open file descriptor')
    .action(async (file: string, flags: ProfileFlags) => {
      const runs = positiveInt(flags.runs, '--runs', 20);
      const warmup = Number(flags.warmup);
      if (!/^\d+$/.test(flags.warmup.trim())) throw new UsageError(undefined, `--warmup must be a whole number, got '${flags.warmup}'`);
      const inputShapes = parseShapes(flags.shape);
      const fd = progressFd(flags.progressFd);
      const writeProgress = fd === undefined ? undefined : progressFdWriter(fd);
      const printer = progressPrinter();
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop).once('SIGTERM', stop);
      try {
        const result = await profileLayers(file, {
          runs, warmup, inputShapes, signal: abort.signal,
          onProgress: (done, total) => {
            const message = done <= warmup ? `warm-up ${done}/${warmup}` : `run ${done - warmup}/${runs}`;
            if (writeProgress) writeProgress({ message, fraction: done / total, done, total });
            else printer(`profiling ${file}`, done, total);
          },
        });
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatProfile(result, warmup));
      } catch (e) {
        if ((e as Error).name === 'AbortError') throw new UsageError(undefined, 'profile cancelled');
        throw e;
      } finally {
        process.off('SIGINT', stop).off('SIGTERM', stop);
      }
    });
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

function formatProfile(r: LayerProfile, warmup: number): string {
  const cpu = detectCpuInt8();
  const width = Math.max(7, ...r.layers.map((l) => l.name.length), ...r.other.ops.map((o) => o.op.length + 2));
  const opWidth = Math.max(12, ...r.layers.map((l) => l.op.length)) + 2;
  // Small models run in microseconds: one more digit there (the profiler's unit is 1 µs).
  const ms = (x: number) => x.toFixed(r.totalMs < 1 ? 4 : 3);
  const row = (name: string, op: string, t: number, share: number, cumulative: string, note = '') =>
    `${name.padEnd(width)}  ${op.padEnd(opWidth)}${ms(t).padStart(10)}${pct(share).padStart(9)}${cumulative.padStart(9)}${note}`;
  const share = (t: number) => (r.totalMs ? t / r.totalMs : 0);
  let cumulative = 0;
  const lines = [
    `${r.model}: kernel time per batch-1 run, one thread, ${r.runs} runs after ${warmup} warm-up (mean of the middle half); ${cpu.name || cpu.arch}`,
    `${'layer'.padEnd(width)}  ${'op'.padEnd(opWidth)}${'ms'.padStart(10)}${'share'.padStart(9)}${'cum.'.padStart(9)}`,
    ...r.layers.map((l) => {
      cumulative += l.share;
      return row(l.name, l.op, l.ms, l.share, pct(cumulative), l.fusedInto ? `  fused into ${l.fusedInto}` : '');
    }),
    row('(other)', kernels(r.other.kernels), r.other.ms, share(r.other.ms), ''),
    ...r.other.ops.map((o) => row(`  ${o.op}`, kernels(o.kernels), o.ms, share(o.ms), '')),
    `total ${ms(r.totalMs)} ms of kernel time per run: ${r.layers.length} layers ${ms(r.totalMs - r.other.ms)} ms, other ${ms(r.other.ms)} ms`,
  ];
  return `${lines.join('\n')}\n`;
}

const kernels = (n: number) => `${n} kernel${n === 1 ? '' : 's'}`;
