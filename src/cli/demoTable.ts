// The demo's final table: every variant measured the same way in one process — top-1 on the held-out images,
// batch-1 latency on one thread in interleaved rounds (load from other processes falls on all variants alike),
// size on disk, weight sparsity and bit widths from the analysis — and what the figures say on this CPU.
import { analyzeFile } from '../core/analysis/analyze';
import { detectCpuInt8 } from '../core/eval/cpuFeatures';
import { signedPp } from '../core/format';
import type { Dataset } from '../core/eval/datasets';
import { measureLatencies } from '../core/eval/latency';
import { topKAccuracy } from '../core/eval/metrics';
import { openSession, runModel } from '../core/eval/runner';

export interface Variant {
  name: string;
  file: string;
  /** what was done to it, one short phrase */
  how: string;
}

export interface VariantRow extends Variant {
  bytes: number;
  sparsity: number;
  /** "32", "8", "8+4+32" … : the widths weights are stored at, most params first */
  bits: string;
  top1: number;
  p50: number;
}

/** Measures `variants` (the first is the reference) on `data`; `runs` timed batch-1 runs each. */
export async function measureVariants(variants: readonly Variant[], data: Dataset, runs = 100): Promise<VariantRow[]> {
  if (!data.labels) throw new Error('the demo table needs labelled data');
  const latency = [];
  const rows: Omit<VariantRow, 'p50'>[] = [];
  for (const v of variants) {
    const out = await runModel(await openSession(v.file), data);
    const { model } = analyzeFile(v.file);
    const bits = Object.entries(model.bitsMix).sort((a, b) => b[1] - a[1]).map(([b]) => b).join('+');
    rows.push({ ...v, bytes: model.bytes, sparsity: model.sparsity, bits, top1: topKAccuracy(out, data.labels, 1) });
    latency.push(await openSession(v.file, { intraOpThreads: 1 }));
  }
  const times = await measureLatencies(latency, data, { runs, rounds: 10 });
  return rows.map((r, k) => ({ ...r, p50: times[k].p50 }));
}

/** The table, then one line per variant saying what it gained here (or why it did not). */
export function formatVariants(rows: readonly VariantRow[], budgetPp: number, n: number): string {
  const [ref] = rows;
  const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
  const header = ['variant', 'size', 'sparsity', 'bits', 'top-1', 'Δ top-1', 'p50', 'speed'];
  const cells = rows.map((r) => [
    r.name,
    `${(r.bytes / 1024).toFixed(0)} KB (${pct(r.bytes / ref.bytes).replace('.00', '')})`,
    pct(r.sparsity),
    r.bits,
    pct(r.top1),
    r === ref ? '—' : signedPp(100 * (r.top1 - ref.top1)),
    `${r.p50.toFixed(3)} ms`,
    r === ref ? '1.00×' : `${(ref.p50 / r.p50).toFixed(2)}×`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
  const cpu = detectCpuInt8();
  const out = [
    `held-out top-1 on ${n} images; p50 = batch-1 latency, one thread, interleaved rounds; speed = reference p50 / p50`,
    `CPU: ${cpu.name || cpu.arch} (int8 dot products: ${cpu.reason})`,
    '',
    line(header),
    ...cells.map(line),
    '',
  ];
  for (const r of rows.slice(1)) out.push(`${r.name}: ${verdict(r, ref, budgetPp, n)}`);
  return out.join('\n');
}

function verdict(r: VariantRow, ref: VariantRow, budgetPp: number, n: number): string {
  const drop = 100 * (ref.top1 - r.top1);
  const speed = ref.p50 / r.p50;
  const size = r.bytes / ref.bytes;
  const gains: string[] = [];
  if (size < 0.95) gains.push(`${(1 / size).toFixed(2)}× smaller`);
  if (speed > 1.05) gains.push(`${speed.toFixed(2)}× faster`);
  const accuracy = drop <= budgetPp ? `within the ${budgetPp} pp budget` : `${drop.toFixed(2)} pp lost, over the ${budgetPp} pp budget`;
  // One sample of n is 100/n pp: below a few samples the difference is noise.
  const noise = Math.abs(drop) < 3 * (100 / n) ? ` (a difference of ${Math.round(Math.abs(drop) * n / 100)} of ${n} images)` : '';
  const why: string[] = [];
  if (speed < 0.95 && r.bits !== '32') {
    why.push('int8 is slower than float on this model and CPU: the float regions between its int8 convs (hard-swish, '
      + 'squeeze-excitation) add Quantize/Dequantize kernels that cost more than the small int8 convs save');
  }
  if (speed < 0.95 && r.bits.split('+').includes('4')) why.push('int4 weights are expanded to float and run on float kernels');
  if (speed < 0.95 && r.bits !== '32') why.push('the gain is size (flash, download)');
  if (r.sparsity > 0.05 && size > 0.95) why.push('unstructured zeros do not shrink a dense file or speed up dense kernels');
  return `${gains.length ? gains.join(', ') : 'no gain'}, ${accuracy}${noise}${why.length ? `; ${why.join('; ')}` : ''}.`;
}
