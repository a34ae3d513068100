// Per-layer bar chart (d3): one bar per weighted layer, height = params or bytes, colour = sparsity or bits,
// sortable; click / ctrl-click / brushing selects; arrow keys move, Enter selects.
import { axisLeft, brushX, format, max, scaleBand, scaleSqrt, select, type Selection } from 'd3';
import type { LayerStats } from '../../src/core/analysis/report';
import { layerColor } from '../colors';
import type { ViewState } from '../state';
import { select as selectControl } from '../ui/toolkit';
import { hideTooltip, showLayerTooltip } from '../ui/tooltip';

type SortBy = 'order' | 'size' | 'sparsity';
type HeightBy = 'params' | 'size';

const HEIGHT = 220;
const MARGIN = { top: 10, right: 12, bottom: 10, left: 56 };
const MIN_BAR = 4;

export class LayerChart {
  private readonly root: HTMLElement;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private sortBy: SortBy = 'order';
  private heightBy: HeightBy = 'params';
  private order: LayerStats[] = [];
  private active = 0;
  private barEls: SVGRectElement[] = [];

  constructor(parent: HTMLElement, private readonly state: ViewState) {
    this.root = document.createElement('section');
    this.root.className = 'chart';
    this.root.setAttribute('aria-label', 'Per-layer chart');
    const controls = document.createElement('div');
    controls.className = 'controls';
    controls.append(
      selectControl<HeightBy>('Height', 'chart-height', [{ value: 'params', label: 'params' }, { value: 'size', label: 'size' }], this.heightBy, (v) => { this.heightBy = v; this.render(); }),
      selectControl<SortBy>('Sort', 'chart-sort', [{ value: 'order', label: 'graph order' }, { value: 'size', label: 'size' }, { value: 'sparsity', label: 'sparsity' }], this.sortBy, (v) => { this.sortBy = v; this.render(); }),
    );
    const scroller = document.createElement('div');
    scroller.className = 'chart-scroll';
    this.root.append(controls, scroller);
    parent.append(this.root);
    this.svg = select(scroller).append('svg')
      .attr('data-testid', 'layer-chart')
      .attr('role', 'listbox')
      .attr('aria-multiselectable', 'true')
      .attr('aria-label', 'Weighted layers; arrow keys move, Enter selects')
      .attr('tabindex', 0)
      .attr('height', HEIGHT);
    this.svg.on('keydown', (e: KeyboardEvent) => this.onKey(e));
    this.svg.on('blur', () => hideTooltip());
    state.on('selection', () => this.updateSelection());
    state.on('colorBy', () => this.updateColors());
    let width = -1;
    new ResizeObserver(() => {
      if (scroller.clientWidth === width) return;
      width = scroller.clientWidth;
      this.render();
    }).observe(scroller);
  }

  private value(l: LayerStats): number {
    return this.heightBy === 'params' ? l.params : l.weightBytes;
  }

  render(): void {
    const layers = this.state.layers;
    const sorted = [...layers];
    if (this.sortBy === 'size') sorted.sort((a, b) => this.value(b) - this.value(a) || a.index - b.index);
    else if (this.sortBy === 'sparsity') sorted.sort((a, b) => b.sparsity - a.sparsity || a.index - b.index);
    this.order = sorted;
    this.active = Math.min(this.active, Math.max(0, sorted.length - 1));

    const available = (this.root.querySelector('.chart-scroll') as HTMLElement).clientWidth || 800;
    const width = Math.max(available, MARGIN.left + MARGIN.right + sorted.length * MIN_BAR);
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = scaleBand<string>().domain(sorted.map((l) => l.name)).range([0, plotW]).padding(sorted.length > 200 ? 0.05 : 0.15);
    const y = scaleSqrt().domain([0, max(sorted, (l) => this.value(l)) || 1]).range([plotH, 0]);

    this.svg.attr('width', width).selectAll('*').remove();
    const plot = this.svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
    plot.append('g').attr('class', 'axis').call(axisLeft(y).ticks(4).tickFormat(format('~s')));

    // The brush lies under the bars: dragging over empty space selects a range, clicks on bars still reach them.
    const brush = brushX().extent([[0, 0], [plotW, plotH]]).on('end', (event) => {
      if (!event.selection || !event.sourceEvent) return;
      const [x0, x1] = event.selection as [number, number];
      const hit = sorted.filter((l) => { const bx = x(l.name)!; return bx + x.bandwidth() >= x0 && bx <= x1; }).map((l) => l.name);
      const e = event.sourceEvent as MouseEvent;
      this.state.select(hit, e.shiftKey || e.ctrlKey || e.metaKey ? 'add' : 'replace');
      plot.select<SVGGElement>('.brush').call(brush.move, null);
    });
    plot.append('g').attr('class', 'brush').call(brush);

    // Bars are plain DOM built in one pass (thousands of layers: d3's per-attribute passes cost several times more).
    const bars = plot.append('g').attr('class', 'bars').node()!;
    const frag = document.createDocumentFragment();
    const bandwidth = String(x.bandwidth());
    this.barEls = sorted.map((l, i) => {
      const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
      const v = this.value(l);
      r.id = `bar-${i}`;
      r.dataset.testid = 'layer-bar';
      r.dataset.layer = l.name;
      r.dataset.params = String(l.params);
      r.dataset.sparsity = String(l.sparsity);
      r.dataset.bits = String(l.bits);
      r.dataset.order = String(i);
      r.setAttribute('role', 'option');
      r.setAttribute('aria-label', `${l.name}, ${l.op}, ${l.params} params, ${(l.sparsity * 100).toFixed(1)}% sparse, ${l.bits}-bit`);
      r.setAttribute('x', String(x(l.name)));
      r.setAttribute('width', bandwidth);
      r.setAttribute('y', String(Math.min(y(v), plotH - 2)));
      r.setAttribute('height', String(Math.max(2, plotH - y(v))));
      frag.append(r);
      return r;
    });
    bars.append(frag);
    const barAt = (e: Event) => {
      const order = (e.target as SVGElement).dataset?.order;
      return order === undefined ? undefined : Number(order);
    };
    bars.addEventListener('mousemove', (e) => {
      const i = barAt(e);
      if (i !== undefined) showLayerTooltip(sorted[i], e.clientX, e.clientY);
    });
    bars.addEventListener('mouseleave', () => hideTooltip());
    bars.addEventListener('click', (e) => {
      const i = barAt(e);
      if (i === undefined) return;
      this.active = i;
      this.state.select([sorted[i].name], e.ctrlKey || e.metaKey || e.shiftKey ? 'toggle' : 'replace');
      this.updateActive();
    });
    this.updateColors();
    this.updateSelection();
    this.updateActive();
  }

  private updateColors(): void {
    const by = this.state.colorBy;
    this.barEls.forEach((r, i) => {
      const c = layerColor(this.order[i], by);
      r.dataset.color = c;
      r.style.fill = c;
    });
  }

  private updateSelection(): void {
    const sel = this.state.selected;
    this.barEls.forEach((r, i) => {
      const on = sel.has(this.order[i].name);
      r.setAttribute('aria-selected', String(on));
      r.classList.toggle('selected', on);
    });
  }

  private updateActive(): void {
    this.barEls.forEach((r, i) => r.classList.toggle('active', i === this.active));
    if (this.order.length) this.svg.attr('aria-activedescendant', `bar-${this.active}`);
  }

  private onKey(e: KeyboardEvent): void {
    const n = this.order.length;
    if (!n) return;
    const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
    if (e.key in moves) this.active = Math.min(n - 1, Math.max(0, this.active + moves[e.key]));
    else if (e.key === 'Home') this.active = 0;
    else if (e.key === 'End') this.active = n - 1;
    else if (e.key === 'Enter' || e.key === ' ') {
      this.state.select([this.order[this.active].name], e.ctrlKey || e.metaKey || e.shiftKey ? 'toggle' : 'replace');
    } else if (e.key === 'Escape') {
      this.state.select([]);
    } else return;
    e.preventDefault();
    this.updateActive();
    const bar = this.svg.select<SVGRectElement>(`#bar-${this.active}`).node();
    if (bar) {
      bar.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
      const r = bar.getBoundingClientRect();
      showLayerTooltip(this.order[this.active], r.right, r.top);
    }
  }
}
