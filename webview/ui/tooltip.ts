// One tooltip for every view: a layer's name, op, shapes, dtype, bits, scheme, per-channel or not, int8
// saturation, params, zeros, sparsity (element, channel, 2:4), MACs, and its measured sensitivity and time; or a
// short note for nodes without weights and groups.
import type { LayerStats } from '../../src/core/analysis/report';
import type { Saturation } from '../../src/core/analysis/saturation';
import { formatBytes, formatCount, formatMs, formatPercent, type LayerTimeMark } from '../../src/protocol';
import type { ViewState } from '../state';

let box: HTMLDivElement | undefined;

function element(): HTMLDivElement {
  if (!box) {
    box = document.createElement('div');
    box.className = 'tooltip';
    box.dataset.testid = 'tooltip';
    box.setAttribute('role', 'tooltip');
    box.hidden = true;
    document.body.append(box);
  }
  return box;
}

const shapeText = (s?: (number | string)[]) => (s ? `[${s.join(', ')}]` : '?');

const saturationText: Record<Saturation, string> = {
  none: 'no — safe on every CPU',
  possible: 'possible on x86 without VNNI (AVX2, AVX-512 without VNNI): quantize with --target portable',
  measured: 'measured on x86 without VNNI: quantize with --target portable',
};

function saturationRow(s: Saturation): [string, string] {
  return ['16-bit saturation', saturationText[s]];
}

function layerRows(l: LayerStats): [string, string][] {
  const main = l.weights.find((w) => w.role === 'weight') ?? l.weights[0];
  const scheme = l.scheme + (l.perChannel ? ` · per-channel${l.axis !== undefined ? ` (axis ${l.axis})` : ''}` : ' · per-tensor') +
    (l.blockSize ? ` · block ${l.blockSize}` : '');
  return [
    ['Op', l.op],
    ['Weight', main ? `${main.name} ${shapeText(main.shape)}` : '—'],
    ...l.weights.filter((w) => w !== main).map((w): [string, string] => [w.role === 'bias' ? 'Bias' : 'Tensor', `${w.name} ${shapeText(w.shape)}`]),
    ['Input → output', `${shapeText(l.inputShape)} → ${shapeText(l.outputShape)}`],
    ['Dtype', l.dtype],
    ['Bits', String(l.bits)],
    ['Scheme', scheme],
    ...(l.saturation ? [saturationRow(l.saturation)] : []),
    ['Params', `${formatCount(l.params)} (${l.params.toLocaleString('en-US')})`],
    ['Zeros', l.zeros.toLocaleString('en-US')],
    ['Sparsity', `${formatPercent(l.sparsity)} element · ${formatPercent(l.channelSparsity)} channel · ${formatPercent(l.twoFour)} 2:4`],
    ['MACs', l.macs ? formatCount(l.macs) : '–'],
    ['Size', formatBytes(l.weightBytes)],
  ];
}

const signed = (x: number, digits: number) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(digits)}`;

function timeText(t: LayerTimeMark): string {
  return t.fusedInto ? `0 ms (computed by ${t.fusedInto}'s kernel)` : `${formatMs(t.ms)} (${formatPercent(t.share)} of the run)`;
}

/**
 * A layer's measurements: its sensitivity (quantized alone) and its time, "before → after" when the file on disk or
 * the baseline was profiled too. A metric measured for the model but not for this layer, or chosen as the colour
 * without any data, says "not measured".
 */
export function measurementRows(state: ViewState, name: string): [string, string][] {
  const rows: [string, string][] = [];
  const m = state.measurements;
  const s = m.sensitivity?.layers[name];
  if (s) {
    const delta = s.deltaTop1 === null ? '' : `Δtop-1 ${signed(s.deltaTop1, 2)} pp · `;
    const sqnr = s.sqnrDb === null ? '∞' : s.sqnrDb.toFixed(1);
    rows.push(['Sensitivity', `${delta}agreement ${formatPercent(s.agreement)} · SQNR ${sqnr} dB (${m.sensitivity!.mode} int${m.sensitivity!.bits} alone${m.sensitivity!.before ? '; file on disk, before the edits' : ''})`]);
  } else if (m.sensitivity || state.colorBy === 'sensitivity') {
    rows.push(['Sensitivity', 'not measured']);
  }
  const { now, before } = state.timeOf(name);
  if (now && before) rows.push(['Time', `${formatMs(before.ms)} → ${timeText(now)}`]);
  else if (now) rows.push(['Time', timeText(now)]);
  else if (before) rows.push(['Time', `${formatMs(before.ms)} → ? (${m.latencyBefore?.source?.split(/[\\/]/).pop() ?? 'before'} as profiled; this model not profiled yet)`]);
  else if (m.latency || m.latencyBefore || state.colorBy === 'latency') rows.push(['Time', 'not measured']);
  return rows;
}

function render(title: string, rows: [string, string][]): void {
  const el = element();
  el.replaceChildren();
  const h = document.createElement('div');
  h.className = 'tooltip-title';
  h.textContent = title;
  el.append(h);
  const table = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = k;
    tr.append(th);
    tr.insertCell().textContent = v;
  }
  el.append(table);
}

function place(clientX: number, clientY: number): void {
  const el = element();
  el.hidden = false;
  const { width, height } = el.getBoundingClientRect();
  const x = clientX + 14 + width > window.innerWidth ? Math.max(0, clientX - 14 - width) : clientX + 14;
  const y = clientY + 14 + height > window.innerHeight ? Math.max(0, clientY - 14 - height) : clientY + 14;
  el.style.left = `${x}px`;
  el.style.top = `${y}px`;
}

/** "not exportable to TFLite: Resize" for a node the TFLite exporter has no conversion for. */
export function exportRows(state: ViewState, name: string): [string, string][] {
  const op = state.exportBlockers.get(name);
  return op ? [['TFLite', `not exportable to TFLite: ${op}`]] : [];
}

/** `state`: the editor's, whose measurements of the layer are shown too. */
export function showLayerTooltip(layer: LayerStats, clientX: number, clientY: number, state?: ViewState): void {
  render(layer.name, [...layerRows(layer), ...(state ? [...exportRows(state, layer.name), ...measurementRows(state, layer.name)] : [])]);
  element().dataset.layer = layer.name;
  place(clientX, clientY);
}

/**
 * A layer of a comparison: the same rows as a layer's tooltip, "A → B" where the two models differ; a layer in one
 * model only gets that model's tooltip with a note saying so.
 */
export function showCompareTooltip(name: string, a: LayerStats | undefined, b: LayerStats | undefined, clientX: number, clientY: number): void {
  const ra = a ? layerRows(a) : undefined;
  const rb = b ? layerRows(b) : undefined;
  let rows: [string, string][];
  if (ra && rb && ra.length === rb.length && ra.every(([k], i) => k === rb[i][0])) {
    rows = ra.map(([k, va], i) => [k, va === rb[i][1] ? va : `${va} → ${rb[i][1]}`]);
  } else if (ra && rb) {
    rows = [...ra.map(([k, v]): [string, string] => [`A · ${k}`, v]), ...rb.map(([k, v]): [string, string] => [`B · ${k}`, v])];
  } else {
    rows = [['Only in', a ? 'A (removed in B)' : 'B (added)'], ...(ra ?? rb ?? [])];
  }
  render(name, rows);
  element().dataset.layer = name;
  place(clientX, clientY);
}

export function showNoteTooltip(title: string, rows: [string, string][], clientX: number, clientY: number): void {
  render(title, rows);
  element().dataset.layer = title;
  place(clientX, clientY);
}

export function hideTooltip(): void {
  if (box) box.hidden = true;
}
