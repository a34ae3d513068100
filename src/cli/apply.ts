// `onnx-lens apply RECIPE [-o OUT] [--json] [--progress-fd N] [--data D [--labels Y] [preprocessing]]`: replays a
// recipe (*.onnxlens.yaml) — its steps in order on its model — and writes the result atomically at the end, so a
// failed or killed run writes nothing. With --data each step's model is measured against the original (top-1, its
// change, agreement, bytes). Progress goes to --progress-fd as JSON lines {"type":"progress","step","steps","message","fraction"}.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument, type Node as YamlNode } from 'yaml';
import { UsageError } from '../core/errors';
import type { Dataset } from '../core/eval/datasets';
import { agreement, topKAccuracy } from '../core/eval/metrics';
import { modelInput } from '../core/eval/modelInput';
import { preprocessFrom } from '../core/eval/preprocessOptions';
import type { Outputs } from '../core/eval/runner';
import { evaluate } from '../core/eval/sensitivity';
import { inlineExternalData, readModel, type Model } from '../core/onnx/read';
import { encodeModel } from '../core/onnx/write';
import { applyRecipe, type RecipeProgress } from '../core/recipe/apply';
import { formatProblem, parseRecipe } from '../core/recipe/parse';
import { recipeOptionName } from '../core/recipe/stepChecks';
import type { Recipe } from '../core/recipe/types';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';
import { progressFd, progressFdWriter } from './progressFd';
import { jsonSummary, summaryLines as pruneLines } from './prune';
import { summaryLines as quantizeLines } from './quantize';

interface ApplyFlags extends DataFlags {
  output?: string;
  json?: boolean;
  progressFd?: string;
  data?: string;
  limit?: string;
  batch: string;
}

/** What `--data` measured of one step's model, against the recipe's original model. */
export interface StepMeasurement {
  /** null for unlabelled data */
  top1: number | null;
  /** percentage points, this step's model − the original; null for unlabelled data */
  delta: number | null;
  /** fraction of samples where this step's model predicts the original's class */
  agreement: number;
  /** bytes of the model as this step left it (encoded, external data inlined) */
  bytes: number;
}

/** Evaluates models on `data` the way `bench` does (same runner and metrics), each against the original's outputs. */
class StepMeter {
  private constructor(private readonly data: Dataset, private readonly original: Outputs, readonly originalTop1: number | null, private readonly batchSize: number, private readonly signal: AbortSignal) {}

  static async open(file: string, data: Dataset, batchSize: number, signal: AbortSignal): Promise<StepMeter> {
    const original = await evaluate(file, undefined, data, { batchSize, signal });
    return new StepMeter(data, original, data.labels ? topKAccuracy(original, data.labels, 1) : null, batchSize, signal);
  }

  async measure(model: Model): Promise<StepMeasurement> {
    const bytes = encodeModel(inlineExternalData(model.proto, model));
    const out = await evaluate(model.file ?? 'model', bytes, this.data, { batchSize: this.batchSize, signal: this.signal });
    const top1 = this.data.labels ? topKAccuracy(out, this.data.labels, 1) : null;
    return { top1, delta: top1 === null || this.originalTop1 === null ? null : 100 * (top1 - this.originalTop1), agreement: agreement(this.original, out), bytes: bytes.length };
  }
}

/** A recipe's problem as one `file:line:column: message` line; `at` is the YAML path of the value it concerns. */
function recipeError(file: string, text: string, at: (string | number)[], message: string): UsageError {
  const node = parseDocument(text).getIn(at, true) as YamlNode | undefined;
  const range: [number, number] = node?.range ? [node.range[0], node.range[1]] : [0, 0];
  return new UsageError(undefined, formatProblem(file, text, { message, severity: 'error', range }));
}

function readRecipe(file: string): { recipe: Recipe; text: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(file, code === 'ENOENT' ? 'recipe not found' : `cannot read the recipe (${code})`);
  }
  const parsed = parseRecipe(text, file);
  const error = parsed.problems.find((p) => p.severity === 'error');
  if (error || !parsed.recipe) throw new UsageError(undefined, formatProblem(file, text, error ?? { message: 'not a recipe', severity: 'error', range: [0, 0] }));
  for (const w of parsed.problems) process.stderr.write(`onnx-lens: warning: ${formatProblem(file, text, w)}\n`);
  return { recipe: parsed.recipe, text };
}

async function applyFile(file: string, flags: ApplyFlags) {
  const { recipe, text } = readRecipe(file);
  const base = path.dirname(path.resolve(file));
  const model = path.resolve(base, recipe.model);
  if (!fs.existsSync(model)) throw recipeError(file, text, ['model'], `model file not found: ${model}`);
  const calibData = recipe.calibration && path.resolve(base, recipe.calibration.data);
  if (calibData && !fs.existsSync(calibData)) throw recipeError(file, text, ['calibration', 'data'], `calibration data not found: ${calibData}`);
  if (!flags.output && !recipe.output) throw new UsageError(file, 'no output: give -o OUT or output: in the recipe');
  const output = flags.output ?? path.resolve(base, recipe.output!);
  checkOutputPath(model, output);
  const fd = progressFd(flags.progressFd);
  const onProgress = fd === undefined ? undefined : progressFdWriter<RecipeProgress>(fd);
  const calibration = recipe.calibration && {
    data: calibData!, preprocess: preprocessFrom(recipe.calibration, recipeOptionName), samples: recipe.calibration.samples,
  };

  // Stop at once on SIGTERM/SIGINT: the handler runs between JavaScript tasks, never inside the synchronous
  // atomic write, so the output either does not exist or is complete.
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    controller.abort();
    process.stderr.write(`onnx-lens: stopped by ${signal}; nothing written\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGTERM', stop).once('SIGINT', stop);
  try {
    onProgress?.({ step: 0, steps: recipe.steps.length, message: `reading ${model}`, fraction: 0 });
    const input = await readModel(model);
    const dataLocation = outputDataLocation(input, model, output);
    const data = flags.data === undefined ? undefined : await datasetFromOptions(flags.data, flags, modelInput(input.proto)?.shape, positiveInt(flags.limit, '--limit'));
    const batchSize = positiveInt(flags.batch, '--batch', 32);
    if (data) onProgress?.({ step: 0, steps: recipe.steps.length, message: `evaluating ${model} on ${data.n} samples`, fraction: 0 });
    const meter = data && await StepMeter.open(model, data, batchSize, controller.signal);
    const measured: StepMeasurement[] = [];
    const r = await applyRecipe(input, recipe.steps, {
      file: model, calibration, signal: controller.signal, onProgress,
      onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
      onStepDone: meter && (async (i, stepModel) => {
        onProgress?.({ step: i, steps: recipe.steps.length, message: `measuring step ${i + 1} on ${data!.n} samples`, fraction: (i + 1) / recipe.steps.length });
        measured.push(await meter.measure(stepModel));
      }),
    });
    onProgress?.({ step: recipe.steps.length - 1, steps: recipe.steps.length, message: `writing ${output}`, fraction: 1 });
    writeOutput(r.model.proto, output, input, dataLocation);
    const steps = r.steps.map((step, i) => (meter ? { ...step, measured: measured[i] } : step));
    const evaluation = meter && { data: path.resolve(flags.data!), n: data!.n, top1: meter.originalTop1, bytes: input.fileBytes };
    return { model, output, steps, bytesBefore: input.fileBytes, bytesAfter: fs.statSync(output).size, warnings: r.warnings, ...(evaluation ? { evaluation } : {}) };
  } finally {
    process.off('SIGTERM', stop).off('SIGINT', stop);
  }
}

export function register(program: Command): void {
  const cmd = program.command('apply')
    .description('run a recipe (*.onnxlens.yaml): its steps in order on its model, written to its output')
    .argument('<recipe>', 'the recipe file')
    .option('-o, --output <file>', 'where to write the result (default: the recipe\'s output, relative to the recipe); never the input')
    .option('--json', 'print a JSON summary')
    .option('--progress-fd <n>', 'write progress as JSON lines to this open file descriptor')
    .option('--data <path>', 'measure each step\'s model on this evaluation data (image folders or .npy): top-1, its change vs the original, agreement, bytes')
    .option('--limit <n>', 'with --data: at most N samples, evenly spread over the data set')
    .option('--batch <n>', 'with --data: samples per inference', '32');
  addDataOptions(cmd).action(async (file: string, flags: ApplyFlags) => {
      const s = await applyFile(file, flags);
      if (flags.json) {
        process.stdout.write(`${jsonSummary(s)}\n`);
        return;
      }
      const lines: string[] = [];
      if (s.evaluation) lines.push(`original: ${measuredText(s.evaluation.top1, null)} on ${s.evaluation.n} samples of ${s.evaluation.data}`);
      for (const [i, step] of s.steps.entries()) {
        lines.push(`step ${i + 1}/${s.steps.length}: ${step.kind}`);
        lines.push(...(step.kind === 'prune' ? pruneLines(step) : quantizeLines(step)).map((l) => `  ${l}`));
        const m = 'measured' in step ? step.measured : undefined;
        if (m) lines.push(`  measured: ${measuredText(m.top1, m.delta)}, agreement ${(100 * m.agreement).toFixed(2)} %, ${m.bytes.toLocaleString('en-US')} bytes`);
      }
      lines.push(`size ${s.bytesBefore.toLocaleString('en-US')} → ${s.bytesAfter.toLocaleString('en-US')} bytes (${((100 * s.bytesAfter) / s.bytesBefore).toFixed(1)} %)`);
      lines.push(`wrote ${s.output}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

function measuredText(top1: number | null, delta: number | null): string {
  if (top1 === null) return 'top-1 unknown (unlabelled data)';
  const change = delta === null ? '' : ` (${delta < 0 ? '−' : '+'}${Math.abs(delta).toFixed(2)} pp)`;
  return `top-1 ${(100 * top1).toFixed(2)} %${change}`;
}
