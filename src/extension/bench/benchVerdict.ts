// What a benchmark result means for the Problems panel (DESIGN.md "Benchmark task and Problems"): one message on
// the model file with the top-1 change ("top-1 ±X.XX pp"), agreement, latency and size ratios, and a severity
// from the accuracy budget. VS Code cannot attach quick fixes to a binary file, so the message names the command.
import { signedPp } from '../../core/format';
import path from 'node:path';

/** The fields of `onnx-lens bench --json` this reads. */
export interface BenchJson {
  model: string;
  n: number;
  top1: number | null;
  top5: number | null;
  bytes: number;
  latencyMs: { p50: number; p95: number; runs?: number };
  baseline?: { model: string; top1: number | null; top5: number | null; bytes: number; latencyMs: { p50: number; p95: number } };
  delta?: { top1: number | null; top5: number | null; latencyRatio: number; sizeRatio: number; agreement: number; maxAbsDiff?: number };
  warnings?: string[];
}

export type Severity = 'error' | 'warning' | 'information';

export interface BenchVerdict {
  severity: Severity;
  message: string;
}

/** The commands that undo compression on chosen layers (titles as in the palette). */
export const FIX_COMMANDS = {
  keepFloat: 'ONNX Lens: Keep Selected Layers in Float',
  quantize: 'ONNX Lens: Quantize Selected Layers…',
  prune: 'ONNX Lens: Prune Selected Layers…',
} as const;


export const percent = (fraction: number, digits = 2) => `${(100 * fraction).toFixed(digits)} %`;

/**
 * Error when the top-1 drop exceeds `budgetPp`, Warning when it exceeds half of it, Information otherwise
 * (also without a baseline or labels, when there is no drop to judge).
 */
export function benchVerdict(result: BenchJson, budgetPp: number): BenchVerdict {
  const budget = `${formatBudget(budgetPp)} pp budget`;
  if (!result.baseline || !result.delta) {
    const top1 = result.top1 === null ? 'top-1 unknown (unlabelled data)' : `top-1 ${percent(result.top1)}`;
    return {
      severity: 'information',
      message: `${top1} on ${result.n} samples, no baseline (latency p50 ${ms(result.latencyMs.p50)}, ${result.bytes.toLocaleString('en-US')} bytes) — run the benchmark with a baseline to see the change`,
    };
  }
  const d = result.delta;
  const ratios = `agreement ${percent(d.agreement)}, latency ×${d.latencyRatio.toFixed(2)}, size ×${d.sizeRatio.toFixed(3)}`;
  const vs = `vs ${path.basename(result.baseline.model)}`;
  if (d.top1 === null) {
    return { severity: 'information', message: `top-1 unknown (no labels) ${vs} (${ratios}) — give labels to judge it against the ${budget}` };
  }
  const head = `top-1 ${signedPp(d.top1)} ${vs} (${ratios})`;
  const severity = budgetSeverity(d.top1, budgetPp);
  if (severity === 'error') {
    return {
      severity: 'error',
      message: `${head} — over the ${budget}: run "${FIX_COMMANDS.keepFloat}" on the most affected layers, or compress fewer layers or less ("${FIX_COMMANDS.quantize}", "${FIX_COMMANDS.prune}")`,
    };
  }
  if (severity === 'warning') {
    return { severity: 'warning', message: `${head} — more than half of the ${budget}; "${FIX_COMMANDS.keepFloat}" recovers accuracy on chosen layers` };
  }
  return { severity: 'information', message: `${head} — within the ${budget}` };
}

/**
 * Error when the top-1 drop of `deltaPp` (a change in pp) exceeds the budget, Warning above half of it, else
 * Information. Judged on the shown value (two decimals), so "−1.00 pp" is never over a 1.0 pp budget by float noise.
 */
export function budgetSeverity(deltaPp: number, budgetPp: number): Severity {
  const drop = -Math.round(deltaPp * 100) / 100;
  return drop > budgetPp ? 'error' : drop > budgetPp / 2 ? 'warning' : 'information';
}

export function formatBudget(pp: number): string {
  return Number.isInteger(pp) ? pp.toFixed(1) : String(pp);
}

function ms(x: number): string {
  return `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms`;
}
