// "Compare With…": two models side by side. A header with both models' totals and the ratio B/A (and, once measured,
// how far their outputs agree), and one row per layer matched by name with params, sparsity, bits and bytes before →
// after; layers in one model only are marked added / removed. Sortable by any column; arrow keys move between rows.
import { layerChange, type LayerDiff, type LayerSide } from '../../src/core/analysis/compare';
import type { LayerStats } from '../../src/core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatPercent, type ToWebview } from '../../src/protocol';
import { button, checkbox, countLabel, viewSection } from '../ui/toolkit';
import { hideTooltip, showCompareTooltip } from '../ui/tooltip';
import { summaryItem } from './summary';

type CompareMessage = Extract<ToWebview, { type: 'compare' }>;
type FidelityMessage = Extract<ToWebview, { type: 'fidelity' }>;

interface Column {
  key: string;
  label: string;
  numeric: boolean;
  /** a side's value as shown, or undefined for columns that are not per side */
  text?: (s: LayerSide) => string;
  /** the sort key of a row (numeric columns sort by the value after, B's, or A's for removed layers) */
  sortValue: (l: LayerDiff, order: number) => number | string;
}

const after = (l: LayerDiff) => (l.b ?? l.a)!;
const CHANGE_ORDER = { removed: 0, added: 1, changed: 2, same: 3 };

const columns: Column[] = [
  { key: 'order', label: '#', numeric: true, sortValue: (_, i) => i },
  { key: 'name', label: 'Layer', numeric: false, sortValue: (l) => l.name },
  { key: 'op', label: 'Op', numeric: false, text: (s) => s.op, sortValue: (l) => after(l).op },
  { key: 'params', label: 'Params', numeric: true, text: (s) => formatCount(s.params), sortValue: (l) => after(l).params },
  { key: 'sparsity', label: 'Sparsity', numeric: true, text: (s) => formatPercent(s.sparsity), sortValue: (l) => after(l).sparsity },
  { key: 'bits', label: 'Bits', numeric: true, text: (s) => String(s.bits), sortValue: (l) => after(l).bits },
  { key: 'scheme', label: 'Scheme', numeric: false, text: (s) => s.scheme, sortValue: (l) => after(l).scheme },
  { key: 'size', label: 'Size', numeric: true, text: (s) => formatBytes(s.weightBytes), sortValue: (l) => after(l).weightBytes },
  { key: 'change', label: 'Change', numeric: false, sortValue: (l) => CHANGE_ORDER[layerChange(l)] },
];

/** "x", "x → y", "— → y" (added) or "x → —" (removed). */
function pairText(l: LayerDiff, f: (s: LayerSide) => string): { text: string; changed: boolean } {
  const a = l.a ? f(l.a) : '—';
  const b = l.b ? f(l.b) : '—';
  return a === b ? { text: a, changed: false } : { text: `${a} → ${b}`, changed: true };
}

const ratioText = (r: number) => (Number.isFinite(r) ? `${r.toFixed(3)}×` : '∞');

export class CompareView {
  private readonly fidelity: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly count: HTMLElement;
  private readonly headers = new Map<string, HTMLTableCellElement>();
  private readonly rows: HTMLTableRowElement[];
  private readonly layersA: Map<string, LayerStats>;
  private readonly layersB: Map<string, LayerStats>;
  private sortKey = 'order';
  private descending = false;
  private changedOnly = false;
  /** row indices in display order */
  private order: number[] = [];

  constructor(parent: HTMLElement, private readonly m: CompareMessage, private readonly onMeasure: () => void) {
    this.layersA = new Map(m.a.report.layers.map((l) => [l.name, l]));
    this.layersB = new Map(m.b.report.layers.map((l) => [l.name, l]));
    this.fidelity = document.createElement('div');
    this.renderHeader(parent);
    const { section, controls } = viewSection(parent, 'table compare', 'Layers compared');
    this.count = countLabel('compare-count');
    controls.append(checkbox('Changed only', 'compare-changed-only', (on) => { this.changedOnly = on; this.apply(); }), this.count);
    const scroller = document.createElement('div');
    scroller.className = 'table-scroll';
    const table = document.createElement('table');
    table.dataset.testid = 'compare-table';
    table.setAttribute('role', 'grid');
    table.setAttribute('aria-rowcount', String(m.comparison.layers.length + 1));
    const headRow = table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      if (c.numeric) th.className = 'num';
      const b = document.createElement('button');
      b.className = 'sort';
      b.textContent = c.label;
      b.dataset.testid = `compare-sort-${c.key}`;
      b.addEventListener('click', () => this.sortBy(c.key));
      th.append(b);
      headRow.append(th);
      this.headers.set(c.key, th);
    }
    this.tbody = table.createTBody();
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
    this.rows = m.comparison.layers.map((l, i) => this.row(l, i));
    scroller.append(table);
    section.append(scroller);
    this.apply();
  }

  /** Shows the progress, the result or the failure of "Measure on data…". */
  setFidelity(f: FidelityMessage): void {
    const box = this.fidelity;
    box.replaceChildren();
    box.dataset.state = f.outputs ? 'done' : f.error ? 'failed' : 'running';
    if (f.outputs) {
      const o = f.outputs;
      const dl = document.createElement('dl');
      box.append(dl);
      const agreement = summaryItem(dl, 'compare-agreement', 'Agreement', `${(100 * o.agreement).toFixed(2)} %`, String(o.agreement),
        `Same top class on ${Math.round(o.agreement * o.n)} of ${o.n} samples${f.data ? ` of ${f.data}` : ''}`);
      agreement.dataset.samples = String(o.n);
      summaryItem(dl, 'compare-max-diff', 'Max |Δ|', o.maxAbsDiff.toPrecision(3), String(o.maxAbsDiff), 'Largest absolute difference between the two models\' outputs');
      if (o.top1) summaryItem(dl, 'compare-top1', 'Top-1', `${(100 * o.top1.a).toFixed(2)} → ${(100 * o.top1.b).toFixed(2)} %`, JSON.stringify(o.top1));
    } else {
      const p = document.createElement('p');
      p.className = f.error ? 'status error' : 'status';
      p.dataset.testid = 'compare-fidelity-status';
      p.setAttribute('role', f.error ? 'alert' : 'status');
      p.textContent = f.error ?? f.message ?? '';
      box.append(p);
    }
    if (f.outputs || f.error) box.append(this.measureButton(f.outputs ? 'Measure again…' : 'Measure on data…'));
  }

  private measureButton(label: string): HTMLElement {
    const b = button(label, 'compare-measure', () => this.onMeasure());
    b.classList.add('summary-action');
    return b;
  }

  private renderHeader(parent: HTMLElement): void {
    const { a, b, comparison: c } = this.m;
    const header = document.createElement('header');
    header.className = 'summary compare';
    const title = document.createElement('h1');
    title.textContent = `${a.fileName} ↔ ${b.fileName}`;
    title.title = `A: ${c.a.path}\nB: ${c.b.path}`;
    header.append(title);
    const dl = document.createElement('dl');
    const pair = (testId: string, label: string, va: number | Record<string, number>, vb: number | Record<string, number>, f: (v: never) => string, detail?: string) => {
      const [ta, tb] = [f(va as never), f(vb as never)];
      const dd = summaryItem(dl, testId, label, ta === tb ? ta : `${ta} → ${tb}`, JSON.stringify([va, vb]), detail);
      dd.dataset.a = JSON.stringify(va);
      dd.dataset.b = JSON.stringify(vb);
    };
    pair('compare-params', 'Params', c.a.params, c.b.params, formatCount, `${c.a.params.toLocaleString('en-US')} → ${c.b.params.toLocaleString('en-US')}`);
    pair('compare-size', 'Size', c.a.bytes, c.b.bytes, formatBytes, `${c.a.bytes.toLocaleString('en-US')} → ${c.b.bytes.toLocaleString('en-US')} bytes`);
    pair('compare-sparsity', 'Sparsity', c.a.sparsity, c.b.sparsity, formatPercent);
    pair('compare-bits', 'Bits', c.a.bitsMix, c.b.bitsMix, formatBitsMix);
    summaryItem(dl, 'compare-ratio', 'Size B/A', ratioText(c.sizeRatio), String(c.sizeRatio),
      c.sizeRatio > 0 && c.sizeRatio < 1 ? `B is ${(1 / c.sizeRatio).toFixed(2)}× smaller than A` : undefined);
    summaryItem(dl, 'compare-params-ratio', 'Params B/A', ratioText(c.paramsRatio), String(c.paramsRatio));
    summaryItem(dl, 'compare-macs-ratio', 'MACs B/A', ratioText(c.macsRatio), String(c.macsRatio));
    header.append(dl);
    this.fidelity.className = 'fidelity';
    this.fidelity.dataset.testid = 'compare-fidelity';
    this.fidelity.append(this.measureButton('Measure on data…'));
    this.fidelity.setAttribute('role', 'group');
    this.fidelity.setAttribute('aria-label', 'Output fidelity');
    header.append(this.fidelity);
    parent.append(header);
  }

  private row(l: LayerDiff, i: number): HTMLTableRowElement {
    const tr = document.createElement('tr');
    const change = layerChange(l);
    tr.dataset.testid = 'compare-row';
    tr.dataset.layer = l.name;
    tr.dataset.change = change;
    tr.className = `change-${change}`;
    for (const [k, s] of [['a', l.a], ['b', l.b]] as const) {
      if (!s) continue;
      tr.dataset[`bits${k.toUpperCase()}`] = String(s.bits);
      tr.dataset[`params${k.toUpperCase()}`] = String(s.params);
      tr.dataset[`sparsity${k.toUpperCase()}`] = String(s.sparsity);
      tr.dataset[`bytes${k.toUpperCase()}`] = String(s.weightBytes);
    }
    tr.tabIndex = -1;
    for (const c of columns) {
      const td = tr.insertCell();
      if (c.numeric) td.classList.add('num');
      if (c.key === 'order') td.textContent = String(i);
      else if (c.key === 'name') { td.textContent = l.name; td.title = l.name; }
      else if (c.key === 'change') td.textContent = change === 'same' ? '' : change;
      else {
        const p = pairText(l, c.text!);
        td.textContent = p.text;
        if (p.changed) td.classList.add('changed');
      }
    }
    tr.addEventListener('mousemove', (e) => this.tooltip(l, e.clientX, e.clientY));
    tr.addEventListener('mouseleave', () => hideTooltip());
    tr.addEventListener('click', () => this.focusRow(tr));
    tr.addEventListener('focus', () => {
      const r = tr.getBoundingClientRect();
      this.tooltip(l, r.left + 40, r.bottom);
    });
    return tr;
  }

  private tooltip(l: LayerDiff, x: number, y: number): void {
    showCompareTooltip(l.name, this.layersA.get(l.name), this.layersB.get(l.name), x, y);
  }

  private sortBy(key: string): void {
    this.descending = this.sortKey === key ? !this.descending : columns.find((c) => c.key === key)!.numeric && key !== 'order';
    this.sortKey = key;
    this.apply();
  }

  private apply(): void {
    const layers = this.m.comparison.layers;
    const col = columns.find((c) => c.key === this.sortKey)!;
    const dir = this.descending ? -1 : 1;
    this.order = layers.map((_, i) => i).filter((i) => !this.changedOnly || layers[i].changed).sort((x, y) => {
      const vx = col.sortValue(layers[x], x), vy = col.sortValue(layers[y], y);
      const cmp = typeof vx === 'number' && typeof vy === 'number' ? vx - vy : String(vx).localeCompare(String(vy));
      return dir * cmp || x - y;
    });
    for (const [key, th] of this.headers) th.setAttribute('aria-sort', key === this.sortKey ? (this.descending ? 'descending' : 'ascending') : 'none');
    const shown = this.order.map((i) => this.rows[i]);
    for (const r of this.rows) r.tabIndex = -1;
    if (shown[0]) shown[0].tabIndex = 0;
    this.tbody.replaceChildren(...shown);
    const differ = layers.filter((l) => l.changed).length;
    this.count.textContent = `${shown.length} of ${layers.length} layers · ${differ} differ`;
  }

  private focusRow(tr: HTMLTableRowElement): void {
    for (const r of this.rows) r.tabIndex = -1;
    tr.tabIndex = 0;
    tr.focus();
  }

  private onKey(e: KeyboardEvent): void {
    const shown = this.order.map((i) => this.rows[i]);
    if (!shown.length) return;
    const at = Math.max(0, shown.indexOf(document.activeElement as HTMLTableRowElement));
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -shown.length, End: shown.length };
    if (e.key in moves) this.focusRow(shown[Math.min(shown.length - 1, Math.max(0, at + moves[e.key]))]);
    else if (e.key === 'Escape') hideTooltip();
    else return;
    e.preventDefault();
  }
}
