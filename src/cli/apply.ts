// `onnx-lens apply RECIPE [-o OUT] [--json] [--progress-fd N]`: replays a recipe (*.onnxlens.yaml) — its steps in
// order on its model — and writes the result atomically at the end, so a failed or killed run writes nothing.
// Progress goes to --progress-fd as JSON lines {"type":"progress","step","steps","message","fraction"}.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument, type Node as YamlNode } from 'yaml';
import { UsageError } from '../core/errors';
import { preprocessFrom } from '../core/eval/preprocessOptions';
import { readModel } from '../core/onnx/read';
import { applyRecipe, type RecipeProgress } from '../core/recipe/apply';
import { formatProblem, parseRecipe } from '../core/recipe/parse';
import { recipeOptionName } from '../core/recipe/stepChecks';
import type { Recipe } from '../core/recipe/types';
import { checkOutputPath, outputDataLocation, writeOutput } from './modelOutput';
import { progressFd, progressFdWriter } from './progressFd';
import { jsonSummary, summaryLines as pruneLines } from './prune';
import { summaryLines as quantizeLines } from './quantize';

interface ApplyFlags {
  output?: string;
  json?: boolean;
  progressFd?: string;
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
    const r = await applyRecipe(input, recipe.steps, {
      file: model, calibration, signal: controller.signal, onProgress,
      onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
    });
    onProgress?.({ step: recipe.steps.length - 1, steps: recipe.steps.length, message: `writing ${output}`, fraction: 1 });
    writeOutput(r.model.proto, output, input, dataLocation);
    return { model, output, steps: r.steps, bytesBefore: input.fileBytes, bytesAfter: fs.statSync(output).size, warnings: r.warnings };
  } finally {
    process.off('SIGTERM', stop).off('SIGINT', stop);
  }
}

export function register(program: Command): void {
  program.command('apply')
    .description('run a recipe (*.onnxlens.yaml): its steps in order on its model, written to its output')
    .argument('<recipe>', 'the recipe file')
    .option('-o, --output <file>', 'where to write the result (default: the recipe\'s output, relative to the recipe); never the input')
    .option('--json', 'print a JSON summary')
    .option('--progress-fd <n>', 'write progress as JSON lines to this open file descriptor')
    .action(async (file: string, flags: ApplyFlags) => {
      const s = await applyFile(file, flags);
      if (flags.json) {
        process.stdout.write(`${jsonSummary(s)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const [i, step] of s.steps.entries()) {
        lines.push(`step ${i + 1}/${s.steps.length}: ${step.kind}`);
        lines.push(...(step.kind === 'prune' ? pruneLines(step) : quantizeLines(step)).map((l) => `  ${l}`));
      }
      lines.push(`size ${s.bytesBefore.toLocaleString('en-US')} → ${s.bytesAfter.toLocaleString('en-US')} bytes (${((100 * s.bytesAfter) / s.bytesBefore).toFixed(1)} %)`);
      lines.push(`wrote ${s.output}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
