// Header: the model's totals — params, file size, MACs, overall sparsity, bit-width mix, compression vs the file
// on disk — and its measurements: the last benchmark and the fit on the chosen device.
import type { ModelSummary } from '../../src/core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatMs, formatPercent, inputDims, type Compression, type DeviceFitMark, type Measurements } from '../../src/protocol';
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

/** Renders the header into `parent` and returns it. */
export function renderSummary(parent: HTMLElement, m: ModelSummary, ctx: SummaryContext): HTMLElement {
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
  return header;
}

const signedPp = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(2)} pp`;
/** "42 %"; a use that rounds to 0 but is not nothing reads "< 1 %". */
const percentOf = (used: number, capacity: number) => {
  const p = Math.round((100 * used) / capacity);
  return p === 0 && used > 0 ? '< 1 %' : `${p} %`;
};

/** The last benchmark's figures and the device-fit badge, in `box` (replaced whenever new measurements arrive). */
export function renderMeasuredSummary(box: HTMLElement, m: Measurements): void {
  box.replaceChildren();
  const b = m.bench;
  if (b) {
    const dl = document.createElement('dl');
    const when = `${new Date(b.time).toLocaleString()} on ${b.n} samples${b.baseline ? ` against ${b.baseline}` : ''}${b.before ? ' — the file on disk, before the edits' : ''}`;
    const item = (testId: string, label: string, text: string, raw: number) => summaryItem(dl, testId, label, text, String(raw), `Last benchmark (onnx-lens bench), ${when}`);
    if (b.top1 !== null) item('summary-top1', b.before ? 'Top-1 (before)' : 'Top-1', formatPercent(b.top1), b.top1);
    if (b.deltaTop1 !== null) item('summary-top1-delta', 'Δ top-1', signedPp(b.deltaTop1), b.deltaTop1);
    item('summary-latency', 'Latency p50', formatMs(b.p50), b.p50);
    if (b.sizeRatio !== null) item('summary-size-ratio', 'Size vs baseline', `${b.sizeRatio.toFixed(2)}×`, b.sizeRatio);
    box.append(dl);
  }
  if (m.fit) box.append(fitBadge(m.fit));
}

/** "fits nano33ble: flash 42 %, RAM 18 %" / "does not fit nano33ble: RAM 310 KB > 256 KB", with the estimate's assumption in its tooltip. */
function fitBadge(fit: DeviceFitMark | { device: string; error: string }): HTMLElement {
  const badge = document.createElement('span');
  badge.className = 'fit-badge';
  badge.dataset.testid = 'fit-badge';
  badge.dataset.device = fit.device;
  badge.setAttribute('role', 'status');
  if ('error' in fit) {
    badge.classList.add('unknown');
    badge.dataset.fits = 'unknown';
    badge.textContent = `fit on ${fit.device}: unknown`;
    badge.title = fit.error;
    return badge;
  }
  const flash = fit.flashBytes === null ? 'flash: no limit' : `flash ${percentOf(fit.weightBytes, fit.flashBytes)}`;
  const over = [
    ...(fit.flashBytes !== null && fit.weightBytes > fit.flashBytes ? [`flash ${formatBytes(fit.weightBytes)} > ${formatBytes(fit.flashBytes)}`] : []),
    ...(fit.arenaBytes > fit.ramBytes ? [`RAM ${formatBytes(fit.arenaBytes)} > ${formatBytes(fit.ramBytes)}`] : []),
  ];
  badge.dataset.fits = fit.fits === null ? 'unknown' : String(fit.fits);
  badge.classList.add(fit.fits === null ? 'unknown' : fit.fits ? 'fits' : 'no-fit');
  badge.textContent = fit.fits === true ? `fits ${fit.device}: ${flash}, RAM ${percentOf(fit.arenaBytes, fit.ramBytes)}`
    : fit.fits === false ? `does not fit ${fit.device}: ${over.join(', ') || fit.reasons[0]}`
    : `fit on ${fit.device} unknown: ${fit.reasons[0] ?? 'sizes depend on the input shape'}`;
  const latency = fit.estimatedLatencyMs === null ? 'Estimated latency: unknown (MACs depend on the input shape)'
    : `Estimated latency ${formatMs(fit.estimatedLatencyMs)}: MACs ÷ the device's MAC rate, an estimate (no memory stalls, no non-MAC ops). Assumption:\n${fit.latencyBasis}`;
  badge.title = [fit.title, `weights ${formatBytes(fit.weightBytes)} of flash ${fit.flashBytes === null ? 'without limit' : formatBytes(fit.flashBytes)}`,
    `activation arena ${formatBytes(fit.arenaBytes)} of RAM ${formatBytes(fit.ramBytes)}`, ...fit.reasons, latency, ...fit.notes].join('\n');
  return badge;
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
