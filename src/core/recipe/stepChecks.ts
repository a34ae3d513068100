// Checks across a step's options (what the schema alone cannot say), run before any slow work. Messages name
// options through `name`, so the CLI says `--round-to` and a recipe says `roundTo`. Light imports only: the
// recipe parser (and so the extension host) runs these too.
import { DEFAULT_TARGET, QUANT_TARGETS, reducedRange, type QuantTarget } from '../quantize/target';
import type { PruneStep, QuantizeMode, QuantizeStep, Step } from './types';

export interface CheckEnv {
  /** calibration data is available to the step */
  hasCalibration: boolean;
  /** how messages name an option; `calib` is the calibration data */
  name: (key: string) => string;
}

/** Option names as a recipe spells them. */
export const recipeOptionName = (key: string): string => (key === 'calib' ? 'calibration data' : key);

/** Option names as the CLI spells them: `roundTo` → `--round-to`, `calib` → `--calib DATA`. */
export const cliOptionName = (key: string): string => (key === 'calib' ? '--calib DATA' : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

/** The first problem with the step's options, or undefined. */
export function stepProblem(step: Step, env: CheckEnv): string | undefined {
  return step.kind === 'prune' ? pruneProblem(step, env) : quantizeProblem(step, env);
}

/** An N:M pattern such as "2:4", or undefined when the text is not one (0 < N < M). */
export function prunePattern(text: string): { n: number; m: number } | undefined {
  const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text);
  const [n, m] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  return n > 0 && n < m ? { n, m } : undefined;
}

/** The default scope: one global ranking, except for structured pruning. */
export const pruneScope = (step: PruneStep): 'layer' | 'global' => step.scope ?? (step.structured ? 'layer' : 'global');

function pruneProblem(step: PruneStep, { hasCalibration: calib, name: n }: CheckEnv): string | undefined {
  if (!(Number.isFinite(step.sparsity) && step.sparsity >= 0 && step.sparsity < 1)) return `${n('sparsity')} must be a fraction in [0, 1) or a percentage, got '${step.sparsity}'`;
  if (step.plain && step.structured) return `${n('plain')} applies to unstructured global pruning only, not with ${n('structured')}`;
  if (step.plain && pruneScope(step) === 'layer') return `${n('plain')} applies to global pruning only, not with ${n('scope')} layer`;
  if (step.method === 'obs' && step.structured) return `${n('method')} obs applies to unstructured pruning only, not with ${n('structured')}`;
  if (step.allocation !== undefined && (step.method !== 'obs' || step.pattern !== undefined || step.scope === 'layer' || step.plain)) return `${n('allocation')} only applies to ${n('method')} obs with the global scope, without ${n('pattern')} or ${n('plain')}`;
  if (step.method === 'obs' && !calib) return `${n('method')} obs needs ${n('calib')} (the layer Hessians come from calibration inputs)`;
  if (step.pattern !== undefined) {
    const p = prunePattern(step.pattern);
    if (!p) return `${n('pattern')} must be N:M with 0 < N < M, e.g. 2:4, got '${step.pattern}'`;
    if (step.structured) return `${n('pattern')} applies to unstructured pruning only, not with ${n('structured')}`;
    const ignored = (['scope', 'plain', 'norm'] as const).find((k) => step[k] !== undefined);
    if (ignored) return `${n(ignored)} does not apply with ${n('pattern')} (every output channel gets ${p.n} of each ${p.m})`;
    if (Math.abs(step.sparsity - p.n / p.m) > 1e-9) return `${n('pattern')} ${step.pattern} prunes ${p.n}/${p.m} of the weights: ${n('sparsity')} must be ${p.n / p.m}, got ${step.sparsity}`;
  }
  if (step.roundTo !== undefined && !step.structured) return `${n('roundTo')} applies to ${n('structured')} pruning only`;
  if ((step.reconstruct || step.biasCorrection || step.distillHead) && !calib) return `${n('reconstruct')}, ${n('biasCorrection')} and ${n('distillHead')} need ${n('calib')}`;
  if ((step.importance === 'activation' || step.importance === 'obs') && !(step.structured && calib)) return `${n('importance')} ${step.importance} needs ${n('structured')} and ${n('calib')}`;
  if (step.importance === 'obs' && pruneScope(step) === 'global') return `${n('importance')} obs ranks channels within each group: use ${n('scope')} layer (the structured default) or ${n('search')}`;
  if (step.search && !(step.structured && calib && step.reconstruct)) return `${n('search')} needs ${n('structured')}, ${n('calib')} and ${n('reconstruct')}`;
  return undefined;
}

/** Options that only mean something in one mode: given in another, they would be silently ignored. */
const MODE_ONLY: [keyof QuantizeStep, QuantizeMode][] = [
  ['method', 'static'], ['activationType', 'static'], ['biasCorrection', 'static'], ['blockSize', 'weight'],
];

/** The step reads calibration data: static QDQ, and GPTQ rounding's layer Hessians. */
export const quantizeNeedsCalibration = (step: QuantizeStep): boolean => step.mode === 'static' || step.rounding === 'gptq';

function quantizeProblem(step: QuantizeStep, { hasCalibration, name: n }: CheckEnv): string | undefined {
  for (const [key, mode] of MODE_ONLY) {
    if (step[key] !== undefined && step.mode !== mode) return `${n(key)} only applies to ${n('mode')} ${mode}`;
  }
  if (step.rounding !== undefined && step.mode === 'dynamic') return `${n('rounding')} only applies to ${n('mode')} weight and static`;
  if (step.calibSamples !== undefined && !quantizeNeedsCalibration(step)) return `${n('calibSamples')} only applies to ${n('mode')} static and ${n('rounding')} gptq`;
  if (step.gptqInputs !== undefined && step.rounding !== 'gptq') return `${n('gptqInputs')} only applies to ${n('rounding')} gptq`;
  if (step.rounding === 'gptq' && !hasCalibration) return `${n('rounding')} gptq needs ${n('calib')} (calibration images or .npy) for the layers' Hessians`;
  const given = step.target ?? (step.reduceRange ? DEFAULT_TARGET : undefined);
  if (step.mode === 'weight') {
    if (given !== undefined) return `${n(step.target !== undefined ? 'target' : 'reduceRange')} only applies to ${n('mode')} static and dynamic (weight-only runs float kernels)`;
  } else if (given !== undefined) {
    if (!(QUANT_TARGETS as readonly string[]).includes(given)) return `${n('target')} must be one of ${QUANT_TARGETS.join(', ')}, got '${given}'`;
    if (step.reduceRange && !reducedRange(given as QuantTarget)) return `${n('reduceRange')} (7-bit weights) contradicts ${n('target')} ${given} (full int8); give one of them`;
  }
  const bits = step.bits ?? 8;
  if (bits !== 8 && bits !== 4) return `${n('bits')} must be 8 or 4, got ${bits}`;
  if (bits === 4 && step.mode === 'dynamic') return `${n('bits')} 4 is only available with ${n('mode')} weight and static (W4A8)`;
  if (step.mode === 'static' && !hasCalibration) return `${n('mode')} static needs ${n('calib')} (calibration images or .npy)`;
  return undefined;
}

/**
 * The target of integer kernels (static and dynamic; weight-only dequantizes to float kernels, where the weight
 * range cannot saturate anything). reduceRange is the portable target under its ORT name. Call after the checks.
 */
export function integerTarget(step: QuantizeStep): QuantTarget | undefined {
  if (step.mode === 'weight') return undefined;
  return (step.target ?? DEFAULT_TARGET) as QuantTarget;
}
