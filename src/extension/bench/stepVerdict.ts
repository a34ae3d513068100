// A recipe's measured steps in the Problems panel (DESIGN.md "Recipes"): after `onnx-lens apply --data`, each step
// gets a diagnostic on its line with the top-1 change of the model it made vs the original, agreement and size;
// the severity comes from the budget as a benchmark's does.
import { signedPp } from '../../core/format';
import { budgetSeverity, formatBudget, percent, type Severity } from './benchVerdict';

/** What `apply --data` adds to each step of its JSON. */
export interface StepMeasurement {
  top1: number | null;
  delta: number | null;
  agreement: number;
  bytes: number;
}

/** The fields of `onnx-lens apply --json [--data]` this reads. */
export interface ApplyJson {
  model: string;
  output: string;
  bytesBefore: number;
  bytesAfter: number;
  steps: ({ kind: 'prune' | 'quantize'; measured?: StepMeasurement } & Record<string, unknown>)[];
  evaluation?: { data: string; n: number; top1: number | null; bytes: number };
  warnings?: string[];
}

export interface StepVerdict {
  /** 0-based step index */
  step: number;
  severity: Severity;
  message: string;
}

/** One verdict per measured step (none without --data). */
export function stepVerdicts(r: ApplyJson, budgetPp: number): StepVerdict[] {
  const budget = `${formatBudget(budgetPp)} pp budget`;
  const base = r.evaluation?.bytes;
  return r.steps.flatMap((s, step) => {
    const m = s.measured;
    if (!m) return [];
    const size = `${m.bytes.toLocaleString('en-US')} bytes${base ? `, size ×${(m.bytes / base).toFixed(3)}` : ''}`;
    const facts = `agreement ${percent(m.agreement)}, ${size}`;
    if (m.delta === null) return [{ step, severity: 'information' as const, message: `after this ${s.kind} step: top-1 unknown (unlabelled data; ${facts})` }];
    const severity = budgetSeverity(m.delta, budgetPp);
    const head = `after this ${s.kind} step: top-1 ${signedPp(m.delta)} vs the original (${facts})`;
    const tail = severity === 'error' ? `over the ${budget}: exclude the most affected layers (the lightbulb's "exclude this layer") or compress less`
      : severity === 'warning' ? `more than half of the ${budget}` : `within the ${budget}`;
    return [{ step, severity, message: `${head} — ${tail}` }];
  });
}
