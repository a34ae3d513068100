// A sortable, keyboard-navigable table (role grid): one sort button per column header (`<prefix>-sort-<key>`; a
// second click reverses; numeric columns start descending), rows in a roving tab order, arrow keys / PageUp /
// PageDown / Home / End move between rows, Escape hides the tooltip. Used by the compare and report views.
import { hideTooltip } from './tooltip';

export interface SortColumn<R> {
  key: string;
  label: string;
  numeric: boolean;
  /** the sort key of a row; `index` is the row's position in the data */
  sortValue: (row: R, index: number) => number | string;
}

export class SortableTable<R> {
  readonly table: HTMLTableElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly headers = new Map<string, HTMLTableCellElement>();
  private rows: HTMLTableRowElement[] = [];
  private descending = false;
  private filter: (row: R, index: number) => boolean = () => true;
  /** row indices in display order */
  private order: number[] = [];

  /**
   * `unsorted`: the key whose ascending order is the data's own (it starts ascending); `onApply` runs after each
   * re-order with the rows shown; `onEnter` gets Enter on a focused row.
   */
  constructor(private readonly columns: SortColumn<R>[], private readonly data: readonly R[], private sortKey: string, private readonly opts: {
    testId: string; sortPrefix: string; unsorted?: string; onApply?: (shown: number) => void; onEnter?: (row: R, index: number) => void;
  }) {
    this.table = document.createElement('table');
    this.table.dataset.testid = opts.testId;
    this.table.setAttribute('role', 'grid');
    this.table.setAttribute('aria-rowcount', String(data.length + 1));
    const headRow = this.table.createTHead().insertRow();
    for (const c of columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      if (c.numeric) th.className = 'num';
      const b = document.createElement('button');
      b.className = 'sort';
      b.textContent = c.label;
      b.dataset.testid = `${opts.sortPrefix}-sort-${c.key}`;
      b.addEventListener('click', () => this.sortBy(c.key));
      th.append(b);
      headRow.append(th);
      this.headers.set(c.key, th);
    }
    this.tbody = this.table.createTBody();
    this.tbody.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** The row elements, one per data row in data order (made by the view, which knows its cells). */
  setRows(rows: HTMLTableRowElement[]): void {
    this.rows = rows;
    for (const tr of rows) {
      tr.tabIndex = -1;
      tr.addEventListener('focus', () => this.rove(tr));
    }
    this.apply();
  }

  /** Shows only the rows passing `filter`. */
  setFilter(filter: (row: R, index: number) => boolean): void {
    this.filter = filter;
    this.apply();
  }

  sortBy(key: string): void {
    this.descending = this.sortKey === key ? !this.descending : this.columns.find((c) => c.key === key)!.numeric && key !== this.opts.unsorted;
    this.sortKey = key;
    this.apply();
  }

  focusRow(tr: HTMLTableRowElement): void {
    this.rove(tr);
    tr.focus();
  }

  private rove(tr: HTMLTableRowElement): void {
    for (const r of this.rows) r.tabIndex = -1;
    tr.tabIndex = 0;
  }

  private apply(): void {
    const col = this.columns.find((c) => c.key === this.sortKey)!;
    const dir = this.descending ? -1 : 1;
    this.order = this.data.map((_, i) => i).filter((i) => this.filter(this.data[i], i)).sort((x, y) => {
      const vx = col.sortValue(this.data[x], x), vy = col.sortValue(this.data[y], y);
      const cmp = typeof vx === 'number' && typeof vy === 'number' ? vx - vy : String(vx).localeCompare(String(vy));
      return dir * cmp || x - y;
    });
    for (const [key, th] of this.headers) th.setAttribute('aria-sort', key === this.sortKey ? (this.descending ? 'descending' : 'ascending') : 'none');
    const shown = this.order.map((i) => this.rows[i]);
    for (const r of this.rows) r.tabIndex = -1;
    if (shown[0]) shown[0].tabIndex = 0;
    this.tbody.replaceChildren(...shown);
    this.opts.onApply?.(shown.length);
  }

  private onKey(e: KeyboardEvent): void {
    const shown = this.order.map((i) => this.rows[i]);
    if (!shown.length) return;
    const at = Math.max(0, shown.indexOf(document.activeElement as HTMLTableRowElement));
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -shown.length, End: shown.length };
    if (e.key in moves) this.focusRow(shown[Math.min(shown.length - 1, Math.max(0, at + moves[e.key]))]);
    else if (e.key === 'Escape') hideTooltip();
    else if (e.key === 'Enter' && this.opts.onEnter && shown.includes(document.activeElement as HTMLTableRowElement)) this.opts.onEnter(this.data[this.order[at]], this.order[at]);
    else return;
    e.preventDefault();
  }
}
