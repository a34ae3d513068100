// Weight histogram of the selected layer (the main weight tensor), with a log-scale option; the exact-zero
// count is drawn as its own highlighted bar so that pruned weights stay visible next to the distribution.
import { axisBottom, axisLeft, format, max, scaleLinear, scaleSymlog, select } from 'd3';
import { formatPercent, type HistogramData } from '../../src/protocol';
import type { ViewState } from '../state';
import { checkbox, viewSection } from '../ui/toolkit';
import { hideTooltip, showLayerTooltip } from '../ui/tooltip';

const WIDTH = 420;
const HEIGHT = 200;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 48 };
export const HISTOGRAM_BINS = 64;

export class HistogramView {
  private readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private log = false;
  private data?: HistogramData;
  private layer?: string;
  private requestSeq = 0;

  constructor(parent: HTMLElement, private readonly state: ViewState, private readonly fetch: (layer: string) => Promise<HistogramData>) {
    const { section, controls } = viewSection(parent, 'histogram', 'Weight histogram of the selected layer');
    this.root = section;
    this.root.dataset.testid = 'histogram';
    const title = document.createElement('span');
    title.className = 'title';
    title.dataset.testid = 'histogram-title';
    title.addEventListener('mousemove', (e) => {
      const layer = this.layer && this.state.layerByName.get(this.layer);
      if (layer) showLayerTooltip(layer, e.clientX, e.clientY, this.state);
    });
    title.addEventListener('mouseleave', () => hideTooltip());
    controls.append(title, checkbox('Log scale', 'histogram-log', (on) => { this.log = on; this.draw(); }));
    this.body = document.createElement('div');
    this.body.className = 'histogram-body';
    this.root.append(this.body);
    state.on('selection', () => void this.follow());
    this.draw();
    // After an edit the views are built anew with the selection already restored: show its layer now.
    void this.follow();
  }

  /** Shows the first selected layer that has weights. */
  private async follow(): Promise<void> {
    const layer = [...this.state.selected].find((n) => this.state.layerByName.has(n));
    if (layer === this.layer) return;
    this.layer = layer;
    this.data = undefined;
    this.root.dataset.layer = layer ?? '';
    this.draw();
    if (!layer) return;
    const seq = ++this.requestSeq;
    try {
      const data = await this.fetch(layer);
      if (seq !== this.requestSeq) return;
      this.data = data;
    } catch (e) {
      if (seq !== this.requestSeq) return;
      this.message(`No histogram: ${(e as Error).message}`);
      return;
    }
    this.draw();
  }

  private message(text: string): void {
    const p = document.createElement('p');
    p.className = 'placeholder';
    p.textContent = text;
    this.body.replaceChildren(p);
  }

  private draw(): void {
    const title = this.root.querySelector('.title') as HTMLElement;
    title.textContent = this.layer ? `Weights of ${this.layer}` : 'Weights';
    this.root.dataset.ready = String(!!this.data);
    if (!this.layer) return this.message('Select a layer to see its weight distribution.');
    const h = this.data;
    if (!h) return this.message('Loading…');
    this.body.replaceChildren();
    const total = h.counts.reduce((a, b) => a + b, 0) + h.zeros;
    // A little room on both sides, so that a zero bar at an end of the range (all weights ≤ 0 or ≥ 0) is drawn whole.
    // An edited layer: its distribution as opened is drawn as an outline over the bars, on the same axes.
    const o = h.original;
    const [lo, hi] = [Math.min(h.edges[0], o?.edges[0] ?? 0, 0), Math.max(h.edges[h.edges.length - 1], o?.edges[o.edges.length - 1] ?? 0, 0)];
    const pad = (hi - lo) * 0.03;
    const x = scaleLinear().domain([lo - pad, hi + pad]).range([MARGIN.left, WIDTH - MARGIN.right]).nice();
    const top = Math.max(max(h.counts) ?? 0, h.zeros, max(o?.counts ?? []) ?? 0, 1);
    const y = (this.log ? scaleSymlog().constant(1) : scaleLinear()).domain([0, top]).range([HEIGHT - MARGIN.bottom, MARGIN.top]);
    const svg = select(this.body).append('svg').attr('viewBox', `0 0 ${WIDTH} ${HEIGHT}`).attr('role', 'img')
      .attr('aria-label', `Histogram of ${h.layer}: ${total} values, ${h.zeros} exactly zero`);
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${HEIGHT - MARGIN.bottom})`).call(axisBottom(x).ticks(6));
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${MARGIN.left},0)`).call(axisLeft(y).ticks(4, format('~s')));
    svg.append('g').attr('class', 'bins').selectAll('rect').data(h.counts).join('rect')
      .attr('x', (_, i) => x(h.edges[i]))
      .attr('width', (_, i) => Math.max(1, x(h.edges[i + 1]) - x(h.edges[i]) - 0.5))
      .attr('y', (c) => y(c))
      .attr('height', (c) => y(0) - y(c))
      .append('title').text((c, i) => `[${h.edges[i].toPrecision(3)}, ${h.edges[i + 1].toPrecision(3)}): ${c}`);
    const zx = x(0);
    svg.append('rect').attr('class', 'zero-bin').attr('data-testid', 'histogram-zero')
      .attr('data-count', h.zeros)
      .attr('x', zx - 2).attr('width', 4)
      .attr('y', y(h.zeros)).attr('height', Math.max(h.zeros > 0 ? 2 : 0, y(0) - y(h.zeros)))
      .append('title').text(`exactly zero: ${h.zeros}`);
    if (o) {
      // A step outline of the original bins, from the axis up and back down.
      const points: [number, number][] = [[x(o.edges[0]), y(0)]];
      o.counts.forEach((c, i) => points.push([x(o.edges[i]), y(c)], [x(o.edges[i + 1]), y(c)]));
      points.push([x(o.edges[o.edges.length - 1]), y(0)]);
      svg.append('path').attr('class', 'original-bins').attr('data-testid', 'histogram-original')
        .attr('data-zeros', o.zeros).attr('fill', 'none').attr('stroke', 'currentColor').attr('stroke-dasharray', '3 2')
        .attr('d', `M${points.map(([px, py]) => `${px},${py}`).join('L')}`)
        .append('title').text(`as opened: ${o.dtype}, ${o.zeros} exactly zero`);
    }
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = `${h.dtype} weights: ${total.toLocaleString('en-US')} values, ${h.zeros.toLocaleString('en-US')} zero (${formatPercent(total ? h.zeros / total : 0)})`;
    if (o) note.textContent += `; dashed: as opened (${o.dtype}, ${o.zeros.toLocaleString('en-US')} zero)`;
    this.body.append(note);
  }
}
