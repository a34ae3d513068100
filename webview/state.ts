// The webview's shared state: the analysed model, the selected layers, and the display choices every view
// follows (colour metric). Views subscribe; a change made in one view is shown by all.
import type { LayerStats } from '../src/core/analysis/report';
import type { CompactGraph, LayerBaseline } from '../src/protocol';

export type ColorBy = 'sparsity' | 'bits';

type Listener = () => void;

export class ViewState {
  readonly layerByName: Map<string, LayerStats>;
  /** each layer as in the file on disk, once the document is edited (views show before → after) */
  baseline?: ReadonlyMap<string, LayerBaseline>;
  private selectedNames = new Set<string>();
  private colorMetric: ColorBy = 'sparsity';
  private readonly listeners = { selection: new Set<Listener>(), colorBy: new Set<Listener>() };

  /** `preview`: the model is still being analysed, `layers` is empty and only the graph is shown. */
  constructor(readonly layers: readonly LayerStats[], readonly graph: CompactGraph, readonly fileName: string, readonly preview = false) {
    this.layerByName = new Map(layers.map((l) => [l.name, l]));
  }

  get selected(): ReadonlySet<string> {
    return this.selectedNames;
  }

  get colorBy(): ColorBy {
    return this.colorMetric;
  }

  /** `replace` makes `names` the selection, `toggle` flips each, `add` extends it. */
  select(names: Iterable<string>, mode: 'replace' | 'toggle' | 'add' = 'replace'): void {
    const next = mode === 'replace' ? new Set<string>() : new Set(this.selectedNames);
    for (const n of names) {
      if (mode === 'toggle' && next.has(n)) next.delete(n);
      else next.add(n);
    }
    if (next.size === this.selectedNames.size && [...next].every((n) => this.selectedNames.has(n))) return;
    this.selectedNames = next;
    this.emit('selection');
  }

  setColorBy(c: ColorBy): void {
    if (c === this.colorMetric) return;
    this.colorMetric = c;
    this.emit('colorBy');
  }

  /** Tells every view to recolour (the theme changed). */
  recolor(): void {
    this.emit('colorBy');
  }

  on(event: keyof ViewState['listeners'], fn: Listener): void {
    this.listeners[event].add(fn);
  }

  private emit(event: keyof ViewState['listeners']): void {
    for (const fn of this.listeners[event]) fn();
  }
}
