// Each task's result as its terminal shows it at the end: bench (one row per model, then the deltas), sensitivity
// (the layers by Δtop-1), fit (flash, RAM, latency vs the device), plan (per-layer choices, the measured result),
// apply (the steps and what each measured).
import { signedPp } from '../../core/format';
import path from 'node:path';
import { percent, type BenchJson } from './benchVerdict';
import type { FitJson } from './fitVerdict';
import { sensitivityScheme, sqnrText, type SensitivityJson } from './sensitivityVerdict';
import type { ApplyJson } from './stepVerdict';

/** Lines (without line ends) of the result table. */
export function resultTable(r: BenchJson): string[] {
  const pct = (x: number | null) => (x === null ? '—' : percent(x));
  const ms = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms`;
  const row = (m: { model: string; top1: number | null; top5: number | null; bytes: number; latencyMs: { p50: number; p95: number } }, role: string) =>
    [role.padEnd(10), pct(m.top1).padStart(9), pct(m.top5).padStart(9), ms(m.latencyMs.p50).padStart(11), ms(m.latencyMs.p95).padStart(11),
      m.bytes.toLocaleString('en-US').padStart(13), `  ${path.basename(m.model)}`].join('');
  const lines = [
    `${r.n} samples${r.top1 === null ? ' (unlabelled)' : ''}; latency = batch 1${r.latencyMs.runs ? ` over ${r.latencyMs.runs} runs` : ''}`,
    `${''.padEnd(10)}${'top-1'.padStart(9)}${'top-5'.padStart(9)}${'p50'.padStart(11)}${'p95'.padStart(11)}${'bytes'.padStart(13)}  model`,
    row(r, 'model'),
  ];
  if (r.baseline && r.delta) {
    const d = r.delta;
    lines.push(row(r.baseline, 'baseline'), '');
    lines.push(`top-1 change   ${d.top1 === null ? '— (no labels)' : signedPp(d.top1)}`);
    lines.push(`agreement      ${percent(d.agreement)} of predictions match the baseline`);
    lines.push(`latency        ×${d.latencyRatio.toFixed(2)} the baseline's p50`);
    lines.push(`size           ×${d.sizeRatio.toFixed(3)} the baseline's bytes`);
  }
  return lines;
}

/** Sensitivity: the layers, most sensitive first (by Δtop-1, as the CLI sorts them). */
export function sensitivityTable(r: SensitivityJson): string[] {
  const width = Math.max(5, ...r.layers.map((l) => l.name.length));
  const base = r.baseline.top1 === null ? 'unlabelled: agreement and SQNR only' : `original top-1 ${percent(r.baseline.top1)}`;
  return [
    `${r.layers.length} layers, each quantized alone (${sensitivityScheme(r)}); ${r.n} samples, ${base}; most sensitive first`,
    `${'layer'.padEnd(width)}  ${'op'.padEnd(8)}${'params'.padStart(10)}${'Δtop-1'.padStart(11)}${'agreement'.padStart(11)}${'SQNR'.padStart(9)}`,
    ...r.layers.map((l) => `${l.name.padEnd(width)}  ${l.op.padEnd(8)}${l.params.toLocaleString('en-US').padStart(10)}${(l.deltaTop1 === null ? '—' : signedPp(l.deltaTop1)).padStart(11)}${percent(l.agreement).padStart(11)}${sqnrText(l.sqnrDb).padStart(9)}`),
  ];
}

/** Fit: flash, RAM and latency against the device, and the verdict. */
export function fitTable(r: FitJson): string[] {
  const b = (n: number) => `${n.toLocaleString('en-US')} B`;
  const use = (need: number, have: number | null) => (have === null ? 'no limit' : `${((100 * need) / have).toFixed(1)} %${need > have ? ' — over' : ''}`);
  return [
    `${path.basename(r.model)} on ${r.device.name} (${r.device.title})`,
    `${'resource'.padEnd(10)}${'needed'.padStart(15)}${'available'.padStart(15)}  used`,
    `${'flash'.padEnd(10)}${b(r.weightBytes).padStart(15)}${(r.flashBytes === null ? '—' : b(r.flashBytes)).padStart(15)}  ${use(r.weightBytes, r.flashBytes)}`,
    `${'RAM'.padEnd(10)}${`${r.arenaComplete ? '' : '≥ '}${b(r.arenaBytes)}`.padStart(15)}${b(r.ramBytes).padStart(15)}  ${use(r.arenaBytes, r.ramBytes)}`,
    `${'latency'.padEnd(10)}${(r.estimatedLatencyMs === null ? 'unknown' : `~${r.estimatedLatencyMs.toPrecision(3)} ms`).padStart(15)}  (estimate: MACs / the device's MAC rate)`,
    `verdict   ${r.fits === true ? 'fits' : r.fits === false ? `does not fit: ${r.reasons.join('; ')}` : `undecided: ${r.reasons.join('; ')}`}`,
    ...r.notes.map((n) => `note      ${n}`),
  ];
}

/** The fields of `onnx-lens plan --json` this reads. */
export interface PlanJson {
  model: string;
  budget: number;
  n: number;
  withinBudget: boolean;
  layers: { name: string; op: string; params: number; deltaTop1: number | null; choice: string }[];
  original: { top1: number; bytes: number; latencyMs: { p50: number } };
  measured: { top1: number; deltaTop1: number; bytes: number; latencyMs: { p50: number }; latencyRatio: number; sizeRatio: number };
  recipeFile: string | null;
  modelOut: string | null;
}

/** Plan: each layer's choice, then the measured result of the plan against the original. */
export function planTable(r: PlanJson): string[] {
  const width = Math.max(5, ...r.layers.map((l) => l.name.length));
  const m = r.measured;
  return [
    `per-layer choice (most sensitive first; Δtop-1 of that layer quantized alone)`,
    `${'layer'.padEnd(width)}  ${'op'.padEnd(8)}${'params'.padStart(10)}${'Δtop-1'.padStart(11)}  choice`,
    ...r.layers.map((l) => `${l.name.padEnd(width)}  ${l.op.padEnd(8)}${l.params.toLocaleString('en-US').padStart(10)}${(l.deltaTop1 === null ? '—' : signedPp(l.deltaTop1)).padStart(11)}  ${l.choice}`),
    '',
    `measured on ${r.n} samples: top-1 ${percent(m.top1)} (${signedPp(m.deltaTop1)} vs ${percent(r.original.top1)}), size ×${m.sizeRatio.toFixed(3)} (${m.bytes.toLocaleString('en-US')} of ${r.original.bytes.toLocaleString('en-US')} bytes), latency ×${m.latencyRatio.toFixed(2)}`,
    r.withinBudget ? `within the ${r.budget} pp budget` : `the plan missed the ${r.budget} pp budget: everything stays float`,
    ...(r.recipeFile ? [`recipe: ${r.recipeFile}`] : []),
    ...(r.modelOut ? [`model: ${r.modelOut}`] : []),
  ];
}

/** Apply: the steps, each with its measurement when --data was given. */
export function applyTable(r: ApplyJson): string[] {
  const lines = r.evaluation ? [`original: top-1 ${r.evaluation.top1 === null ? '— (unlabelled)' : percent(r.evaluation.top1)} on ${r.evaluation.n} samples`] : [];
  lines.push(`${'step'.padEnd(14)}${'top-1'.padStart(9)}${'change'.padStart(11)}${'agreement'.padStart(11)}${'bytes'.padStart(13)}`);
  for (const [i, s] of r.steps.entries()) {
    const m = s.measured;
    lines.push(`${`${i + 1}. ${s.kind}`.padEnd(14)}${(m?.top1 == null ? '—' : percent(m.top1)).padStart(9)}${(m?.delta == null ? '—' : signedPp(m.delta)).padStart(11)}${(m ? percent(m.agreement) : '—').padStart(11)}${(m ? m.bytes.toLocaleString('en-US') : '—').padStart(13)}`);
  }
  lines.push(`size ${r.bytesBefore.toLocaleString('en-US')} → ${r.bytesAfter.toLocaleString('en-US')} bytes; wrote ${r.output}`);
  return lines;
}
