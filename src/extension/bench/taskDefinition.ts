// The `onnx-lens` task type (DESIGN.md "VS Code contributions"): a tasks.json definition whose properties mirror
// the CLI's flags, turned into the command line of the forked `onnx-lens`. No VS Code here, so it is unit-tested.
import path from 'node:path';

export const TASK_TYPE = 'onnx-lens';
export const TASK_COMMANDS = ['bench', 'sensitivity', 'plan', 'fit', 'apply'] as const;
export type TaskCommand = (typeof TASK_COMMANDS)[number];

export interface OnnxLensTaskDefinition {
  type: typeof TASK_TYPE;
  command: TaskCommand;
  model?: string;
  /** apply: the recipe (*.onnxlens.yaml) */
  recipe?: string;
  /** apply: the compressed model (-o; default the recipe's output); plan: the recipe written (-o) */
  output?: string;
  /** plan: where the planned model is written (--model-out) */
  modelOutput?: string;
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
  /** fit: a device profile name (built-in or from onnxLens.deviceProfiles); the setting onnxLens.device when absent */
  device?: string;
  /** fit: concrete input shapes for symbolic dims, "x=1,3,48,192" (fit --shape) */
  shape?: string | string[];
  /** sensitivity: static (int8 QDQ weights and activations) or weight (weights only) */
  mode?: 'static' | 'weight';
  /** sensitivity: weight bits, 8 or 4 (4 with mode weight) */
  bits?: 8 | 4;
  /** sensitivity: false = one weight scale per tensor */
  perChannel?: boolean;
  /** timed batch-1 runs per model (bench --runs) */
  runs?: number;
  /** at most this many samples, evenly spread (bench, sensitivity --limit) */
  limit?: number;
}

/** What a task runs: the CLI's arguments (after `onnx-lens`) and the absolute paths the results refer to. */
export interface TaskCommandLine {
  command: TaskCommand;
  args: string[];
  /** the model measured (apply: the recipe's model is read by the CLI; this is the recipe) */
  model: string;
  /** apply: the recipe file */
  recipe?: string;
  baseline?: string;
  data?: string;
}

/** What the definition leaves to the settings: the budget, the chosen device and the user's device profiles. */
export interface TaskDefaults {
  /** onnxLens.accuracyBudget */
  budget: number;
  /** onnxLens.device */
  device?: string;
  /** a JSON file holding onnxLens.deviceProfiles (fit --devices), when there are any */
  devicesFile?: string;
}

export class TaskDefinitionError extends Error {}

type FileKey = 'model' | 'recipe' | 'baseline' | 'data' | 'labels' | 'calib' | 'output' | 'modelOutput';
type Need = 'required' | 'optional' | 'none';

/** Per command: which files it reads, and whether it reports progress (--progress-fd) and a JSON result. */
const COMMANDS: Record<TaskCommand, { subject: 'model' | 'recipe'; data: Need; calib: Need; baseline: boolean; output: 'output' | 'none' }> = {
  bench: { subject: 'model', data: 'required', calib: 'none', baseline: true, output: 'none' },
  sensitivity: { subject: 'model', data: 'required', calib: 'optional', baseline: false, output: 'none' },
  plan: { subject: 'model', data: 'required', calib: 'required', baseline: false, output: 'output' },
  fit: { subject: 'model', data: 'none', calib: 'none', baseline: false, output: 'none' },
  apply: { subject: 'recipe', data: 'optional', calib: 'none', baseline: false, output: 'output' },
};

/**
 * The `onnx-lens` arguments for a task definition, with paths resolved against `folder` (the workspace folder).
 * The result comes as one JSON object on stdout (--json), progress as JSON lines on descriptor 3.
 * Throws TaskDefinitionError with a message for the user when the definition cannot run.
 */
export function taskCommandLine(def: OnnxLensTaskDefinition, folder: string, defaults: TaskDefaults = { budget: 1 }): TaskCommandLine {
  const command = def.command ?? 'bench';
  if (!(TASK_COMMANDS as readonly string[]).includes(command)) {
    throw new TaskDefinitionError(`unknown command '${command}': an onnx-lens task runs one of ${TASK_COMMANDS.join(', ')}`);
  }
  const spec = COMMANDS[command];
  const file = (key: FileKey, need: Need): string | undefined => {
    const value = def[key];
    if (value === undefined || value === '') {
      if (need === 'required') throw new TaskDefinitionError(`${article(command)} ${command} task needs "${key}" (a path relative to the workspace folder)`);
      return undefined;
    }
    if (need === 'none') throw new TaskDefinitionError(`${article(command)} ${command} task does not take "${key}"`);
    if (typeof value !== 'string') throw new TaskDefinitionError(`"${key}" must be a path, got ${JSON.stringify(value)}`);
    return path.resolve(folder, value);
  };
  const subject = file(spec.subject, 'required')!;
  if (spec.subject === 'recipe') file('model', 'none');
  const data = file('data', spec.data);
  const calib = file('calib', spec.calib);
  const baseline = file('baseline', spec.baseline ? 'optional' : 'none');
  if (!data && def.labels !== undefined && def.labels !== '') throw new TaskDefinitionError(`"labels" go with "data", which this ${command} task does not have`);
  const labels = file('labels', 'optional');
  const output = file('output', spec.output === 'output' ? 'optional' : 'none');
  const modelOutput = file('modelOutput', command === 'plan' ? 'optional' : 'none');
  only(def, command, 'runs', ['bench']);
  only(def, command, 'limit', ['bench', 'sensitivity']);
  only(def, command, 'mode', ['sensitivity']);
  only(def, command, 'bits', ['sensitivity']);
  only(def, command, 'perChannel', ['sensitivity']);
  only(def, command, 'device', ['fit']);
  only(def, command, 'shape', ['fit']);
  const budget = budgetOf(def, defaults.budget);

  const args: string[] = [command, subject];
  if (output) args.push('-o', output);
  if (modelOutput) args.push('--model-out', modelOutput);
  if (command === 'plan') args.push('--budget', String(budget));
  if (data) args.push('--data', data);
  if (calib) args.push('--calib', calib);
  if (baseline) args.push('--baseline', baseline);
  if (labels) args.push('--labels', labels);
  if (data || calib) args.push(...preprocessingArgs(def));
  else if (PREPROCESSING.some((k) => def[k] !== undefined)) throw new TaskDefinitionError(`preprocessing ("${PREPROCESSING.find((k) => def[k] !== undefined)}") applies to "data" or "calib", and this ${command} task has neither`);
  if (def.mode !== undefined) {
    if (def.mode !== 'static' && def.mode !== 'weight') throw new TaskDefinitionError(`"mode" must be "static" or "weight", got ${JSON.stringify(def.mode)}`);
    args.push('--mode', def.mode);
  }
  if (def.bits !== undefined) {
    if (def.bits !== 8 && def.bits !== 4) throw new TaskDefinitionError(`"bits" must be 8 or 4, got ${JSON.stringify(def.bits)}`);
    args.push('--bits', String(def.bits));
  }
  if (def.perChannel !== undefined) args.push(def.perChannel ? '--per-channel' : '--no-per-channel');
  if (command === 'fit') {
    const device = def.device ?? defaults.device;
    if (!device) throw new TaskDefinitionError('a fit task needs "device" (a profile name such as nano33ble), or the setting onnxLens.device');
    if (typeof device !== 'string') throw new TaskDefinitionError(`"device" must be a profile name, got ${JSON.stringify(device)}`);
    if (defaults.devicesFile) args.push('--devices', defaults.devicesFile);
    args.push('--device', device);
    const shapes = def.shape === undefined ? [] : Array.isArray(def.shape) ? def.shape : [def.shape];
    for (const s of shapes) {
      if (typeof s !== 'string' || !/^[^=]+=\d+(,\d+)*$/.test(s)) throw new TaskDefinitionError(`"shape" must be NAME=DIMS such as "x=1,3,224,224" (or a list of them), got ${JSON.stringify(s)}`);
      args.push('--shape', s);
    }
  }
  if (def.runs !== undefined) args.push('--runs', String(integer(def.runs, 'runs')));
  if (def.limit !== undefined) args.push('--limit', String(integer(def.limit, 'limit')));
  // fit is quick and reports no progress.
  args.push('--json', ...(command === 'fit' ? [] : ['--progress-fd', '3']));
  return spec.subject === 'recipe'
    ? { command, args, model: subject, recipe: subject, data }
    : { command, args, model: subject, baseline, data };
}

const article = (command: TaskCommand) => (command === 'apply' ? 'an' : 'a');

const PREPROCESSING = ['size', 'resizeShorter', 'layout', 'grayscale', 'bgr', 'mean', 'std'] as const;

/** The data flags (DESIGN.md "Datasets") as the CLI spells them. */
function preprocessingArgs(def: OnnxLensTaskDefinition): string[] {
  const args: string[] = [];
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
  return args;
}

/** A property that only some commands take. */
function only(def: OnnxLensTaskDefinition, command: TaskCommand, key: keyof OnnxLensTaskDefinition, commands: TaskCommand[]): void {
  if (def[key] !== undefined && !commands.includes(command)) {
    throw new TaskDefinitionError(`"${key}" applies to ${commands.join(' and ')} tasks, not to ${command}`);
  }
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
