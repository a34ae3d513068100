// Image preprocessing options as people write them — CLI flags (strings) or recipe keys (numbers, lists) —
// checked and turned into a Preprocess (DESIGN.md "Datasets"). `name` says how messages call an option.
import { UsageError } from '../errors';
import type { Preprocess } from './datasets';

export interface PreprocessInput {
  /** "HxW", "N" or N */
  size?: string | number;
  resizeShorter?: string | number;
  grayscale?: boolean;
  bgr?: boolean;
  layout?: 'nchw' | 'nhwc';
  /** "m", "m,m,m", m or [m, m, m] */
  mean?: string | number | readonly number[];
  std?: string | number | readonly number[];
}

export function preprocessFrom(input: PreprocessInput, name: (key: string) => string = (k) => k): Preprocess {
  const p: Preprocess = {};
  if (input.size !== undefined) {
    const m = /^(\d+)(?:[xX](\d+))?$/.exec(String(input.size).trim());
    if (!m || Number(m[1]) === 0 || Number(m[2] ?? m[1]) === 0) throw new UsageError(undefined, `${name('size')} must be HxW or N, got '${input.size}'`);
    p.size = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  if (input.resizeShorter !== undefined) {
    const v = Number(input.resizeShorter);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(undefined, `${name('resizeShorter')} must be a positive integer, got '${input.resizeShorter}'`);
    p.resizeShorter = v;
  }
  if (input.grayscale) p.grayscale = true;
  if (input.bgr) p.bgr = true;
  if (input.layout) p.layout = input.layout;
  if (input.mean !== undefined) p.mean = numberList(name('mean'), input.mean);
  if (input.std !== undefined) p.std = numberList(name('std'), input.std);
  return p;
}

function numberList(option: string, value: string | number | readonly number[]): number[] {
  const values = typeof value === 'string' ? value.split(',').map((s) => Number(s.trim())) : typeof value === 'number' ? [value] : [...value];
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)) || (values.length !== 1 && values.length !== 3)) {
    throw new UsageError(undefined, `${option} must be one number or three comma-separated numbers, got '${value}'`);
  }
  return values;
}
