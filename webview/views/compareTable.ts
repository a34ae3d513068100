// "Compare With…": two models side by side. A header with both models' totals and the ratio B/A (and, once measured,
// how far their outputs agree), and one row per layer matched by name with params, sparsity, bits and bytes before →
// after; layers in one model only are marked added / removed. Sortable by any column; arrow keys move between rows.
import { layerChange, type LayerDiff, type LayerSide } from '../../src/core/analysis/compare';
import type { LayerStats } from '../../src/core/analysis/report';
import { formatBitsMix, formatBytes, formatCount, formatPercent, type ToWebview } from '../../src/protocol';
import { button, checkbox, countLabel, viewSection } from '../ui/toolkit';
import { SortableTable, type SortColumn } from '../ui/sortableTable';
import { hideTooltip, showCompareTooltip } from '../ui/tooltip';
import { summaryItem } from './summary';

type CompareMessage = Extract<ToWebview, { type: 'compare' }>;
type FidelityMessage = Extract<ToWebview, { type: 'fidelity' }>;

/** Numeric columns sort by the value after, B's, or A's for removed layers. */
interface Column extends SortColumn<LayerDiff> {
  /** a side's value as shown, or undefined for columns that are not per side */
  text?: (s: LayerSide) => string;
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
  private readonly count: HTMLElement;
  private readonly table: SortableTable<LayerDiff>;
  private readonly layersA: Map<string, LayerStats>;
  private readonly layersB: Map<string, LayerStats>;

  constructor(parent: HTMLElement, private readonly m: CompareMessage, private readonly onMeasure: () => void) {
    this.layersA = new Map(m.a.report.layers.map((l) => [l.name, l]));
    this.layersB = new Map(m.b.report.layers.map((l) => [l.name, l]));
    this.fidelity = document.createElement('div');
    this.renderHeader(parent);
    const { section, controls } = viewSection(parent, 'table compare', 'Layers compared');
    this.count = countLabel('compare-count');
    const layers = m.comparison.layers;
    const differ = layers.filter((l) => l.changed).length;
    this.table = new SortableTable(columns, layers, 'order', {
      testId: 'compare-table', sortPrefix: 'compare', unsorted: 'order',
      onApply: (shown) => { this.count.textContent = `${shown} of ${layers.length} layers · ${differ} differ`; },
    });
    controls.append(checkbox('Changed only', 'compare-changed-only', (on) => this.table.setFilter((l) => !on || l.changed)), this.count);
    const scroller = document.createElement('div');
    scroller.className = 'table-scroll';
    scroller.append(this.table.table);
    section.append(scroller);
    this.table.setRows(layers.map((l, i) => this.row(l, i)));
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
    tr.addEventListener('click', () => this.table.focusRow(tr));
    tr.addEventListener('focus', () => {
      const r = tr.getBoundingClientRect();
      this.tooltip(l, r.left + 40, r.bottom);
    });
    return tr;
  }

  private tooltip(l: LayerDiff, x: number, y: number): void {
    showCompareTooltip(l.name, this.layersA.get(l.name), this.layersB.get(l.name), x, y);
  }
}
