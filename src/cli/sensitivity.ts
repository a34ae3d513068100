// `onnx-lens sensitivity MODEL --data D --calib C [--mode static|weight] [--bits 8|4] [--json]`: each weighted layer
// quantized alone (src/core/eval/sensitivity.ts), ranked by what it costs: Δtop-1, agreement with the original and
// output SQNR. The table (or JSON) goes to stdout; progress to stderr, or with --progress-fd N as JSON lines on N.
import type { Command } from 'commander';
import { UsageError } from '../core/errors';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quantize/calibrate/calibrate';
import { layerSensitivity, type SensitivityMode, type SensitivityResult } from '../core/eval/sensitivity';
import { modelInput } from '../core/eval/modelInput';
import { readModel } from '../core/onnx/read';
import { cliOptionName } from '../core/recipe/stepChecks';
import { progressPrinter } from './bench';
import { addDataOptions, datasetFromOptions, preprocessFromFlags, type DataFlags } from './dataOptions';
import { positiveInt } from './modelOutput';
import { progressFd, progressFdWriter } from './progressFd';

interface SensitivityFlags extends DataFlags {
  data?: string;
  calib?: string;
  mode: string;
  bits: string;
  perChannel?: boolean;
  method?: string;
  target?: string;
  calibSamples?: string;
  limit: string;
  batch: string;
  json?: boolean;
  progressFd?: string;
}

const MODES: readonly SensitivityMode[] = ['static', 'weight'];

export function register(program: Command): void {
  const cmd = program.command('sensitivity')
    .description('quantize each weighted layer alone and rank the layers by the top-1 change, agreement and output SQNR it causes')
    .argument('<model>', 'the float .onnx model')
    // Checked in the action, not by commander, so that bad input is one line and exit code 1 like every other error.
    .option('--data <path>', 'evaluation data: a folder of class folders of images, a flat image folder, or a float32 .npy (required)')
    .option('--calib <data>', 'calibration data (image folder or .npy) for --mode static')
    .option('--mode <mode>', 'static: int8 QDQ weights and activations; weight: int8/int4 weights only', 'static')
    .option('--bits <n>', 'weight bits: 8, or 4 with --mode weight', '8')
    .option('--per-channel', 'one weight scale per output channel (default)')
    .option('--no-per-channel', 'one weight scale per tensor')
    .option('--method <method>', `static: activation range calibration, ${CALIBRATION_METHODS.join('|')} (default minmax)`)
    .option('--target <cpu>', 'static: the CPUs the int8 kernels are for (as quantize --target; default portable)')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .option('--limit <n>', 'evaluate on at most N samples, evenly spread over the data set', '200')
    .option('--batch <n>', 'samples per inference', '32')
    .option('--json', 'print one JSON object')
    .option('--progress-fd <n>', 'write progress as JSON lines ({"type":"progress",…}) to this open file descriptor');
  addDataOptions(cmd).action(async (file: string, flags: SensitivityFlags) => {
    if (!flags.data) throw new UsageError(file, 'missing --data (evaluation images or .npy)');
    if (!(MODES as readonly string[]).includes(flags.mode)) throw new UsageError(file, `--mode must be static or weight, got '${flags.mode}'`);
    if (flags.bits !== '8' && flags.bits !== '4') throw new UsageError(file, `--bits must be 8 or 4, got '${flags.bits}'`);
    if (flags.method !== undefined && !(CALIBRATION_METHODS as readonly string[]).includes(flags.method)) {
      throw new UsageError(file, `--method must be one of ${CALIBRATION_METHODS.join(', ')}, got '${flags.method}'`);
    }
    if (flags.calib !== undefined && flags.mode !== 'static') throw new UsageError(file, '--calib only applies to --mode static');
    const ints = { limit: positiveInt(flags.limit, '--limit', 200), batch: positiveInt(flags.batch, '--batch', 32), calibSamples: positiveInt(flags.calibSamples, '--calib-samples') };
    const fd = progressFd(flags.progressFd);
    const writeProgress = fd === undefined ? undefined : progressFdWriter(fd);
    const printer = progressPrinter();

    const model = await readModel(file);
    const data = await datasetFromOptions(flags.data, flags, modelInput(model.proto)?.shape, ints.limit);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      const result = await layerSensitivity(model, data, {
        mode: flags.mode as SensitivityMode, bits: Number(flags.bits) as 8 | 4, perChannel: flags.perChannel,
        method: flags.method as CalibrationMethod | undefined, target: flags.target, calibSamples: ints.calibSamples,
        calibration: flags.calib ? { data: flags.calib, preprocess: preprocessFromFlags(flags) } : undefined,
        batchSize: ints.batch, signal: abort.signal, optionName: cliOptionName,
        onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
        onProgress: (p) => {
          if (writeProgress) writeProgress({ ...p });
          else if (p.phase === 'layer') printer('layers', p.done ?? 0, p.total ?? 0);
          else process.stderr.write(`${p.message}\n`);
        },
      });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatSensitivity(result, flags.data));
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw new UsageError(undefined, 'sensitivity cancelled');
      throw e;
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  });
}

const pp = (x: number | null) => (x === null ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : ' '}${Math.abs(x).toFixed(2)}`);
const db = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '∞');

function formatSensitivity(r: SensitivityResult, data: string): string {
  const scheme = r.mode === 'static' ? 'static int8 QDQ' : `weight-only int${r.bits}`;
  const base = r.baseline.top1 === null ? 'unlabelled, no top-1' : `original top-1 ${(100 * r.baseline.top1).toFixed(2)} %`;
  const width = Math.max(5, ...r.layers.map((l) => l.name.length));
  const lines = [
    `${r.model}: each of ${r.layers.length} layers quantized alone (${scheme}); data ${data}: ${r.n} samples, ${base}; most sensitive first`,
    `${'layer'.padEnd(width)}  ${'op'.padEnd(8)}${'params'.padStart(10)}${'Δtop-1 pp'.padStart(11)}${'agreement'.padStart(11)}${'SQNR dB'.padStart(9)}`,
    ...r.layers.map((l) => `${l.name.padEnd(width)}  ${l.op.padEnd(8)}${l.params.toLocaleString('en-US').padStart(10)}${pp(l.deltaTop1).padStart(11)}${`${(100 * l.agreement).toFixed(2)} %`.padStart(11)}${db(l.sqnrDb).padStart(9)}`),
  ];
  return `${lines.join('\n')}\n`;
}
