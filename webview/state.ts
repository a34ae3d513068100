// The webview's shared state: the analysed model, the selected layers, the measurements of the model, and the
// display choices every view follows (colour metric). Views subscribe; a change made in one view is shown by all.
import type { LayerStats } from '../src/core/analysis/report';
import type { CompactGraph, LayerBaseline, LayerSensitivityMark, LayerTimeMark, Measurements } from '../src/protocol';

export type ColorBy = 'sparsity' | 'bits' | 'sensitivity' | 'latency';

/** The colour metrics that come from measurements (sensitivity, profile), not from the model's weights. */
export const MEASURED_METRICS: readonly ColorBy[] = ['sensitivity', 'latency'];

/**
 * A layer's (or group's) value on a measured metric and the end of that metric's scale: the top-1 drop in pp against
 * the accuracy budget, or milliseconds against the slowest layer. `value` undefined: not measured.
 */
export interface Measured { value?: number; full: number }

/** How much a layer quantized alone costs, in pp: the top-1 drop, or without labels the disagreement with the original. */
export function sensitivityDrop(m: LayerSensitivityMark): number {
  return Math.max(0, m.deltaTop1 !== null ? -m.deltaTop1 : (1 - m.agreement) * 100);
}

type Listener = () => void;

export class ViewState {
  readonly layerByName: Map<string, LayerStats>;
  /** node name → op, for the nodes the TFLite exporter has no conversion for (marked on the layers and in the graph) */
  readonly exportBlockers: ReadonlyMap<string, string>;
  /** each layer as in the file on disk, once the document is edited (views show before → after) */
  baseline?: ReadonlyMap<string, LayerBaseline>;
  private selectedNames = new Set<string>();
  private colorMetric: ColorBy = 'sparsity';
  private readonly listeners = { selection: new Set<Listener>(), colorBy: new Set<Listener>(), measurements: new Set<Listener>() };
  private measured: Measurements = { budget: 1 };
  /** the slowest layer's ms in the profile the colours use: the top of the latency scale */
  private slowestMs = 0;

  /** `preview`: the model is still being analysed, `layers` is empty and only the graph is shown. */
  constructor(readonly layers: readonly LayerStats[], readonly graph: CompactGraph, readonly fileName: string, readonly preview = false) {
    this.layerByName = new Map(layers.map((l) => [l.name, l]));
    this.exportBlockers = new Map((graph.unexportable ?? []).map((id) => [graph.names[id], graph.ops[id]]));
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

  get measurements(): Measurements {
    return this.measured;
  }

  setMeasurements(m: Measurements): void {
    this.measured = m;
    const profile = m.latency ?? m.latencyBefore;
    this.slowestMs = 0;
    for (const t of Object.values(profile?.layers ?? {})) this.slowestMs = Math.max(this.slowestMs, t.ms);
    this.emit('measurements');
  }

  /** Latency colours come from the "before" profile: the shown model has none of its own (an edited document). */
  get latencyFromBefore(): boolean {
    return !this.measured.latency && this.measured.latencyBefore !== undefined;
  }

  /** A layer's time now and, when there is a profile of the file on disk or of the baseline, before. */
  timeOf(name: string): { now?: LayerTimeMark; before?: LayerTimeMark } {
    return { now: this.measured.latency?.layers[name], before: this.measured.latencyBefore?.layers[name] };
  }

  /** Whether the chosen measured metric has any data for this model. */
  hasData(by: ColorBy): boolean {
    if (by === 'sensitivity') return this.measured.sensitivity !== undefined;
    if (by === 'latency') return (this.measured.latency ?? this.measured.latencyBefore) !== undefined;
    return true;
  }

  /**
   * `names` (one layer, or the nodes of a collapsed group) on the measured metric `by`: the largest drop of a group,
   * or its summed time. Latency falls back to the "before" profile when the shown model has none (an edited document).
   */
  measuredValue(by: ColorBy, names: readonly string[]): Measured | undefined {
    const m = this.measured;
    if (by === 'sensitivity') {
      const marks = names.map((n) => m.sensitivity?.layers[n]).filter((x) => x !== undefined);
      return { value: marks.length ? Math.max(...marks.map(sensitivityDrop)) : undefined, full: Math.max(m.budget, 1e-9) };
    }
    if (by === 'latency') {
      const profile = m.latency ?? m.latencyBefore;
      if (!profile) return { full: 1 };
      const times = names.map((n) => profile.layers[n]).filter((x) => x !== undefined);
      return { value: times.length ? times.reduce((a, t) => a + t.ms, 0) : undefined, full: this.slowestMs || 1 };
    }
    return undefined;
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
