// Per-layer bar chart (d3): one bar per weighted layer, height = params or bytes, colour = the chosen metric,
// sortable; click / ctrl-click / brushing selects; arrow keys move, Enter selects. Above a few hundred layers
// only the bars in and near the scrolled-to part are in the DOM (thousands of SVG rects cost ~0.3 s to lay out).
import { axisLeft, brushX, format, max, scaleBand, scaleSqrt, select, type Selection } from 'd3';
import type { LayerStats } from '../../src/core/analysis/report';
import { formatPercent } from '../../src/protocol';
import { layerColor } from '../colors';
import type { ViewState } from '../state';
import { select as selectControl, viewSection } from '../ui/toolkit';
import { hideTooltip, showLayerTooltip } from '../ui/tooltip';
import { LAYER_CONTEXT } from './layerTable';

type SortBy = 'order' | 'size' | 'sparsity';
type HeightBy = 'params' | 'size';

const HEIGHT = 220;
const MARGIN = { top: 10, right: 12, bottom: 10, left: 56 };
const MIN_BAR = 4;
/** Up to this many bars are always in the DOM (every layer of most image classifiers). */
const MIN_RENDERED = 150;
/** bars kept on each side of the visible ones */
const OVERSCAN = 100;

export class LayerChart {
  private readonly root: HTMLElement;
  private readonly svg: Selection<SVGSVGElement, unknown, null, undefined>;
  private sortBy: SortBy = 'order';
  private heightBy: HeightBy = 'params';
  private order: LayerStats[] = [];
  private active = 0;
  /** the bar of each position in `order`, once created */
  private barEls: (SVGRectElement | undefined)[] = [];
  private barsGroup?: SVGGElement;
  private barGeometry?: { x: (name: string) => number | undefined; step: number; bandwidth: string; y: (v: number) => number; plotH: number };
  private windowStart = -1;
  private windowEnd = -1;
  private frameRequested = false;
  private readonly scroller: HTMLElement;
  /** scroller width the bars were laid out for: the resize observer's first call must not build them again */
  private renderedWidth = -1;

  constructor(parent: HTMLElement, private readonly state: ViewState) {
    const { section, controls } = viewSection(parent, 'chart', 'Per-layer chart');
    this.root = section;
    controls.append(
      selectControl<HeightBy>('Height', 'chart-height', [{ value: 'params', label: 'params' }, { value: 'size', label: 'size' }], this.heightBy, (v) => { this.heightBy = v; this.render(); }),
      selectControl<SortBy>('Sort', 'chart-sort', [{ value: 'order', label: 'graph order' }, { value: 'size', label: 'size' }, { value: 'sparsity', label: 'sparsity' }], this.sortBy, (v) => { this.sortBy = v; this.render(); }),
    );
    const scroller = document.createElement('div');
    scroller.className = 'chart-scroll';
    this.scroller = scroller;
    scroller.addEventListener('scroll', () => {
      if (this.frameRequested) return;
      this.frameRequested = true;
      requestAnimationFrame(() => { this.frameRequested = false; this.renderWindow(); });
    });
    this.root.append(scroller);
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
    state.on('measurements', () => this.updateColors());
    new ResizeObserver(() => {
      if (scroller.clientWidth !== this.renderedWidth) this.render();
      else this.renderWindow();
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

    this.renderedWidth = (this.root.querySelector('.chart-scroll') as HTMLElement).clientWidth;
    const available = this.renderedWidth || 800;
    const width = Math.max(available, MARGIN.left + MARGIN.right + sorted.length * MIN_BAR);
    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = scaleBand<string>().domain(sorted.map((l) => l.name)).range([0, plotW]).padding(sorted.length > 200 ? 0.05 : 0.15);
    const base = this.state.baseline;
    const highest = (l: LayerStats) => { const was = base?.get(l.name); return Math.max(this.value(l), was ? (this.heightBy === 'params' ? was.params : was.weightBytes) : 0); };
    const y = scaleSqrt().domain([0, max(sorted, highest) || 1]).range([plotH, 0]);

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

    // Bars are plain DOM (thousands of layers: d3's per-attribute passes cost several times more), created when
    // they scroll into view.
    this.barsGroup = plot.append('g').attr('class', 'bars').node()!;
    const bars = this.barsGroup;
    this.barEls = new Array(sorted.length);
    this.barGeometry = { x: (name) => x(name), step: x.step(), bandwidth: String(x.bandwidth()), y, plotH };
    this.windowStart = this.windowEnd = -1;
    this.renderWindow();
    const barAt = (e: Event) => {
      const order = (e.target as SVGElement).dataset?.order;
      return order === undefined ? undefined : Number(order);
    };
    bars.addEventListener('mousemove', (e) => {
      const i = barAt(e);
      if (i !== undefined) showLayerTooltip(sorted[i], e.clientX, e.clientY, this.state);
    });
    bars.addEventListener('mouseleave', () => hideTooltip());
    bars.addEventListener('click', (e) => {
      const i = barAt(e);
      if (i === undefined) return;
      if (e.shiftKey) {
        const [a, b] = [Math.min(this.active, i), Math.max(this.active, i)];
        this.state.select(sorted.slice(a, b + 1).map((l) => l.name), e.ctrlKey || e.metaKey ? 'add' : 'replace');
      } else {
        this.state.select([sorted[i].name], e.ctrlKey || e.metaKey ? 'toggle' : 'replace');
      }
      this.active = i;
      this.updateActive();
    });
    bars.addEventListener('contextmenu', (e) => {
      const i = barAt(e);
      if (i !== undefined && !this.state.selected.has(sorted[i].name)) this.state.select([sorted[i].name]);
    });
    this.updateActive();
  }

  /** Puts the bars of the visible part (all of them for small models) and the active bar into the DOM. */
  private renderWindow(): void {
    const geometry = this.barGeometry;
    if (!geometry || !this.barsGroup) return;
    const n = this.order.length;
    let start = 0, end = n;
    if (n > MIN_RENDERED) {
      const left = this.scroller.scrollLeft - MARGIN.left;
      start = Math.max(0, Math.floor(left / geometry.step) - OVERSCAN);
      end = Math.min(n, Math.ceil((left + (this.scroller.clientWidth || 800)) / geometry.step) + OVERSCAN);
    }
    if (start === this.windowStart && end === this.windowEnd) return;
    this.windowStart = start;
    this.windowEnd = end;
    const frag = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      const before = this.outline(i);
      if (before) frag.append(before);
      frag.append(this.bar(i));
    }
    if (this.active < start || this.active >= end) frag.append(this.bar(this.active));
    this.barsGroup.replaceChildren(frag);
  }

  private bar(i: number): SVGRectElement {
    const existing = this.barEls[i];
    if (existing) return existing;
    const { x, bandwidth, y, plotH } = this.barGeometry!;
    const l = this.order[i];
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    const v = this.value(l);
    r.id = `bar-${i}`;
    r.dataset.testid = 'layer-bar';
    r.dataset.layer = l.name;
    r.dataset.params = String(l.params);
    r.dataset.sparsity = String(l.sparsity);
    r.dataset.bits = String(l.bits);
    r.dataset.order = String(i);
    r.dataset.vscodeContext = LAYER_CONTEXT;
    r.setAttribute('role', 'option');
    r.setAttribute('aria-label', `${l.name}, ${l.op}, ${l.params} params, ${formatPercent(l.sparsity)} sparse, ${l.bits}-bit`);
    r.setAttribute('x', String(x(l.name)));
    r.setAttribute('width', bandwidth);
    r.setAttribute('y', String(Math.min(y(v), plotH - 2)));
    r.setAttribute('height', String(Math.max(2, plotH - y(v))));
    this.barEls[i] = r;
    this.paintBar(r, i);
    return r;
  }

  /** The layer's original height as an outline behind its bar, when an edit changed its size. */
  private outline(i: number): SVGRectElement | undefined {
    const was = this.state.baseline?.get(this.order[i].name);
    if (!was) return undefined;
    const v = this.heightBy === 'params' ? was.params : was.weightBytes;
    const l = this.order[i];
    if (v === this.value(l) && was.bits === l.bits && was.sparsity === l.sparsity) return undefined;
    const { x, bandwidth, y, plotH } = this.barGeometry!;
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    r.setAttribute('class', 'baseline');
    r.dataset.testid = 'layer-bar-before';
    r.dataset.layer = l.name;
    r.dataset.bits = String(was.bits);
    r.dataset.sparsity = String(was.sparsity);
    r.setAttribute('x', String(x(l.name)));
    r.setAttribute('width', bandwidth);
    r.setAttribute('y', String(Math.min(y(v), plotH - 2)));
    r.setAttribute('height', String(Math.max(2, plotH - y(v))));
    return r;
  }

  private paintBar(r: SVGRectElement, i: number): void {
    const by = this.state.colorBy;
    const c = layerColor(this.order[i], by, this.state.measuredValue(by, [this.order[i].name]));
    r.dataset.color = c;
    r.style.fill = c;
    const on = this.state.selected.has(this.order[i].name);
    r.setAttribute('aria-selected', String(on));
    r.classList.toggle('selected', on);
    r.classList.toggle('active', i === this.active);
  }

  private updateColors(): void {
    this.barEls.forEach((r, i) => { if (r) this.paintBar(r, i); });
  }

  private updateSelection(): void {
    this.barEls.forEach((r, i) => { if (r) this.paintBar(r, i); });
  }

  private updateActive(): void {
    this.barEls.forEach((r, i) => r?.classList.toggle('active', i === this.active));
    if (this.order.length) {
      if (!this.barEls[this.active]) this.barsGroup?.append(this.bar(this.active));
      this.svg.attr('aria-activedescendant', `bar-${this.active}`);
    }
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
      showLayerTooltip(this.order[this.active], r.right, r.top, this.state);
    }
  }
}
