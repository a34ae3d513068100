// `onnx-lens plan MODEL --budget PP --data D --calib C [-o RECIPE] [--model-out OUT] [--json]`: per layer float, static
// int8 or int4 weights so that the top-1 drop on the planning data stays within the budget while the model gets
// smallest (src/core/plan/plan.ts). The plan is written as a recipe (`onnx-lens apply` replays it), the model it
// makes optionally with --model-out (atomically). Result on stdout; progress on stderr or as JSON lines on --progress-fd.
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors';
import type { Preprocess } from '../core/eval/datasets';
import { signedPp } from '../core/format';
import { modelInput } from '../core/eval/modelInput';
import { readModel } from '../core/onnx/read';
import { planCompression, type PlanResult } from '../core/plan/plan';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quantize/calibrate/calibrate';
import { cliOptionName } from '../core/recipe/stepChecks';
import { stringifyRecipe } from '../core/recipe/stringify';
import type { PreprocessOptions, Recipe } from '../core/recipe/types';
import { writeFileAtomic } from '../core/onnx/write';
import { progressPrinter } from './bench';
import { addDataOptions, datasetFromOptions, preprocessFromFlags, type DataFlags } from './dataOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';
import { progressFd, progressFdWriter } from './progressFd';

interface PlanFlags extends DataFlags {
  budget?: string;
  data?: string;
  calib?: string;
  output?: string;
  modelOut?: string;
  method?: string;
  target?: string;
  calibSamples?: string;
  int4Tries: string;
  limit: string;
  batch: string;
  runs: string;
  json?: boolean;
  progressFd?: string;
}

export function register(program: Command): void {
  const cmd = program.command('plan')
    .description('choose per layer float, int8 or int4 weights so that the top-1 drop stays within a budget and the model is smallest; write the plan as a recipe')
    .argument('<model>', 'the float .onnx model')
    // Checked in the action, not by commander, so that bad input is one line and exit code 1 like every other error.
    .option('--budget <pp>', 'the largest allowed top-1 drop, in percentage points (required)')
    .option('--data <path>', 'labelled planning data: a folder of class folders of images, or a float32 .npy with --labels (required)')
    .option('--calib <data>', 'calibration data (image folder or .npy) (required)')
    .option('-o, --output <recipe>', 'write the plan as a recipe (*.onnxlens.yaml); paths in it are relative to it')
    .option('--model-out <file>', 'also write the model the plan makes')
    .option('--method <method>', `activation range calibration, ${CALIBRATION_METHODS.join('|')} (default minmax)`)
    .option('--target <cpu>', 'the CPUs the int8 kernels are for (as quantize --target; default portable)')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .option('--int4-tries <n>', 'int4-weight trials on the largest int8 layers (0: none)', '8')
    .option('--limit <n>', 'plan on at most N samples, evenly spread over the data set', '500')
    .option('--batch <n>', 'samples per inference', '32')
    .option('--runs <n>', 'timed batch-1 runs per model for the latency', '50')
    .option('--json', 'print one JSON object')
    .option('--progress-fd <n>', 'write progress as JSON lines ({"type":"progress",…}) to this open file descriptor');
  addDataOptions(cmd).action(async (file: string, flags: PlanFlags) => {
    const budget = Number(flags.budget);
    if (flags.budget === undefined) throw new UsageError(file, 'missing --budget (the largest allowed top-1 drop in pp)');
    if (!Number.isFinite(budget) || budget < 0) throw new UsageError(file, `--budget must be a number of percentage points ≥ 0, got '${flags.budget}'`);
    if (!flags.data) throw new UsageError(file, 'missing --data (labelled planning images or .npy)');
    if (!flags.calib) throw new UsageError(file, 'missing --calib (calibration images or .npy)');
    if (flags.method !== undefined && !(CALIBRATION_METHODS as readonly string[]).includes(flags.method)) {
      throw new UsageError(file, `--method must be one of ${CALIBRATION_METHODS.join(', ')}, got '${flags.method}'`);
    }
    const int4Tries = Number(flags.int4Tries);
    if (!Number.isInteger(int4Tries) || int4Tries < 0) throw new UsageError(undefined, `--int4-tries must be an integer ≥ 0, got '${flags.int4Tries}'`);
    const ints = {
      limit: positiveInt(flags.limit, '--limit', 500), batch: positiveInt(flags.batch, '--batch', 32),
      runs: positiveInt(flags.runs, '--runs', 50), calibSamples: positiveInt(flags.calibSamples, '--calib-samples'),
    };
    if (flags.modelOut !== undefined) checkOutputPath(file, flags.modelOut);
    if (flags.output !== undefined) checkOutputPath(file, flags.output);
    const fd = progressFd(flags.progressFd);
    const writeProgress = fd === undefined ? undefined : progressFdWriter(fd);
    const printer = progressPrinter();

    const model = await readModel(file);
    const dataLocation = flags.modelOut === undefined ? undefined : outputDataLocation(model, file, flags.modelOut);
    const preprocess = preprocessFromFlags(flags);
    const data = await datasetFromOptions(flags.data, flags, modelInput(model.proto)?.shape, ints.limit);
    if (!data.labels) throw new UsageError(flags.data, 'the planning data has no labels (class folders, or --labels Y.npy): the budget is a top-1 drop');
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      const { result, proto } = await planCompression(model, data, {
        budget, calibration: { data: flags.calib, preprocess }, calibSamples: ints.calibSamples,
        method: flags.method as CalibrationMethod | undefined, target: flags.target, int4Tries,
        batchSize: ints.batch, latencyRuns: ints.runs, signal: abort.signal, optionName: cliOptionName,
        onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
        onProgress: (p) => {
          if (writeProgress) writeProgress({ ...p });
          else printer(p.phase, Math.round(100 * p.fraction), 100);
        },
      });
      const recipe = planRecipe(file, flags, preprocess, budget, result);
      const text = stringifyRecipe(recipe);
      if (flags.output) writeFileAtomic(flags.output, new TextEncoder().encode(text));
      if (flags.modelOut) writeOutput(proto, flags.modelOut, model, dataLocation);
      const files = { recipeFile: flags.output ?? null, modelOut: flags.modelOut ?? null };
      process.stdout.write(flags.json ? `${JSON.stringify({ ...result, ...files, recipe: text })}\n` : formatPlan(result, flags, text));
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw new UsageError(undefined, 'plan cancelled');
      throw e;
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  });
}

/** The recipe of the plan, its paths relative to the recipe file (or to the working folder when it is printed). */
function planRecipe(file: string, flags: PlanFlags, preprocess: Preprocess, budget: number, result: PlanResult): Recipe {
  const base = path.dirname(path.resolve(flags.output ?? 'plan.onnxlens.yaml'));
  // Relative, except across top-level folders (/tmp from /home), where an absolute path survives moving the recipe.
  const top = (p: string) => p.split(path.sep)[1];
  const rel = (p: string) => (top(path.resolve(p)) === top(base) ? path.relative(base, path.resolve(p)) || '.' : path.resolve(p));
  const pre = recipePreprocess(preprocess);
  return {
    model: rel(file),
    output: flags.modelOut === undefined ? undefined : rel(flags.modelOut),
    calibration: { data: rel(flags.calib!), ...pre },
    evaluation: { data: rel(flags.data!), labels: flags.labels === undefined ? undefined : rel(flags.labels), ...pre, budget: { top1Drop: budget } },
    steps: result.steps,
  };
}

/** Preprocessing as a recipe writes it (size "HxW", one number for a mean or std that is the same on every channel). */
function recipePreprocess(p: Preprocess): PreprocessOptions {
  const list = (v: number[] | undefined) => (v === undefined ? undefined : v.length === 1 ? v[0] : v);
  return {
    size: p.size && `${p.size[0]}x${p.size[1]}`, resizeShorter: p.resizeShorter, grayscale: p.grayscale, bgr: p.bgr, layout: p.layout,
    mean: list(p.mean), std: list(p.std),
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const bytes = (x: number) => `${x.toLocaleString('en-US')} bytes`;

function formatPlan(r: PlanResult, flags: PlanFlags, recipe: string): string {
  const width = Math.max(5, ...r.layers.map((l) => l.name.length));
  const count = (c: string) => r.layers.filter((l) => l.choice === c).length;
  const m = r.measured;
  const lines = [
    `${r.model}: plan within ${r.budget} pp top-1 drop on ${flags.data} (${r.n} samples, original top-1 ${pct(r.original.top1)}); most sensitive first`,
    `${'layer'.padEnd(width)}  ${'op'.padEnd(8)}${'params'.padStart(10)}${'alone Δtop-1'.padStart(14)}  choice`,
    ...r.layers.map((l) => `${l.name.padEnd(width)}  ${l.op.padEnd(8)}${l.params.toLocaleString('en-US').padStart(10)}${signedPp(l.deltaTop1 ?? 0).padStart(14)}  ${l.choice}`),
    `${count('float')} float, ${count('int8')} int8, ${count('int4')} int4 weights; ${r.evaluations} evaluations`,
    `uniform int8: top-1 ${pct(r.uniformInt8.top1)} (${signedPp(r.uniformInt8.deltaTop1)}), ${bytes(r.uniformInt8.bytes)}`,
    `plan, measured: top-1 ${pct(m.top1)} (${signedPp(m.deltaTop1)}), ${bytes(m.bytes)} (${(100 * m.sizeRatio).toFixed(1)} % of ${bytes(r.original.bytes)}), ` +
      `batch-1 p50 ${m.latencyMs.p50.toFixed(3)} ms vs ${r.original.latencyMs.p50.toFixed(3)} ms (×${m.latencyRatio.toFixed(2)})`,
  ];
  if (!r.withinBudget) lines.push(`could not meet the budget: the plan keeps every layer float`);
  else if (r.steps.length === 0) lines.push(`only every layer float meets the budget: the plan changes nothing`);
  if (flags.output) lines.push(`wrote ${flags.output}`);
  if (flags.modelOut) lines.push(`wrote ${flags.modelOut}`);
  const text = `${lines.join('\n')}\n`;
  return flags.output ? text : `${text}\n${recipe}`;
}
