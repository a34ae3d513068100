// `onnx-lens inspect MODEL [--json] [--shape NAME=DIMS]`: per-layer weights, zeros, bits, scheme and MACs.
import type { Command } from 'commander';
import { analyzeModel } from '../core/analysis/analyze';
import { layerOps, noMacs } from '../core/analysis/layerOps';
import type { LayerStats, ModelReport } from '../core/analysis/report';
import { UsageError } from '../core/errors';
import { openModelLazy } from '../core/onnx/read';
import { formatCount, formatPercent } from '../protocol';

/** Parses repeated `--shape x=1,3,224,224` values into input shapes. */
export function parseShapes(values: readonly string[]): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const v of values) {
    const m = /^([^=]+)=(\d+(?:[,x]\d+)*)$/.exec(v.trim());
    if (!m) throw new UsageError(undefined, `--shape '${v}' is not NAME=D1,D2,… (e.g. x=1,3,224,224)`);
    shapes[m[1]] = m[2].split(/[,x]/).map(Number);
  }
  return shapes;
}

async function inspectModel(file: string, inputShapes: Record<string, number[]> = {}): Promise<ModelReport> {
  // Big weights stay in the file and are streamed through the analysis once (bench/README.md: 4x Python's load).
  const model = openModelLazy(file);
  try {
    const inputs = new Set(model.proto.graph!.input.map((v) => v.name));
    for (const name of Object.keys(inputShapes)) {
      if (!inputs.has(name)) throw new UsageError(file, `--shape names '${name}', which is not an input of the model (inputs: ${[...inputs].join(', ')})`);
    }
    return analyzeModel(model, { inputShapes });
  } finally {
    model.close();
  }
}

const thousands = (n: number) => n.toLocaleString('en-US');

export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let k = 0;
  while (v >= 1024 && k < units.length - 1) { v /= 1024; k++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[k]}`;
}

function schemeText(l: LayerStats): string {
  const detail = l.blockSize ? `block ${l.blockSize}` : l.perChannel ? `per-channel axis ${l.axis}` : '';
  return detail ? `${l.scheme} (${detail})` : l.scheme;
}

function mainShape(l: LayerStats): string {
  const w = l.weights.find((x) => x.role === 'weight') ?? l.weights[0];
  return `[${w.shape.join('×')}]`;
}

/** Layers whose work is not counted as MACs show '–'; a '?' means the shapes were unknown. */
const opsWithoutMacs = new Set(Object.entries(layerOps).filter(([, op]) => op.macs === noMacs).map(([key]) => key));

interface Column { title: string; cell: (l: LayerStats) => string; right?: boolean; shown?: (layers: readonly LayerStats[]) => boolean }

const allColumns: Column[] = [
  { title: 'layer', cell: (l) => (l.name.length > 44 ? `…${l.name.slice(-43)}` : l.name) },
  { title: 'op', cell: (l) => l.op },
  { title: 'weight', cell: mainShape },
  { title: 'dtype', cell: (l) => l.dtype },
  { title: 'bits', cell: (l) => String(l.bits), right: true },
  { title: 'scheme', cell: schemeText },
  // Integer layers on x86 without VNNI: can int8 weight pairs saturate 16-bit sums? Shown for models that have them.
  { title: 'sat16', cell: (l) => l.saturation ?? '', shown: (layers) => layers.some((l) => l.saturation) },
  { title: 'params', cell: (l) => thousands(l.params), right: true },
  { title: 'sparsity', cell: (l) => formatPercent(l.sparsity), right: true },
  { title: 'MACs', cell: (l) => (l.macs ? formatCount(l.macs) : opsWithoutMacs.has(l.op) ? '–' : '?'), right: true },
];

/** The human-readable report: one row per layer, then model totals. */
function formatReport(report: ModelReport, inputShapes: Record<string, readonly number[]> = {}): string {
  const { model, layers } = report;
  const columns = allColumns.filter((c) => c.shown?.(layers) ?? true);
  const rows = layers.map((l) => columns.map((c) => c.cell(l)));
  const widths = columns.map((c, k) => Math.max(c.title.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) => cells.map((s, k) => (columns[k].right ? s.padStart(widths[k]) : s.padEnd(widths[k]))).join('  ').trimEnd();
  const mix = Object.entries(model.bitsMix)
    .sort(([a], [b]) => Number(b) - Number(a))
    .map(([bits, n]) => `${bits}-bit ${formatPercent(model.params ? n / model.params : 0)}`)
    .join(', ');
  const symbolic = model.inputs.filter((i) => !inputShapes[i.name] && i.shape.slice(1).some((d) => typeof d === 'string'));
  const out = [
    line(columns.map((c) => c.title)),
    line(widths.map((w) => '─'.repeat(w))),
    ...rows.map(line),
    '',
    `model      ${model.path}`,
    `size       ${bytesText(model.bytes)} (weights ${bytesText(model.weightBytes)}), opset ${model.opset}, ${model.nodes} nodes, ${model.layers} layers with weights`,
    `params     ${thousands(model.params)} (${thousands(model.zeros)} zeros, sparsity ${formatPercent(model.sparsity)}); bits: ${mix || 'none'}`,
    `MACs       ${formatCount(model.macs)} (${thousands(model.macs)}) at batch 1, convolutions and matrix products${model.macsUnknownLayers ? `; unknown ('?') for ${model.macsUnknownLayers} layers whose shapes depend on the input size` : ''}`,
    `peak act.  ${model.activationsUnknown ? 'at least ' : ''}${bytesText(model.peakActivationBytes)} (live activations, batch 1${model.activationsUnknown ? `; ${model.activationsUnknown} of unknown size` : ''})`,
  ];
  const saturating = layers.filter((l) => l.saturation === 'possible' || l.saturation === 'measured').length;
  if (saturating) {
    out.push(`int8       ${saturating} layers have int8 weight pairs that can saturate 16-bit sums on x86 without VNNI (AVX2, AVX-512 without VNNI); quantize with --target portable to run right on every CPU`);
  }
  for (const i of symbolic) {
    out.push(`note       input '${i.name}' has symbolic dims [${i.shape.join(', ')}]; MACs and memory count only what is known — pass --shape ${i.name}=1,${i.shape.slice(1).map((d) => (typeof d === 'number' ? d : 'N')).join(',')}`);
  }
  return out.join('\n');
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Per-layer weights, zeros (sparsity), bits, quantization scheme and MACs of an ONNX model.')
    .argument('<model>', 'the .onnx file')
    .option('--json', 'print the report as one JSON object')
    .option('--shape <name=dims>', 'concrete shape of a graph input with symbolic dims (repeatable), e.g. x=1,3,224,224',
      (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (file: string, opts: { json?: boolean; shape: string[] }) => {
      const shapes = parseShapes(opts.shape);
      const report = await inspectModel(file, shapes);
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${formatReport(report, shapes)}\n`);
    });
}
