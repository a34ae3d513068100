// `onnx-lens compare A B [--data DATA] [--json]`: sizes, per-layer params / sparsity / bits side by side, and with
// data the agreement and largest difference of the two models' outputs.
import type { Command } from 'commander';
import { analyzeFile } from '../core/analysis/analyze';
import { compareOutputs, compareReports, type LayerSide, type ModelComparison } from '../core/eval/compareModels';
import { openSession } from '../core/eval/runner';
import { progressPrinter } from './bench';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { positiveInt } from './modelOutput';

interface CompareFlags extends DataFlags {
  data?: string;
  json?: boolean;
  batch: string;
  limit?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description('compare two versions of a model: sizes, per-layer params/sparsity/bits, and with --data their outputs')
    .argument('<a>', 'the first model (e.g. the original)')
    .argument('<b>', 'the second model (e.g. the compressed one)')
    .option('--data <path>', 'data to run both models on: image folder(s) or a float32 .npy')
    .option('--json', 'print one JSON object')
    .option('--batch <n>', 'samples per inference', '32')
    .option('--limit <n>', 'use at most N samples, evenly spread over the data set');
  addDataOptions(cmd).action(async (a: string, b: string, flags: CompareFlags) => {
    const comparison: ModelComparison = compareReports(analyzeFile(a), analyzeFile(b));
    if (flags.data) {
      const batch = positiveInt(flags.batch, '--batch');
      const limit = positiveInt(flags.limit, '--limit');
      const sa = await openSession(a);
      const sb = await openSession(b);
      const data = await datasetFromOptions(flags.data, flags, sa.inputShape, limit);
      comparison.outputs = await compareOutputs(sa, sb, data, { batchSize: batch, onProgress: progressPrinter() });
    }
    process.stdout.write(flags.json ? `${JSON.stringify(comparison)}\n` : formatComparison(comparison));
  });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const cell = (s: LayerSide | null, f: (s: LayerSide) => string) => (s ? f(s) : '—');
const pair = (a: LayerSide | null, b: LayerSide | null, f: (s: LayerSide) => string) => {
  const [x, y] = [cell(a, f), cell(b, f)];
  return x === y ? x : `${x} → ${y}`;
};

function formatComparison(c: ModelComparison): string {
  const lines = [
    `A ${c.a.path}: ${c.a.bytes} bytes, ${c.a.params} params, ${pct(c.a.sparsity)} zeros`,
    `B ${c.b.path}: ${c.b.bytes} bytes, ${c.b.params} params, ${pct(c.b.sparsity)} zeros`,
    `B/A: size ${c.sizeRatio.toFixed(3)}×, params ${c.paramsRatio.toFixed(3)}×, MACs ${c.macsRatio.toFixed(3)}×`,
    '',
  ];
  const rows = c.layers.map((l) => [
    l.changed ? '*' : ' ', l.name, pair(l.a, l.b, (s) => s.op), pair(l.a, l.b, (s) => String(s.params)),
    pair(l.a, l.b, (s) => pct(s.sparsity)), pair(l.a, l.b, (s) => `${s.bits} ${s.scheme}`),
  ]);
  const header = [' ', 'layer', 'op', 'params', 'sparsity', 'bits'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) lines.push(r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd());
  lines.push(`${c.layers.filter((l) => l.changed).length} of ${c.layers.length} layers differ (*)`);
  if (c.outputs) {
    const o = c.outputs;
    lines.push('', `outputs on ${o.n} samples: ${(100 * o.agreement).toFixed(2)} % agreement, max |A − B| ${o.maxAbsDiff.toPrecision(3)}`);
    if (o.top1) lines.push(`top-1: A ${(100 * o.top1.a).toFixed(2)} %, B ${(100 * o.top1.b).toFixed(2)} %`);
  }
  return `${lines.join('\n')}\n`;
}
