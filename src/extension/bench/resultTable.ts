// The benchmark's result as the task terminal shows it at the end: one row per model, then the deltas.
import path from 'node:path';
import { percent, signedPp, type BenchJson } from './benchVerdict';

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
