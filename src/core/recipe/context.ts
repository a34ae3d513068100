// What a step runs with besides the model: calibration data, progress and warning callbacks, cancellation, and
// how messages name options (the CLI says --round-to, a recipe roundTo).
import { UsageError } from '../errors';
import { openDataset, type Dataset, type Preprocess } from '../eval/datasets';
import { modelInput } from '../eval/modelInput';
import type { Model } from '../onnx/read';
import { recipeOptionName, stepProblem } from './stepChecks';
import type { Step } from './types';

export interface CalibrationData {
  /** image folder or .npy (a path the process can open: resolve recipe-relative paths first) */
  data: string;
  labels?: string;
  preprocess: Preprocess;
  /** samples when the step gives no calibSamples (default 256) */
  samples?: number;
}

export interface StepProgress {
  message: string;
  /** 0..1 within the step */
  fraction: number;
}

export interface StepContext {
  /** names the model in messages (default model.file) */
  file?: string;
  calibration?: CalibrationData;
  onProgress?: (p: StepProgress) => void;
  /** things that could not be done as asked; the step also lists them in its summary where it has a field */
  onWarning?: (message: string) => void;
  /** checked between phases and inside long loops; an aborted step throws signal.reason */
  signal?: AbortSignal;
  /** how messages name options (default: as a recipe spells them) */
  optionName?: (key: string) => string;
}

export const DEFAULT_CALIB_SAMPLES = 256;

export const calibSamples = (step: Step, ctx: StepContext): number => step.calibSamples ?? ctx.calibration?.samples ?? DEFAULT_CALIB_SAMPLES;

/** The step's option checks, as a UsageError naming the model. */
export function checkStep(step: Step, ctx: StepContext, file: string | undefined): void {
  const problem = stepProblem(step, { hasCalibration: ctx.calibration !== undefined, name: ctx.optionName ?? recipeOptionName });
  if (problem) throw new UsageError(file, problem);
}

/** Opens the calibration data for `model` (its input shape supplies preprocessing defaults and is checked). */
export function openCalibration(ctx: StepContext, model: Model, samples: number): Promise<Dataset> {
  const c = ctx.calibration!;
  return openDataset(c.data, { labels: c.labels, preprocess: c.preprocess, inputShape: modelInput(model.proto)?.shape, limit: samples });
}

/** Reports phase `i` of `phases` and stops if cancelled. */
export function phase(ctx: StepContext, i: number, phases: number, message: string): void {
  ctx.signal?.throwIfAborted();
  ctx.onProgress?.({ message, fraction: phases > 0 ? i / phases : 0 });
}
