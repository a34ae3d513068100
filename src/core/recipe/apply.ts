// Runs steps on a model in memory: applyStep for one (what `onnx-lens prune` / `quantize` and each editor edit
// run), applyRecipe for a recipe's list. Nothing here writes files: the caller writes the result atomically.
import type { Model } from '../onnx/read';
import { encodeModel } from '../onnx/write';
import type { StepContext } from './context';
import { pruneStep, type PruneSummary } from './pruneStep';
import { quantizeStep, type QuantizeSummary } from './quantizeStep';
import type { Step } from './types';

export type StepSummary = ({ kind: 'prune' } & PruneSummary) | ({ kind: 'quantize' } & QuantizeSummary);

export interface StepResult {
  model: Model;
  summary: StepSummary;
}

export async function applyStep(model: Model, step: Step, ctx: StepContext = {}): Promise<StepResult> {
  ctx.signal?.throwIfAborted();
  if (step.kind === 'prune') {
    const r = await pruneStep(model, step, ctx);
    return { model: r.model, summary: { kind: 'prune', ...r.summary } };
  }
  const r = await quantizeStep(model, step, ctx);
  return { model: r.model, summary: { kind: 'quantize', ...r.summary } };
}

export interface RecipeProgress {
  /** 0-based index of the running step */
  step: number;
  steps: number;
  message: string;
  /** 0..1 over the whole recipe */
  fraction: number;
}

export interface RecipeContext extends Omit<StepContext, 'onProgress'> {
  onProgress?: (p: RecipeProgress) => void;
  /** after each step, with the model it made (awaited: e.g. `apply --data` measures it) */
  onStepDone?: (index: number, model: Model, summary: StepSummary) => Promise<void> | void;
}

export interface RecipeResult {
  model: Model;
  steps: StepSummary[];
  warnings: string[];
}

/** Applies `steps` in order, each to the previous one's result. */
export async function applyRecipe(model: Model, steps: readonly Step[], ctx: RecipeContext = {}): Promise<RecipeResult> {
  const summaries: StepSummary[] = [];
  const warnings: string[] = [];
  let current = model;
  for (const [i, step] of steps.entries()) {
    // A later step's "bytes before" is the size of what the previous step made.
    if (i > 0) current = { ...current, fileBytes: encodeModel(current.proto).length };
    const r = await applyStep(current, step, {
      ...ctx,
      onProgress: (p) => ctx.onProgress?.({ step: i, steps: steps.length, message: `${step.kind}: ${p.message}`, fraction: (i + p.fraction) / steps.length }),
      onWarning: (message) => {
        warnings.push(message);
        ctx.onWarning?.(message);
      },
    });
    current = r.model;
    summaries.push(r.summary);
    await ctx.onStepDone?.(i, current, r.summary);
  }
  return { model: current, steps: summaries, warnings };
}
