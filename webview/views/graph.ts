// Graph view: the model's DAG laid out by webview/graph/layout.ts and drawn on a Canvas 2D — only the ranks
// and nodes inside the viewport, labels only when legible — so that panning and zooming a 10,000-node graph
// stays smooth. The whole graph is shown at first (its layout takes ~0.1 s at 10,000 nodes); repeated blocks
// can be collapsed into single nodes on demand; search finds nodes by name or op.
import { color as parseColor, select, zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3';
import type { LayerStats } from '../../src/core/analysis/report';
import { formatCount, formatPercent } from '../../src/protocol';
import { afterPaint } from '../afterPaint';
import { layerColor, neutralColor } from '../colors';
import { collapseRuns, findRepeatedBlocks, type BlockRun, type VisualGraph } from '../graph/collapse';
import { firstNodeRightOf, layeredLayout, nodeAtPoint, NODE_HEIGHT, RANK_GAP, type Layout } from '../graph/layout';
import type { ViewState } from '../state';
import { button, countLabel, textField, viewSection } from '../ui/toolkit';
import { exportRows, hideTooltip, showLayerTooltip, showNoteTooltip } from '../ui/tooltip';

const NODE_WIDTH = 132;
const GROUP_WIDTH = 176;
/** Edges spanning more ranks than this are checked against every viewport instead of by rank bucket. */
const SHORT_SPAN = 8;

interface Theme { background: string; foreground: string; edge: string; border: string; selected: string; match: string; focus: string; neutral: string; warning: string; font: string }

export interface GraphStats { nodes: number; visualNodes: number; layoutMs: number; runs: number }

/** What a graph view computed from the graph's structure alone, reusable by the next view of the same structure. */
export interface GraphStructure {
  runs: BlockRun[];
  collapsed: Set<number>;
  visual: VisualGraph;
  layout: Layout;
  layoutMs: number;
  shortEdgesByRank: number[][];
  longEdges: number[];
  transform: ZoomTransform;
}

/** A group of layers as one: its params, params-weighted sparsity, and the bit-width that holds the most params. */
function groupStats(ls: readonly LayerStats[]): { params: number; sparsity: number; bits: number } {
  let params = 0, zeros = 0;
  const bitsParams = new Map<number, number>();
  for (const l of ls) {
    params += l.params;
    zeros += l.zeros;
    bitsParams.set(l.bits, (bitsParams.get(l.bits) ?? 0) + l.params);
  }
  const bits = [...bitsParams].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  return { params, sparsity: params ? zeros / params : 0, bits };
}

export class GraphView {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly zoomBehavior: ZoomBehavior<HTMLCanvasElement, unknown>;
  private transform: ZoomTransform = zoomIdentity;
  private readonly runs: BlockRun[];
  private collapsed = new Set<number>();
  private visual!: VisualGraph;
  private layout!: Layout;
  private layoutMs = 0;
  private shortEdgesByRank: number[][] = [];
  private longEdges: number[] = [];
  private fill: string[] = [];
  private textOnFill: string[] = [];
  private theme!: Theme;
  private matches: number[] = [];
  private matchIndex = -1;
  private matchSet = new Set<number>();
  private focusNode = -1;
  private frameRequested = false;
  private painted = false;
  /** the view was taken over from a preview: do not fit it again */
  private keepView = false;
  private cssWidth = 0;
  private cssHeight = 0;
  private readonly nameToId = new Map<string, number>();
  /** node ids the TFLite exporter has no conversion for */
  private exportBlockedIds?: { graph: object; ids: ReadonlySet<number> };
  private readonly searchCount: HTMLElement;
  private readonly collapseButton: HTMLElement;
  framesDrawn = 0;
  private readonly resizeObserver = new ResizeObserver(() => this.resize());

  /**
   * `reuse`: the structure computed by the preview of the same graph (shown while the layers were analysed),
   * so that the analysed view neither finds blocks nor lays out again, and opens where the preview was.
   */
  constructor(parent: HTMLElement, private readonly state: ViewState, reuse?: GraphStructure) {
    const g = state.graph;
    g.names.forEach((name, i) => { if (!this.nameToId.has(name)) this.nameToId.set(name, i); });
    this.runs = reuse?.runs ?? findRepeatedBlocks({ ops: g.ops, edges: g.edges });

    const { section, controls } = viewSection(parent, 'graph', 'Graph');
    this.searchCount = countLabel('graph-search-count');
    this.collapseButton = button('', 'graph-collapse', () => this.setCollapsedAll(this.collapsed.size === 0));
    const search = textField('Search name or op', 'graph-search', (q) => this.search(q), (_q, back) => this.nextMatch(back ? -1 : 1));
    search.title = 'Search nodes by name or op type; Enter: next match, Shift+Enter: previous';
    controls.append(
      search,
      this.searchCount,
      this.collapseButton,
      button('Fit', 'graph-fit', () => this.fit()),
    );
    const holder = document.createElement('div');
    holder.className = 'graph-canvas';
    this.canvas = document.createElement('canvas');
    this.canvas.dataset.testid = 'graph';
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'application');
    this.canvas.setAttribute('aria-label', 'Model graph. Arrow keys move between nodes, Enter selects, + and - zoom, 0 fits, double-click expands a block');
    holder.append(this.canvas);
    section.append(holder);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;

    this.zoomBehavior = zoom<HTMLCanvasElement, unknown>().scaleExtent([0.005, 4]).on('zoom', (e) => {
      this.transform = e.transform;
      this.schedule();
    });
    select(this.canvas).call(this.zoomBehavior).on('dblclick.zoom', null);
    this.canvas.addEventListener('mousemove', (e) => this.onHover(e));
    this.canvas.addEventListener('mouseleave', () => hideTooltip());
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('dblclick', (e) => this.onDoubleClick(e));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));

    state.on('selection', () => { this.revealSelection(); this.schedule(); });
    state.on('colorBy', () => { this.computeColors(); this.schedule(); });
    state.on('measurements', () => { this.computeColors(); this.schedule(); });
    this.readTheme();
    if (reuse) {
      ({ collapsed: this.collapsed, visual: this.visual, layout: this.layout, layoutMs: this.layoutMs } = reuse);
      ({ shortEdgesByRank: this.shortEdgesByRank, longEdges: this.longEdges } = reuse);
      this.afterLayout();
      this.transform = reuse.transform;
      // d3-zoom keeps its state on the element: start from the preview's view.
      select(this.canvas).property('__zoom', reuse.transform);
      this.keepView = true;
    } else {
      this.rebuild();
    }
    this.resizeObserver.observe(holder);
  }

  /** Stops following the canvas's size (the view was replaced). */
  dispose(): void {
    this.resizeObserver.disconnect();
  }

  structure(): GraphStructure {
    const { runs, collapsed, visual, layout, layoutMs, shortEdgesByRank, longEdges, transform } = this;
    return { runs, collapsed, visual, layout, layoutMs, shortEdgesByRank, longEdges, transform };
  }

  // ---- building ----

  private rebuild(): void {
    const g = this.state.graph;
    const t0 = performance.now();
    this.visual = collapseRuns(g.names.length, g.edges, this.runs, this.collapsed);
    this.layout = layeredLayout({ n: this.visual.members.length, edges: this.visual.edges, width: (v) => (this.visual.run[v] >= 0 ? GROUP_WIDTH : NODE_WIDTH) });
    this.layoutMs = performance.now() - t0;
    const byRank: number[][] = this.layout.rankNodes.map(() => []);
    this.longEdges = [];
    const e = this.visual.edges;
    for (let i = 0; i < e.length; i += 2) {
      const ra = this.layout.rank[e[i]], rb = this.layout.rank[e[i + 1]];
      if (Math.abs(rb - ra) > SHORT_SPAN) this.longEdges.push(i);
      else byRank[Math.min(ra, rb)].push(i);
    }
    this.shortEdgesByRank = byRank;
    this.afterLayout();
  }

  /** Controls, colours and search follow a new visual graph. */
  private afterLayout(): void {
    this.collapseButton.textContent = this.collapsed.size ? 'Expand all blocks' : `Collapse blocks (${this.runs.length})`;
    this.collapseButton.title = this.collapsed.size ? 'Show every node' : `Collapse the ${this.runs.length} runs of repeated blocks into one node each`;
    this.collapseButton.toggleAttribute('disabled', this.runs.length === 0);
    this.computeColors();
    this.matches = [];
    this.matchSet.clear();
    this.focusNode = -1;
  }

  private setCollapsedAll(on: boolean): void {
    this.collapsed = on ? new Set(this.runs.map((_, i) => i)) : new Set();
    this.rebuild();
    this.fitWidth();
  }

  private toggleRun(run: number): void {
    if (this.collapsed.has(run)) this.collapsed.delete(run);
    else this.collapsed.add(run);
    const anchor = this.state.graph.names[this.runs[run].nodes[0]];
    this.rebuild();
    this.centerOn(this.visual.visualOf[this.nameToId.get(anchor)!]);
  }

  /**
   * Colour of a visual node: its layer's, or for a group the params-weighted sparsity / the dominant bit-width / the
   * largest sensitivity / the summed time. Latency also colours the measured nodes without weights.
   */
  private computeColors(): void {
    const by = this.state.colorBy;
    const neutral = this.theme.neutral;
    const cache = new Map<string, string>();
    const names = this.state.graph.names;
    this.fill = this.visual.members.map((m) => {
      const ls = this.layersOf(m);
      const timed = by === 'latency' ? this.state.measuredValue(by, m.map((k) => names[k])) : undefined;
      if (ls.length === 0) return timed?.value !== undefined ? layerColor({ sparsity: 0, bits: 0 }, by, timed) : neutral;
      return layerColor(ls.length === 1 ? ls[0] : groupStats(ls), by, timed ?? this.state.measuredValue(by, ls.map((l) => l.name)));
    });
    this.textOnFill = this.fill.map((f) => {
      if (f === neutral) return this.theme.foreground;
      let t = cache.get(f);
      if (!t) {
        const c = parseColor(f)?.rgb();
        const luminance = c ? (0.299 * c.r + 0.587 * c.g + 0.114 * c.b) / 255 : 0;
        cache.set(f, (t = luminance > 0.55 ? '#1e1e1e' : '#ffffff'));
      }
      return t;
    });
  }

  /** Re-reads theme colours (called at start and whenever VS Code switches theme). */
  readTheme(): void {
    const css = getComputedStyle(document.body);
    const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    this.theme = {
      background: v('--vscode-editor-background', '#1e1e1e'),
      foreground: v('--vscode-editor-foreground', '#cccccc'),
      edge: v('--vscode-editorLineNumber-foreground', '#858585'),
      border: v('--vscode-contrastBorder', '') || v('--vscode-editorWidget-border', '#454545'),
      selected: v('--vscode-focusBorder', '#007fd4'),
      match: v('--vscode-editor-findMatchBorder', '') || v('--vscode-editorOverviewRuler-findMatchForeground', '#d18616'),
      focus: v('--vscode-contrastActiveBorder', '') || v('--vscode-list-focusOutline', '#007fd4'),
      neutral: neutralColor(),
      warning: v('--vscode-editorWarning-foreground', '#cca700'),
      font: `${v('--vscode-font-size', '13px')} ${v('--vscode-font-family', 'sans-serif')}`.replace(/^(\d+)px/, '11px'),
    };
    if (this.visual) { this.computeColors(); this.schedule(); }
  }

  // ---- view ----

  private resize(): void {
    const rect = this.canvas.parentElement!.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.cssWidth = Math.max(1, Math.floor(rect.width));
    this.cssHeight = Math.max(1, Math.floor(rect.height));
    this.canvas.width = Math.floor(this.cssWidth * dpr);
    this.canvas.height = Math.floor(this.cssHeight * dpr);
    this.canvas.style.width = `${this.cssWidth}px`;
    this.canvas.style.height = `${this.cssHeight}px`;
    if (!this.painted && !this.keepView) this.fitWidth();
    // The first drawing happens here, before this frame is painted (resize observers run after layout), so that
    // the graph appears together with the rest of the view rather than one frame later.
    if (!this.painted) this.draw();
    else this.schedule();
  }

  /** Initial view: the top of the graph at a legible scale, as wide as the graph or the canvas allows. */
  private fitWidth(): void {
    const b = this.layout.bounds;
    const k = Math.min(1.2, Math.max(0.35, (this.cssWidth - 40) / Math.max(1, b.x1 - b.x0)));
    this.applyTransform(zoomIdentity.translate(this.cssWidth / 2 - ((b.x0 + b.x1) / 2) * k, 24 - b.y0 * k).scale(k));
  }

  fit(): void {
    const b = this.layout.bounds;
    const k = Math.min(1.5, (this.cssWidth - 40) / Math.max(1, b.x1 - b.x0), (this.cssHeight - 40) / Math.max(1, b.y1 - b.y0));
    this.applyTransform(zoomIdentity.translate(this.cssWidth / 2 - ((b.x0 + b.x1) / 2) * k, this.cssHeight / 2 - ((b.y0 + b.y1) / 2) * k).scale(k));
  }

  private applyTransform(t: ZoomTransform): void {
    select(this.canvas).call(this.zoomBehavior.transform, t);
    this.schedule();
  }

  private centerOn(v: number): void {
    if (v < 0) return;
    const k = Math.max(this.transform.k, 0.6);
    this.applyTransform(zoomIdentity.translate(this.cssWidth / 2 - this.layout.x[v] * k, this.cssHeight / 2 - this.layout.y[v] * k).scale(k));
  }

  private isOnScreen(v: number): boolean {
    const [sx, sy] = this.transform.apply([this.layout.x[v], this.layout.y[v]]);
    return sx >= 0 && sx <= this.cssWidth && sy >= 0 && sy <= this.cssHeight;
  }

  private revealSelection(): void {
    const first = [...this.state.selected].map((n) => this.nameToId.get(n)).find((id) => id !== undefined);
    if (first === undefined) return;
    const v = this.visual.visualOf[first];
    if (!this.isOnScreen(v)) this.centerOn(v);
  }

  private schedule(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => { this.frameRequested = false; this.draw(); });
  }

  // ---- drawing ----

  private draw(): void {
    if (!this.cssWidth) return;
    const { ctx, layout, visual, theme } = this;
    const t = this.transform;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.background;
    ctx.fillRect(0, 0, this.cssWidth, this.cssHeight);
    ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);

    const wx0 = -t.x / t.k, wx1 = (this.cssWidth - t.x) / t.k;
    const wy0 = -t.y / t.k, wy1 = (this.cssHeight - t.y) / t.k;
    const ranks = layout.rankNodes.length;
    const r0 = Math.max(0, Math.floor((wy0 - NODE_HEIGHT) / RANK_GAP));
    const r1 = Math.min(ranks - 1, Math.ceil((wy1 + NODE_HEIGHT) / RANK_GAP));

    // Edges: short ones by rank bucket, long ones when their vertical span meets the viewport.
    ctx.beginPath();
    const e = visual.edges;
    const curve = t.k > 0.08;
    const addEdge = (i: number) => {
      const a = e[i], b = e[i + 1];
      const ax = layout.x[a], ay = layout.y[a] + NODE_HEIGHT / 2, bx = layout.x[b], by = layout.y[b] - NODE_HEIGHT / 2;
      if (Math.max(ax, bx) < wx0 || Math.min(ax, bx) > wx1) return;
      ctx.moveTo(ax, ay);
      if (curve) { const my = (ay + by) / 2; ctx.bezierCurveTo(ax, my, bx, my, bx, by); } else ctx.lineTo(bx, by);
    };
    for (let r = Math.max(0, r0 - SHORT_SPAN); r <= r1; r++) for (const i of this.shortEdgesByRank[r] ?? []) {
      if (Math.max(layout.rank[e[i]], layout.rank[e[i + 1]]) >= r0) addEdge(i);
    }
    for (const i of this.longEdges) {
      const ra = layout.rank[e[i]], rb = layout.rank[e[i + 1]];
      if (Math.max(ra, rb) >= r0 && Math.min(ra, rb) <= r1) addEdge(i);
    }
    ctx.strokeStyle = theme.edge;
    ctx.lineWidth = Math.max(1, 1 / t.k) * 0.9;
    ctx.stroke();

    // Nodes.
    const labels = t.k * 11 >= 6;
    const names = t.k >= 1.1;
    const selected = this.state.selected;
    const g = this.state.graph;
    const blocked = this.exportBlocked;
    if (labels) { ctx.font = this.theme.font; ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; }
    const outlines: { v: number; color: string }[] = [];
    for (let r = r0; r <= r1; r++) {
      const nodes = layout.rankNodes[r];
      for (let j = firstNodeRightOf(layout, nodes, wx0); j < nodes.length; j++) {
        const v = nodes[j];
        const w = layout.widths[v];
        const x = layout.x[v] - w / 2;
        if (x > wx1) break;
        const y = layout.y[v] - NODE_HEIGHT / 2;
        const group = visual.run[v] >= 0;
        if (group) { ctx.fillStyle = theme.border; ctx.fillRect(x + 4, y - 4, w, NODE_HEIGHT); }
        ctx.fillStyle = this.fill[v];
        ctx.fillRect(x, y, w, NODE_HEIGHT);
        if (t.k > 0.3) { ctx.strokeStyle = theme.border; ctx.lineWidth = 1 / t.k; ctx.strokeRect(x, y, w, NODE_HEIGHT); }
        // A node (or group holding one) that the TFLite exporter cannot convert: a stripe in the warning colour.
        if (blocked.size && visual.members[v].some((m) => blocked.has(m))) { ctx.fillStyle = theme.warning; ctx.fillRect(x, y, Math.max(4, 3 / t.k), NODE_HEIGHT); }
        if (visual.members[v].some((m) => selected.has(g.names[m]))) outlines.push({ v, color: theme.selected });
        else if (this.matchSet.has(v)) outlines.push({ v, color: theme.match });
        if (v === this.focusNode) outlines.push({ v, color: theme.focus });
        if (labels) {
          ctx.fillStyle = this.textOnFill[v];
          const text = this.label(v);
          if (names && !group) {
            ctx.fillText(text, layout.x[v], layout.y[v] - 6, w - 8);
            ctx.fillText(g.names[visual.members[v][0]], layout.x[v], layout.y[v] + 7, w - 8);
          } else ctx.fillText(text, layout.x[v], layout.y[v], w - 8);
        }
      }
    }
    // Outlines stay a few screen pixels wide at any zoom, so a selection is visible even zoomed far out.
    for (const { v, color } of outlines) {
      const w = layout.widths[v];
      const pad = 3 / t.k;
      ctx.strokeStyle = color;
      ctx.lineWidth = 2.5 / t.k;
      ctx.strokeRect(layout.x[v] - w / 2 - pad, layout.y[v] - NODE_HEIGHT / 2 - pad, w + 2 * pad, NODE_HEIGHT + 2 * pad);
    }
    this.framesDrawn++;
    if (!this.painted) {
      this.painted = true;
      // The first graph of the page (the preview's, when there was one), and the first coloured by the analysis.
      const marks = this.state.preview ? ['graph-first-paint'] : ['graph-first-paint', 'graph-analysed-paint'];
      for (const mark of marks) if (!performance.getEntriesByName(mark).length) afterPaint(() => performance.mark(mark));
    }
  }

  private get exportBlocked(): ReadonlySet<number> {
    const graph = this.state.graph;
    if (this.exportBlockedIds?.graph !== graph) this.exportBlockedIds = { graph, ids: new Set(graph.unexportable ?? []) };
    return this.exportBlockedIds.ids;
  }

  private label(v: number): string {
    const ri = this.visual.run[v];
    if (ri >= 0) {
      const run = this.runs[ri];
      return `×${run.repeats}  ${run.label}`;
    }
    return this.state.graph.ops[this.visual.members[v][0]];
  }

  // ---- interaction ----

  private nodeAtEvent(e: MouseEvent): number {
    const rect = this.canvas.getBoundingClientRect();
    const [wx, wy] = this.transform.invert([e.clientX - rect.left, e.clientY - rect.top]);
    return nodeAtPoint(this.layout, wx, wy);
  }

  private layerOf(v: number): LayerStats | undefined {
    const members = this.visual.members[v];
    if (members.length !== 1) return undefined;
    const l = this.state.graph.layer[members[0]];
    return l >= 0 ? this.state.layers[l] : undefined;
  }

  /** The layers (nodes with weights) among graph nodes `ids`. */
  private layersOf(ids: readonly number[]): LayerStats[] {
    const g = this.state.graph;
    return ids.map((id) => g.layer[id]).filter((l) => l >= 0).map((l) => this.state.layers[l]);
  }

  private memberNames(v: number): string[] {
    return this.visual.members[v].map((m) => this.state.graph.names[m]);
  }

  private showTooltip(v: number, clientX: number, clientY: number): void {
    const layer = this.layerOf(v);
    if (layer) return showLayerTooltip(layer, clientX, clientY, this.state);
    const g = this.state.graph;
    const ri = this.visual.run[v];
    if (ri >= 0) {
      const run = this.runs[ri];
      const ls = this.layersOf(run.nodes);
      const { params, sparsity } = groupStats(ls);
      return showNoteTooltip(`${run.repeats} repeated blocks`, [
        ['Block', run.label],
        ['From', g.names[run.nodes[0]]],
        ['To', g.names[run.nodes[run.nodes.length - 1]]],
        ['Nodes', String(run.nodes.length)],
        ['Weighted layers', String(ls.length)],
        ['Params', formatCount(params)],
        ['Sparsity', formatPercent(sparsity)],
        ['', 'Double-click or Enter to expand'],
      ], clientX, clientY);
    }
    const id = this.visual.members[v][0];
    showNoteTooltip(g.names[id], [['Op', g.ops[id]], ['Weights', 'none'], ...exportRows(this.state, g.names[id])], clientX, clientY);
  }

  private onHover(e: MouseEvent): void {
    const v = this.nodeAtEvent(e);
    this.canvas.style.cursor = v >= 0 ? 'pointer' : 'grab';
    if (v >= 0) this.showTooltip(v, e.clientX, e.clientY);
    else hideTooltip();
  }

  private onClick(e: MouseEvent): void {
    if (e.defaultPrevented) return;
    const v = this.nodeAtEvent(e);
    if (v < 0) return;
    this.focusNode = v;
    this.state.select(this.memberNames(v), e.ctrlKey || e.metaKey || e.shiftKey ? 'toggle' : 'replace');
    this.schedule();
  }

  private onDoubleClick(e: MouseEvent): void {
    const v = this.nodeAtEvent(e);
    if (v >= 0 && this.visual.run[v] >= 0) this.toggleRun(this.visual.run[v]);
    else if (v < 0) this.fit();
  }

  private onKey(e: KeyboardEvent): void {
    const { layout, visual } = this;
    const t = this.transform;
    const step = 80;
    const pan = (dx: number, dy: number) => this.applyTransform(zoomIdentity.translate(t.x + dx, t.y + dy).scale(t.k));
    const zoomBy = (f: number) => select(this.canvas).call(this.zoomBehavior.scaleBy, f, [this.cssWidth / 2, this.cssHeight / 2]);
    const move = (next: number) => {
      if (next < 0) return;
      this.focusNode = next;
      if (!this.isOnScreen(next)) this.centerOn(next);
      else this.schedule();
      const [sx, sy] = this.transform.apply([layout.x[next], layout.y[next]]);
      const rect = this.canvas.getBoundingClientRect();
      this.showTooltip(next, rect.left + sx, rect.top + sy + NODE_HEIGHT);
    };
    const neighbour = (forward: boolean) => {
      const e2 = visual.edges;
      for (let i = 0; i < e2.length; i += 2) if ((forward ? e2[i] : e2[i + 1]) === this.focusNode) return forward ? e2[i + 1] : e2[i];
      return -1;
    };
    const sideways = (d: number) => {
      const nodes = layout.rankNodes[layout.rank[this.focusNode]];
      const j = nodes.indexOf(this.focusNode) + d;
      return j >= 0 && j < nodes.length ? nodes[j] : -1;
    };
    const focused = this.focusNode >= 0;
    switch (e.key) {
      case 'ArrowDown': if (focused && !e.altKey) move(neighbour(true)); else pan(0, -step); break;
      case 'ArrowUp': if (focused && !e.altKey) move(neighbour(false)); else pan(0, step); break;
      case 'ArrowLeft': if (focused && !e.altKey) move(sideways(-1)); else pan(step, 0); break;
      case 'ArrowRight': if (focused && !e.altKey) move(sideways(1)); else pan(-step, 0); break;
      case 'Home': move(layout.rankNodes[0]?.[0] ?? -1); break;
      case '+': case '=': zoomBy(1.25); break;
      case '-': zoomBy(0.8); break;
      case '0': this.fit(); break;
      case 'Enter': case ' ':
        if (!focused) { move(layout.rankNodes[0]?.[0] ?? -1); break; }
        if (visual.run[this.focusNode] >= 0 && e.key === 'Enter' && !e.ctrlKey) this.toggleRun(visual.run[this.focusNode]);
        else this.state.select(this.memberNames(this.focusNode), e.ctrlKey || e.metaKey || e.shiftKey ? 'toggle' : 'replace');
        break;
      case 'Escape': this.focusNode = -1; hideTooltip(); this.state.select([]); this.schedule(); break;
      default: return;
    }
    e.preventDefault();
  }

  private search(query: string): void {
    const q = query.trim().toLowerCase();
    this.matches = [];
    if (q) {
      const g = this.state.graph;
      this.visual.members.forEach((m, v) => {
        if (m.some((id) => g.names[id].toLowerCase().includes(q) || g.ops[id].toLowerCase() === q)) this.matches.push(v);
      });
    }
    this.matchSet = new Set(this.matches);
    this.matchIndex = -1;
    this.searchCount.textContent = q ? `${this.matches.length} found` : '';
    if (this.matches.length) this.nextMatch(1);
    else this.schedule();
  }

  private nextMatch(direction: number): void {
    if (!this.matches.length) return;
    this.matchIndex = (this.matchIndex + direction + this.matches.length) % this.matches.length;
    const v = this.matches[this.matchIndex];
    this.focusNode = v;
    this.searchCount.textContent = `${this.matchIndex + 1} of ${this.matches.length}`;
    this.centerOn(v);
  }

  // ---- test hooks ----

  /** Client coordinates of the node drawn for `name` (brought into view first), or null when there is none. */
  nodeAt(name: string): { clientX: number; clientY: number; x: number; y: number; collapsed: boolean; selected: boolean } | null {
    const id = this.nameToId.get(name);
    if (id === undefined) return null;
    const v = this.visual.visualOf[id];
    if (!this.isOnScreen(v)) {
      this.centerOn(v);
      this.draw();
    }
    const [x, y] = this.transform.apply([this.layout.x[v], this.layout.y[v]]);
    const rect = this.canvas.getBoundingClientRect();
    const selected = this.visual.members[v].some((m) => this.state.selected.has(this.state.graph.names[m]));
    return { clientX: rect.left + x, clientY: rect.top + y, x, y, collapsed: this.visual.run[v] >= 0, selected };
  }

  stats(): GraphStats {
    return { nodes: this.state.graph.names.length, visualNodes: this.visual.members.length, layoutMs: this.layoutMs, runs: this.runs.length };
  }

  /** Sets the view transform directly (for frame-rate benchmarks that pan and zoom programmatically). */
  setView(x: number, y: number, k: number): void {
    this.applyTransform(zoomIdentity.translate(x, y).scale(k));
  }
}
