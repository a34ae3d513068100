// Per-layer table: the chart's rows with every statistic, sortable by any column, filterable by name or op;
// arrow keys move between rows, Enter / Space selects. Rows are rendered in a window around the scroll
// position (all of them for models of up to 150 layers), so 10,000-layer models stay responsive.
import type { LayerStats } from '../../src/core/analysis/report';
import { formatBytes, formatCount, formatMs, formatPercent, type LayerBaseline } from '../../src/protocol';
import { layerColor } from '../colors';
import type { ViewState } from '../state';
import { countLabel, textField, viewSection } from '../ui/toolkit';
import { hideTooltip, showLayerTooltip } from '../ui/tooltip';

interface Column { key: string; label: string; value: (l: LayerStats) => number | string; text: (l: LayerStats) => string; numeric: boolean }

const columns: Column[] = [
  { key: 'index', label: '#', value: (l) => l.index, text: (l) => String(l.index), numeric: true },
  { key: 'name', label: 'Name', value: (l) => l.name, text: (l) => l.name, numeric: false },
  { key: 'op', label: 'Op', value: (l) => l.op, text: (l) => l.op, numeric: false },
  { key: 'params', label: 'Params', value: (l) => l.params, text: (l) => formatCount(l.params), numeric: true },
  { key: 'zeros', label: 'Zeros', value: (l) => l.zeros, text: (l) => formatCount(l.zeros), numeric: true },
  { key: 'sparsity', label: 'Sparsity', value: (l) => l.sparsity, text: (l) => formatPercent(l.sparsity), numeric: true },
  { key: 'channel', label: 'Channel', value: (l) => l.channelSparsity, text: (l) => formatPercent(l.channelSparsity), numeric: true },
  { key: 'twoFour', label: '2:4', value: (l) => l.twoFour, text: (l) => formatPercent(l.twoFour), numeric: true },
  { key: 'bits', label: 'Bits', value: (l) => l.bits, text: (l) => String(l.bits), numeric: true },
  { key: 'scheme', label: 'Scheme', value: (l) => l.scheme, text: (l) => l.scheme + (l.perChannel ? ' /ch' : ''), numeric: false },
  // Integer layers: can the int8 weights saturate 16-bit pair sums on x86 without VNNI?
  { key: 'saturation', label: 'Sat16', value: (l) => l.saturation ?? '', text: (l) => (l.saturation === 'none' ? 'no' : l.saturation ?? ''), numeric: false },
  // 0 MACs: an op whose work is not counted as MACs (BatchNormalization, Add…) or a shape left unknown.
  { key: 'macs', label: 'MACs', value: (l) => l.macs, text: (l) => (l.macs ? formatCount(l.macs) : '–'), numeric: true },
  { key: 'size', label: 'Size', value: (l) => l.weightBytes, text: (l) => formatBytes(l.weightBytes), numeric: true },
];

/**
 * Milliseconds per run from the latest profile, "before → after" when the file on disk (edited document) or the
 * benchmark's baseline was profiled too ("before → ?" until the shown model is profiled).
 */
export function latencyColumn(state: ViewState): Column {
  return {
    key: 'latency', label: 'Latency', numeric: true,
    value: (l) => { const t = state.timeOf(l.name); return t.now?.ms ?? t.before?.ms ?? -1; },
    text: (l) => {
      const { now, before } = state.timeOf(l.name);
      if (!before) return now ? formatMs(now.ms) : '–';
      return `${formatMs(before.ms)} → ${now ? formatMs(now.ms) : '?'}`;
    },
  };
}

function beforeText(key: string, was: LayerBaseline): string | undefined {
  switch (key) {
    case 'params': return formatCount(was.params);
    case 'sparsity': return formatPercent(was.sparsity);
    case 'bits': return String(was.bits);
    case 'size': return formatBytes(was.weightBytes);
    default: return undefined;
  }
}

/** What VS Code's webview context menu receives for a layer (see package.json menus "webview/context"). */
export const LAYER_CONTEXT = JSON.stringify({ webviewSection: 'layer', preventDefaultContextMenuItems: true });

/** Must match `tr[data-testid="layer-row"]` height in media/editor.css. */
const ROW_HEIGHT = 22;
/** Up to this many rows are always rendered (every row of most image classifiers). */
const MIN_RENDERED = 150;
const OVERSCAN = 40;

export class LayerTable {
  private readonly scroller: HTMLElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly count: HTMLElement;
  private readonly headers = new Map<string, HTMLTableCellElement>();
  private readonly layers: readonly LayerStats[];
  private readonly columns: Column[];
  private sortKey = 'index';
  private descending = false;
  private filter = '';
  /** layer indices in display order (sorted, filtered) */
  private order: number[] = [];
  /** position in `order` of the keyboard cursor */
  private cursor = 0;
  private readonly rowCache = new Map<number, HTMLTableRowElement>();
  private windowStart = -1;
  private windowEnd = -1;
  private frameRequested = false;
  /** display position the next shift-click extends from */
  private anchor = -1;

  constructor(parent: HTMLElement, private readonly state: ViewState) {
    this.layers = state.layers;
    this.columns = [...columns, latencyColumn(state)];
    const { section, controls } = viewSection(parent, 'table', 'Per-layer table');
    this.count = countLabel('table-count');
    controls.append(textField('Filter by name or op', 'table-filter', (v) => { this.filter = v.trim().toLowerCase(); this.apply(); }), this.count);
    this.scroller = document.createElement('div');
    this.scroller.className = 'table-scroll';
    const table = document.createElement('table');
    table.dataset.testid = 'layer-table';
    table.setAttribute('role', 'grid');
    table.setAttribute('aria-multiselectable', 'true');
    table.setAttribute('aria-rowcount', String(this.layers.length + 1));
    const headRow = table.createTHead().insertRow();
    for (const c of this.columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      const b = document.createElement('button');
      b.className = 'sort';
      b.textContent = c.label;
      b.dataset.testid = `sort-${c.key}`;
      b.addEventListener('click', () => this.sortBy(c.key));
      th.append(b);
      if (c.numeric) th.className = 'num';
      headRow.append(th);
      this.headers.set(c.key, th);
    }
    this.tbody = table.createTBody();
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
    this.scroller.addEventListener('scroll', () => this.scheduleWindow());
    new ResizeObserver(() => this.scheduleWindow()).observe(this.scroller);
    this.scroller.append(table);
    section.append(this.scroller);
    this.apply();
    state.on('selection', () => this.updateSelection());
    state.on('colorBy', () => { for (const [i, r] of this.rowCache) this.paintRow(r, this.layers[i]); });
    // New measurements change the latency cells and colours: rows are built again.
    state.on('measurements', () => { this.rowCache.clear(); this.apply(); });
  }

  private row(i: number): HTMLTableRowElement {
    let tr = this.rowCache.get(i);
    if (tr) return tr;
    const l = this.layers[i];
    tr = document.createElement('tr');
    tr.dataset.testid = 'layer-row';
    tr.dataset.layer = l.name;
    tr.dataset.params = String(l.params);
    tr.dataset.sparsity = String(l.sparsity);
    tr.dataset.bits = String(l.bits);
    // The main weight's own sparsity (the layer's counts the bias too): what "prune to 50 %" sets.
    const w = l.weights.find((x) => x.role === 'weight');
    if (w) tr.dataset.weightSparsity = String(w.params ? w.zeros / w.params : 0);
    tr.tabIndex = -1;
    const was = this.state.baseline?.get(l.name);
    if (was) tr.dataset.wasBits = String(was.bits);
    const time = this.state.timeOf(l.name);
    if (time.now) tr.dataset.ms = String(time.now.ms);
    if (time.before) tr.dataset.msBefore = String(time.before.ms);
    this.columns.forEach((c, k) => {
      const td = tr!.insertCell();
      td.textContent = c.text(l);
      // An edited layer shows its value in the file on disk before the current one.
      const before = was && beforeText(c.key, was);
      if (before !== undefined && before !== td.textContent) {
        td.textContent = `${before} → ${td.textContent}`;
        td.classList.add('changed');
      }
      if (c.key === 'latency' && time.before) td.classList.add('changed');
      if (c.numeric) td.classList.add('num');
      if (k === 1) {
        td.title = l.name;
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        td.prepend(swatch);
        const blocker = this.state.exportBlockers.get(l.name);
        if (blocker) {
          const mark = document.createElement('span');
          mark.className = 'export-blocked';
          mark.textContent = '⚠';
          mark.title = `not exportable to TFLite: ${blocker}`;
          mark.setAttribute('aria-label', mark.title);
          td.append(mark);
        }
      }
    });
    tr.addEventListener('mousemove', (e) => showLayerTooltip(l, e.clientX, e.clientY, this.state));
    tr.addEventListener('mouseleave', () => hideTooltip());
    // The webview context menu (package.json "webview/context") shows the layer actions on rows.
    tr.dataset.vscodeContext = LAYER_CONTEXT;
    tr.addEventListener('click', (e) => {
      const pos = this.order.indexOf(i);
      if (e.shiftKey && this.anchor >= 0) {
        // A range in display order, from the last plain or ctrl-clicked row.
        const [a, b] = [Math.min(this.anchor, pos), Math.max(this.anchor, pos)];
        this.state.select(this.order.slice(a, b + 1).map((k) => this.layers[k].name), e.ctrlKey || e.metaKey ? 'add' : 'replace');
      } else {
        this.anchor = pos;
        this.state.select([l.name], e.ctrlKey || e.metaKey ? 'toggle' : 'replace');
      }
      this.cursor = pos;
      this.focusCursor();
    });
    // Right-clicking outside the selection selects that row first, as lists do, so that the menu acts on it.
    tr.addEventListener('contextmenu', () => {
      if (!this.state.selected.has(l.name)) { this.anchor = this.order.indexOf(i); this.state.select([l.name]); }
    });
    this.paintRow(tr, l);
    this.rowCache.set(i, tr);
    return tr;
  }

  private paintRow(tr: HTMLTableRowElement, l: LayerStats): void {
    const by = this.state.colorBy;
    const c = layerColor(l, by, this.state.measuredValue(by, [l.name]));
    tr.dataset.color = c;
    (tr.querySelector('.swatch') as HTMLElement).style.background = c;
    tr.setAttribute('aria-selected', String(this.state.selected.has(l.name)));
  }

  private sortBy(key: string): void {
    this.descending = this.sortKey === key ? !this.descending : this.columns.find((c) => c.key === key)!.numeric && key !== 'index';
    this.sortKey = key;
    this.apply();
  }

  /** Recomputes the display order (sort + filter) and redraws the window. */
  private apply(): void {
    const col = this.columns.find((c) => c.key === this.sortKey)!;
    const dir = this.descending ? -1 : 1;
    const f = this.filter;
    const keep = (l: LayerStats) => f === '' || l.name.toLowerCase().includes(f) || l.op.toLowerCase().includes(f);
    this.order = this.layers.map((_, i) => i).filter((i) => keep(this.layers[i])).sort((a, b) => {
      const va = col.value(this.layers[a]), vb = col.value(this.layers[b]);
      const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      return dir * cmp || this.layers[a].index - this.layers[b].index;
    });
    for (const [key, th] of this.headers) th.setAttribute('aria-sort', key === this.sortKey ? (this.descending ? 'descending' : 'ascending') : 'none');
    this.cursor = Math.min(this.cursor, Math.max(0, this.order.length - 1));
    this.count.textContent = `${this.order.length} of ${this.layers.length} layers`;
    this.windowStart = this.windowEnd = -1;
    this.renderWindow();
  }

  private scheduleWindow(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => { this.frameRequested = false; this.renderWindow(); });
  }

  private renderWindow(): void {
    const n = this.order.length;
    const visible = Math.ceil((this.scroller.clientHeight || 600) / ROW_HEIGHT);
    let start = 0, end = n;
    if (n > MIN_RENDERED) {
      start = Math.max(0, Math.floor(this.scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
      end = Math.min(n, start + visible + 2 * OVERSCAN);
    }
    if (start === this.windowStart && end === this.windowEnd) return;
    this.windowStart = start;
    this.windowEnd = end;
    const spacer = (rows: number) => {
      const tr = document.createElement('tr');
      tr.className = 'spacer';
      tr.style.height = `${rows * ROW_HEIGHT}px`;
      return tr;
    };
    const rows = this.order.slice(start, end).map((i) => this.row(i));
    for (const r of rows) r.tabIndex = -1;
    const cursorRow = this.order[this.cursor] !== undefined ? this.rowCache.get(this.order[this.cursor]) : undefined;
    (cursorRow && rows.includes(cursorRow) ? cursorRow : rows[0])?.setAttribute('tabindex', '0');
    this.tbody.replaceChildren(...(start ? [spacer(start)] : []), ...rows, ...(end < n ? [spacer(n - end)] : []));
  }

  /** Scrolls the table (only the table) so that display position `pos` is visible. */
  private reveal(pos: number): void {
    const top = pos * ROW_HEIGHT;
    const header = (this.tbody.previousElementSibling as HTMLElement | null)?.offsetHeight ?? ROW_HEIGHT;
    const view = this.scroller.clientHeight - header;
    if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_HEIGHT > this.scroller.scrollTop + view) this.scroller.scrollTop = top + ROW_HEIGHT - view;
    this.renderWindow();
  }

  private focusCursor(): void {
    this.reveal(this.cursor);
    const tr = this.row(this.order[this.cursor]);
    for (const r of this.tbody.rows) r.tabIndex = -1;
    tr.tabIndex = 0;
    tr.focus({ preventScroll: true });
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.order.length) return;
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -this.order.length, End: this.order.length };
    if (e.key in moves) {
      this.cursor = Math.min(this.order.length - 1, Math.max(0, this.cursor + moves[e.key]));
      this.focusCursor();
      const layer = this.layers[this.order[this.cursor]];
      const r = this.row(this.order[this.cursor]).getBoundingClientRect();
      showLayerTooltip(layer, r.left + 40, r.bottom, this.state);
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.state.select([this.layers[this.order[this.cursor]].name], e.ctrlKey || e.metaKey || e.shiftKey ? 'toggle' : 'replace');
    } else if (e.key === 'Escape') {
      this.state.select([]);
      hideTooltip();
    } else if (e.key.toLowerCase() === 'a' && (e.ctrlKey || e.metaKey)) {
      // Every visible (filtered) row.
      this.state.select(this.order.map((k) => this.layers[k].name));
    } else return;
    e.preventDefault();
  }

  private updateSelection(): void {
    const sel = this.state.selected;
    for (const [i, r] of this.rowCache) r.setAttribute('aria-selected', String(sel.has(this.layers[i].name)));
    // Bring a selection made in another view into the table's view, without moving focus or the page.
    if (this.tbody.contains(document.activeElement)) return;
    const pos = this.order.findIndex((i) => sel.has(this.layers[i].name));
    if (pos >= 0) this.reveal(pos);
  }
}
