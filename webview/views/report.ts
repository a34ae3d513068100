// The benchmark report: every benchmarked variant of a model against its baseline, on top-1 vs size and top-1 vs
// p50 latency plots with the Pareto front marked, and a table of the same points (sortable; arrow keys move, Enter
// opens). With several baselines a selector picks the group. Stale results (file changed since) are marked.
import { formatBytes, type ReportGroup, type ReportPoint, type ToWebview } from '../../src/protocol';
import { SortableTable, type SortColumn } from '../ui/sortableTable';
import { countLabel, select as selectControl, viewSection } from '../ui/toolkit';
import { hideTooltip, showNoteTooltip } from '../ui/tooltip';
import { drawTradeOffPlot, frontOf, type CostAxis } from './reportPlot';

type ReportMessage = Extract<ToWebview, { type: 'report' }>;

const SIZE: CostAxis = { key: 'size', title: 'Top-1 vs size', label: 'size on disk', cost: (p) => p.bytes, tick: formatBytes };
const LATENCY: CostAxis = { key: 'latency', title: 'Top-1 vs latency', label: 'latency p50 (ms, batch 1)', cost: (p) => p.latencyP50, tick: (v) => `${+v.toPrecision(3)} ms` };

const top1Text = (p: ReportPoint) => (p.top1 === null ? '—' : `${(100 * p.top1).toFixed(2)} %`);
const deltaText = (p: ReportPoint) => (p.deltaTop1 === undefined ? 'baseline' : p.deltaTop1 === null ? '—' : `${p.deltaTop1 < 0 ? '−' : '+'}${Math.abs(p.deltaTop1).toFixed(2)} pp`);
const msText = (ms: number) => `${ms.toFixed(ms < 10 ? 3 : 1)} ms`;

interface Row { p: ReportPoint; frontSize: boolean; frontLatency: boolean }

const columns: (SortColumn<Row> & { text: (r: Row) => string })[] = [
  { key: 'variant', label: 'Variant', numeric: false, sortValue: (r) => r.p.label, text: (r) => r.p.label + (r.p.isBaseline ? ' (baseline)' : '') },
  { key: 'size', label: 'Size', numeric: true, sortValue: (r) => r.p.bytes, text: (r) => formatBytes(r.p.bytes) },
  { key: 'top1', label: 'Top-1', numeric: true, sortValue: (r) => r.p.top1 ?? -1, text: (r) => top1Text(r.p) },
  { key: 'delta', label: 'Δ top-1', numeric: true, sortValue: (r) => r.p.deltaTop1 ?? 0, text: (r) => deltaText(r.p) },
  { key: 'latency', label: 'Latency p50', numeric: true, sortValue: (r) => r.p.latencyP50, text: (r) => msText(r.p.latencyP50) },
  { key: 'front', label: 'Pareto front', numeric: false, sortValue: (r) => (r.frontSize ? 0 : 2) + (r.frontLatency ? 0 : 1), text: (r) => frontText(r) },
  { key: 'measured', label: 'Measured', numeric: true, sortValue: (r) => r.p.time, text: (r) => (r.p.stale ? 'stale' : new Date(r.p.time).toLocaleString()) },
];

function frontText(r: Row): string {
  const on = [r.frontSize && 'size', r.frontLatency && 'latency'].filter(Boolean);
  return on.length ? on.join(' · ') : r.p.top1 === null ? '—' : 'dominated';
}

/** A point's full numbers, for the tooltips of its marker and row. */
function details(p: ReportPoint): [string, string][] {
  return [
    ['Top-1', p.top1 === null ? '— (unlabelled data)' : `${(100 * p.top1).toFixed(2)} % of ${p.n} samples`],
    ['Δ top-1', deltaText(p)],
    ['Size', `${formatBytes(p.bytes)} (${p.bytes.toLocaleString('en-US')} bytes)`],
    ['Latency p50', msText(p.latencyP50)],
    ['Measured', `${new Date(p.time).toLocaleString()}${p.stale ? ' — stale: the file changed since' : ''}`],
    ['File', p.model],
  ];
}

export class ReportView {
  private groups: ReportGroup[] = [];
  private current?: string;

  constructor(private readonly root: HTMLElement, private readonly onOpen: (model: string) => void) {}

  show(m: ReportMessage): void {
    this.groups = m.groups;
    const keep = this.current && m.groups.some((g) => g.baseline === this.current) ? this.current : undefined;
    const wanted = m.group && m.groups.some((g) => g.baseline === m.group) ? m.group : undefined;
    this.current = wanted ?? keep ?? m.groups[0]?.baseline;
    this.render();
  }

  private render(): void {
    hideTooltip();
    this.root.replaceChildren();
    const header = document.createElement('header');
    header.className = 'summary report';
    const title = document.createElement('h1');
    title.textContent = 'Benchmark report';
    header.append(title);
    this.root.append(header);
    const group = this.groups.find((g) => g.baseline === this.current);
    if (!group) {
      const p = document.createElement('p');
      p.className = 'placeholder';
      p.dataset.testid = 'report-empty';
      p.textContent = 'No benchmark results in this workspace yet. Run "ONNX Lens: Run Benchmark" on a model (with a baseline, to compare a compressed copy with its original), or a tasks.json task of type onnx-lens; each result appears here.';
      this.root.append(p);
      return;
    }
    this.root.dataset.group = group.baseline;
    if (this.groups.length > 1) {
      header.append(selectControl('Baseline', 'report-group', this.groups.map((g) => ({ value: g.baseline, label: `${g.label} (${g.points.length})` })), group.baseline, (v) => {
        this.current = v;
        this.render();
      }));
    }
    const note = document.createElement('span');
    note.className = 'meta';
    const stale = group.points.filter((p) => p.stale).length;
    note.textContent = `${group.points.length} models benchmarked against ${group.label}${stale ? ` · ${stale} stale (changed since measured)` : ''}`;
    header.append(note);

    const points = group.points;
    const frontSize = frontOf(points, SIZE);
    const frontLatency = frontOf(points, LATENCY);
    const open = (p: ReportPoint) => this.onOpen(p.model);
    const plots = document.createElement('div');
    plots.className = 'report-plots';
    this.root.append(plots);
    drawTradeOffPlot(plots, points, frontSize, SIZE, details, open);
    drawTradeOffPlot(plots, points, frontLatency, LATENCY, details, open);
    this.renderTable(points.map((p, i) => ({ p, frontSize: frontSize[i], frontLatency: frontLatency[i] })));
  }

  private renderTable(rows: Row[]): void {
    const { section, controls } = viewSection(this.root, 'table report', 'Benchmarked models');
    const count = countLabel('report-count');
    count.textContent = `${rows.length} models · filled markers: on the Pareto front · hollow: dominated · square: the baseline · dashed: stale`;
    controls.append(count);
    const table = new SortableTable(columns, rows, 'size', {
      testId: 'report-table', sortPrefix: 'report', onEnter: (r) => this.onOpen(r.p.model),
    });
    const scroller = document.createElement('div');
    scroller.className = 'table-scroll';
    scroller.append(table.table);
    section.append(scroller);
    table.setRows(rows.map((r) => {
      const tr = document.createElement('tr');
      Object.assign(tr.dataset, {
        testid: 'report-row', model: r.p.model, top1: String(r.p.top1), bytes: String(r.p.bytes), latency: String(r.p.latencyP50),
        frontSize: String(r.frontSize), frontLatency: String(r.frontLatency), stale: String(r.p.stale), baseline: String(r.p.isBaseline),
      });
      if (r.p.stale) tr.classList.add('stale');
      for (const c of columns) {
        const td = tr.insertCell();
        if (c.numeric) td.classList.add('num');
        td.textContent = c.text(r);
      }
      const tip = (x: number, y: number) => showNoteTooltip(r.p.label, details(r.p), x, y);
      tr.addEventListener('mousemove', (e) => tip(e.clientX, e.clientY));
      tr.addEventListener('mouseleave', () => hideTooltip());
      tr.addEventListener('focus', () => { const b = tr.getBoundingClientRect(); tip(b.left + 40, b.bottom); });
      tr.addEventListener('click', () => this.onOpen(r.p.model));
      return tr;
    }));
  }
}
