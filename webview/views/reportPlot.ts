// One trade-off plot of the benchmark report: top-1 (y) against a cost (x: size or p50 latency), one marker per
// benchmarked model — filled on the Pareto front, hollow when dominated, a square for the baseline, dashed when
// stale — and the front joined by a step line. Markers are focusable; click, Enter or Space opens the model.
import { axisBottom, axisLeft, curveStepAfter, line, max, min, scaleLinear, select, symbol, symbolCircle, symbolSquare } from 'd3';
import { paretoFront } from '../../src/core/analysis/pareto';
import type { ReportPoint } from '../../src/protocol';
import { viewSection } from '../ui/toolkit';
import { hideTooltip, showNoteTooltip } from '../ui/tooltip';

const WIDTH = 440;
const HEIGHT = 260;
const MARGIN = { top: 14, right: 18, bottom: 36, left: 50 };

export interface CostAxis {
  key: 'size' | 'latency';
  title: string;
  label: string;
  cost: (p: ReportPoint) => number;
  tick: (v: number) => string;
}

/** For each point, whether it is on the front of top-1 against `axis` (points without top-1 never are). */
export function frontOf(points: readonly ReportPoint[], axis: CostAxis): boolean[] {
  const plotted = points.filter((p) => p.top1 !== null);
  const front = paretoFront(plotted.map((p) => ({ accuracy: p.top1!, cost: axis.cost(p) })));
  return points.map((p) => p.top1 !== null && front[plotted.indexOf(p)]);
}

export function drawTradeOffPlot(parent: HTMLElement, points: readonly ReportPoint[], front: readonly boolean[], axis: CostAxis,
  details: (p: ReportPoint) => [string, string][], onOpen: (p: ReportPoint) => void): void {
  const { section, controls } = viewSection(parent, 'report-plot', axis.title);
  section.dataset.testid = `report-plot-${axis.key}`;
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = axis.title;
  controls.append(title);
  const plotted = points.map((p, i) => ({ p, onFront: front[i] })).filter(({ p }) => p.top1 !== null);
  if (!plotted.length) {
    const note = document.createElement('p');
    note.className = 'placeholder';
    note.textContent = 'No top-1 to plot: the evaluation data had no labels.';
    section.append(note);
    return;
  }
  const costs = plotted.map(({ p }) => axis.cost(p));
  const top1 = plotted.map(({ p }) => 100 * p.top1!);
  const x = scaleLinear().domain([0, 1.08 * max(costs)!]).nice().range([MARGIN.left, WIDTH - MARGIN.right]);
  const [lo, hi] = [min(top1)!, max(top1)!];
  const pad = Math.max(0.5, 0.1 * (hi - lo));
  const y = scaleLinear().domain([Math.max(0, lo - pad), Math.min(100, hi + pad)]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);

  const svg = select(section).append('svg').attr('viewBox', `0 0 ${WIDTH} ${HEIGHT}`).attr('role', 'img').attr('aria-label', axis.title);
  svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${HEIGHT - MARGIN.bottom})`).call(axisBottom(x).ticks(5).tickFormat((v) => axis.tick(Number(v))));
  svg.append('g').attr('class', 'axis').attr('transform', `translate(${MARGIN.left},0)`).call(axisLeft(y).ticks(5).tickFormat((v) => `${v}`));
  svg.append('text').attr('class', 'axis-label').attr('x', (MARGIN.left + WIDTH - MARGIN.right) / 2).attr('y', HEIGHT - 4).attr('text-anchor', 'middle').text(axis.label);
  svg.append('text').attr('class', 'axis-label').attr('transform', `translate(12,${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)`)
    .attr('text-anchor', 'middle').text('top-1 (%)');

  const frontPoints = plotted.filter((d) => d.onFront).sort((a, b) => axis.cost(a.p) - axis.cost(b.p) || a.p.top1! - b.p.top1!);
  svg.append('path').attr('class', 'front-line').attr('data-testid', 'report-front-line')
    .attr('d', line<(typeof plotted)[number]>().x((d) => x(axis.cost(d.p))).y((d) => y(100 * d.p.top1!)).curve(curveStepAfter)(frontPoints) ?? '');

  const marker = symbol();
  const g = svg.append('g').selectAll('g').data(plotted).join('g')
    .attr('class', (d) => `point${d.onFront ? ' front' : ' dominated'}${d.p.stale ? ' stale' : ''}${d.p.isBaseline ? ' baseline' : ''}`)
    .attr('transform', (d) => `translate(${x(axis.cost(d.p))},${y(100 * d.p.top1!)})`)
    .attr('tabindex', 0)
    .attr('role', 'button')
    .attr('aria-label', (d) => `${d.p.label}: top-1 ${(100 * d.p.top1!).toFixed(2)} %, ${axis.tick(axis.cost(d.p))}${d.onFront ? ', on the Pareto front' : ''}${d.p.stale ? ', stale' : ''}. Open`)
    .attr('data-testid', 'report-point')
    .attr('data-model', (d) => d.p.model)
    .attr('data-front', (d) => String(d.onFront))
    .attr('data-stale', (d) => String(d.p.stale))
    .attr('data-baseline', (d) => String(d.p.isBaseline))
    .attr('data-top1', (d) => String(d.p.top1))
    .attr('data-bytes', (d) => String(d.p.bytes))
    .attr('data-latency', (d) => String(d.p.latencyP50));
  g.append('path').attr('d', (d) => marker.type(d.p.isBaseline ? symbolSquare : symbolCircle).size(d.p.isBaseline ? 90 : 80)() ?? '');
  g.append('text').attr('class', 'point-label').attr('x', 8).attr('y', -7)
    .text((d) => `${shortName(d.p.label)}${d.p.stale ? ' (stale)' : ''}`);
  const tip = (d: (typeof plotted)[number], cx: number, cy: number) => showNoteTooltip(d.p.label, details(d.p), cx, cy);
  g.on('mousemove', (e: MouseEvent, d) => tip(d, e.clientX, e.clientY))
    .on('mouseleave', () => hideTooltip())
    .on('focus', function (_e, d) { const r = (this as SVGGElement).getBoundingClientRect(); tip(d, r.right, r.bottom); })
    .on('blur', () => hideTooltip())
    .on('click', (_e, d) => onOpen(d.p))
    .on('keydown', (e: KeyboardEvent, d) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      onOpen(d.p);
    });
}

/** "models/net.int8.onnx" → "net.int8.onnx". */
const shortName = (label: string) => label.slice(label.replace(/\\/g, '/').lastIndexOf('/') + 1);
