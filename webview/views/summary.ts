// Header: the model's totals — params, file size, MACs, overall sparsity, bit-width mix, compression vs the file
// on disk.
import type { ModelSummary } from '../../src/core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatPercent, inputDims, type Compression } from '../../src/protocol';
import { button } from '../ui/toolkit';

export interface SummaryContext {
  fileName: string;
  /** shapes the user gave for inputs with symbolic dims */
  inputShapes: Record<string, number[]>;
  compression?: Compression;
  /** asks the host for concrete input shapes */
  onSetInputShapes: () => void;
}

/** "x [1, 3, ?, ?]": a graph input's shape as the analysis saw it. */
function inputText(i: ModelSummary['inputs'][number], given: Record<string, number[]>): string {
  return `${i.name} [${inputDims(i, given[i.name]).join(', ')}]`;
}

export function renderSummary(parent: HTMLElement, m: ModelSummary, ctx: SummaryContext): void {
  const header = document.createElement('header');
  header.className = 'summary';
  const title = document.createElement('h1');
  title.textContent = ctx.fileName;
  title.title = m.path;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `opset ${m.opset} · ${m.nodes} nodes · ${m.layers} weighted layers${m.producer ? ` · ${m.producer}` : ''}`;
  title.append(' ', meta);
  header.append(title);
  const dl = document.createElement('dl');
  const item = (testId: string, label: string, text: string, raw: string, detail?: string) => summaryItem(dl, testId, label, text, raw, detail);
  item('summary-params', 'Params', formatCount(m.params), String(m.params), m.params.toLocaleString('en-US'));
  item('summary-size', 'Size', formatBytes(m.bytes), String(m.bytes), `${m.bytes.toLocaleString('en-US')} bytes (weights ${formatBytes(m.weightBytes)})`);
  // MACs of layers whose sizes depend on unknown (symbolic) input dims cannot be counted: the total is a lower bound.
  const unknown = m.macsUnknownLayers ?? 0;
  const inputs = m.inputs.map((i) => inputText(i, ctx.inputShapes)).join(', ');
  const macs = item('summary-macs', 'MACs', `${unknown ? '≥ ' : ''}${formatCount(m.macs)}`, String(m.macs), unknown
    ? `At least ${m.macs.toLocaleString('en-US')}: ${unknown} of ${m.layers} layers have unknown MACs, because the input shape is unknown (${inputs}).\nSet the input shape to count them.`
    : `${m.macs.toLocaleString('en-US')} at ${inputs}`);
  macs.dataset.partial = String(unknown > 0);
  if (unknown) {
    macs.append(' ');
    const note = document.createElement('span');
    note.className = 'note';
    note.textContent = '(input shape unknown)';
    macs.append(note);
  }
  item('summary-sparsity', 'Sparsity', formatPercent(m.sparsity), String(m.sparsity), `${m.zeros.toLocaleString('en-US')} zeros`);
  item('summary-bits', 'Bits', formatBitsMix(m.bitsMix), JSON.stringify(m.bitsMix),
    Object.entries(m.bitsMix).map(([b, n]) => `${b}-bit: ${n.toLocaleString('en-US')} params`).join('\n'));
  const c = ctx.compression;
  if (c && c.documentBytes > 0) {
    const ratio = c.originalBytes / c.documentBytes;
    item('summary-compression', 'vs original', `${ratio.toFixed(2)}×`, String(ratio), c.originalBytes === c.documentBytes
      ? `The document is the file on disk (${formatBytes(c.originalBytes)}): nothing compressed yet`
      : `File on disk ${formatBytes(c.originalBytes)} → this document ${formatBytes(c.documentBytes)}`);
  }
  header.append(dl);
  const symbolic = m.inputs.some((i) => i.shape.some((d, k) => k > 0 && typeof d !== 'number'));
  if (symbolic || Object.keys(ctx.inputShapes).length) {
    const set = button('Set input shape…', 'set-input-shape', ctx.onSetInputShapes);
    set.classList.add('summary-action');
    header.append(set);
  }
  parent.append(header);
}

/** One `label: value` pair of a header's list; `raw` goes to data-value for tests, `detail` to the tooltip. */
export function summaryItem(dl: HTMLElement, testId: string, label: string, text: string, raw: string, detail?: string): HTMLElement {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.dataset.testid = testId;
  dd.dataset.value = raw;
  dd.textContent = text;
  if (detail) dd.title = detail;
  div.append(dt, dd);
  dl.append(div);
  return dd;
}
