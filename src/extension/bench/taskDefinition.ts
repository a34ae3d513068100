// The `onnx-lens` task type (DESIGN.md "VS Code contributions"): a tasks.json definition whose properties mirror
// the CLI's flags, turned into the command line of the forked `onnx-lens`. No VS Code here, so it is unit-tested.
import path from 'node:path';

export const TASK_TYPE = 'onnx-lens';
export const TASK_COMMANDS = ['bench', 'sensitivity', 'plan', 'fit', 'apply'] as const;
export type TaskCommand = (typeof TASK_COMMANDS)[number];
/** the commands a task can run today; the others are contributed already, so tasks.json accepts them */
export const AVAILABLE_TASK_COMMANDS: readonly TaskCommand[] = ['bench'];

export interface OnnxLensTaskDefinition {
  type: typeof TASK_TYPE;
  command: TaskCommand;
  model?: string;
  baseline?: string;
  data?: string;
  labels?: string;
  calib?: string;
  size?: string | number;
  mean?: number | string | number[];
  std?: number | string | number[];
  layout?: 'nchw' | 'nhwc';
  grayscale?: boolean;
  bgr?: boolean;
  resizeShorter?: number;
  /** allowed top-1 drop in percentage points (the diagnostic's severity); the setting onnxLens.accuracyBudget when absent */
  budget?: number;
  device?: string;
  /** timed batch-1 runs per model (bench --runs) */
  runs?: number;
  /** at most this many samples, evenly spread (bench --limit) */
  limit?: number;
}

/** What a task runs: the CLI's arguments (after `onnx-lens`) and the absolute paths the results refer to. */
export interface TaskCommandLine {
  args: string[];
  model: string;
  baseline?: string;
  data: string;
}

export class TaskDefinitionError extends Error {}

/**
 * The `onnx-lens` arguments for a task definition, with paths resolved against `folder` (the workspace folder).
 * The result comes as one JSON object on stdout (--json), progress as JSON lines on descriptor 3.
 * Throws TaskDefinitionError with a message for the user when the definition cannot run.
 */
export function taskCommandLine(def: OnnxLensTaskDefinition, folder: string): TaskCommandLine {
  const command = def.command ?? 'bench';
  if (!(TASK_COMMANDS as readonly string[]).includes(command)) {
    throw new TaskDefinitionError(`unknown command '${command}': an onnx-lens task runs one of ${TASK_COMMANDS.join(', ')}`);
  }
  if (!AVAILABLE_TASK_COMMANDS.includes(command)) {
    throw new TaskDefinitionError(`'${command}' is not yet available as a task in this version of ONNX Lens (available: ${AVAILABLE_TASK_COMMANDS.join(', ')})`);
  }
  const file = (key: 'model' | 'baseline' | 'data' | 'labels', required: boolean): string | undefined => {
    const value = def[key];
    if (value === undefined || value === '') {
      if (required) throw new TaskDefinitionError(`the task needs "${key}" (a path relative to the workspace folder)`);
      return undefined;
    }
    if (typeof value !== 'string') throw new TaskDefinitionError(`"${key}" must be a path, got ${JSON.stringify(value)}`);
    return path.resolve(folder, value);
  };
  const model = file('model', true)!;
  const data = file('data', true)!;
  const baseline = file('baseline', false);
  const labels = file('labels', false);
  const args = ['bench', model, '--data', data];
  if (baseline) args.push('--baseline', baseline);
  if (labels) args.push('--labels', labels);
  if (def.size !== undefined) args.push('--size', String(def.size));
  if (def.resizeShorter !== undefined) args.push('--resize-shorter', String(integer(def.resizeShorter, 'resizeShorter')));
  if (def.layout !== undefined) {
    if (def.layout !== 'nchw' && def.layout !== 'nhwc') throw new TaskDefinitionError(`"layout" must be "nchw" or "nhwc", got ${JSON.stringify(def.layout)}`);
    args.push('--layout', def.layout);
  }
  if (def.grayscale) args.push('--grayscale');
  if (def.bgr) args.push('--bgr');
  if (def.mean !== undefined) args.push('--mean', numbers(def.mean, 'mean'));
  if (def.std !== undefined) args.push('--std', numbers(def.std, 'std'));
  if (def.runs !== undefined) args.push('--runs', String(integer(def.runs, 'runs')));
  if (def.limit !== undefined) args.push('--limit', String(integer(def.limit, 'limit')));
  if (def.budget !== undefined) budgetOf(def, 1);
  args.push('--json', '--progress-fd', '3');
  return { args, model, baseline, data };
}

/** The task's budget in pp, else `fallback` (the setting). */
export function budgetOf(def: Pick<OnnxLensTaskDefinition, 'budget'>, fallback: number): number {
  if (def.budget === undefined) return fallback;
  if (typeof def.budget !== 'number' || !Number.isFinite(def.budget) || def.budget < 0) {
    throw new TaskDefinitionError(`"budget" must be a top-1 drop in percentage points (a number ≥ 0), got ${JSON.stringify(def.budget)}`);
  }
  return def.budget;
}

function integer(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new TaskDefinitionError(`"${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

/** mean/std: 0.5, "0.5", [0.485, 0.456, 0.406] or "0.485,0.456,0.406" → the CLI's "m[,m,m]". */
function numbers(value: unknown, key: string): string {
  const list = Array.isArray(value) ? value : typeof value === 'number' ? [value] : typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : [];
  if ((list.length !== 1 && list.length !== 3) || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new TaskDefinitionError(`"${key}" must be one number or three (per channel), got ${JSON.stringify(value)}`);
  }
  return list.join(',');
}
