/**
 * ONNX Lens editor webview: entry point. Talks to the extension host only through src/protocol.ts.
 *
 * Testability contract (kept stable for the e2e suite in test/e2e):
 * - `#app[data-ready="true"]` once the analysed model is rendered (a graph-only preview may come first); `[data-testid="status"]` shows progress or errors,
 *   `[data-testid="analyse-large"]` is the "Analyse anyway" button for models above the size setting.
 * - Header values: `[data-testid="summary-params"|"summary-size"|"summary-macs"|"summary-sparsity"|"summary-bits"|"summary-compression"]`
 *   (text as displayed; the exact number, or the bits mix as JSON, in `data-value`); `summary-macs` has
 *   `data-partial="true"` when some layers' MACs are unknown (symbolic input dims); `[data-testid="set-input-shape"]`
 *   asks the host for concrete input shapes.
 * - Chart bars: `[data-testid="layer-bar"][data-layer="<name>"]` with `data-params`, `data-sparsity`, `data-bits`,
 *   `data-color` and `aria-selected`. Chart container `[data-testid="layer-chart"]` (focusable; arrows move, Enter selects).
 *   Controls: `select[data-testid="chart-height"]` (params|size), `select[data-testid="chart-sort"]` (order|size|sparsity).
 * - Colour switch: `select[data-testid="color-by"]` with values `sparsity` | `bits` | `sensitivity` | `latency`; legend
 *   `[data-testid="legend"]`; a measured metric without data shows `[data-testid="measure-hint"]` (what to run; latency:
 *   the button `[data-testid="measure-latency"]`), one measured on the file before the edits `[data-testid="measure-before"]`.
 * - Measurements: rows carry `data-ms` (the shown model's ms per run) and `data-ms-before` (the file on disk's or the
 *   baseline's), the latency cell "before → after"; header `[data-testid="summary-top1"|"summary-top1-delta"|
 *   "summary-latency"|"summary-size-ratio"]` (last benchmark, `data-value`) and `[data-testid="fit-badge"]`
 *   (`data-fits` true|false|unknown, `data-device`).
 * - Table rows: `[data-testid="layer-row"][data-layer="<name>"]` with the same data-* attributes and `aria-selected`;
 *   filter `[data-testid="table-filter"] input`; sort buttons `[data-testid="sort-<column>"]`; `[data-testid="table-count"]`.
 * - Graph: canvas `[data-testid="graph"]`; search `[data-testid="graph-search"] input`, `[data-testid="graph-collapse"]`,
 *   `[data-testid="graph-fit"]`.
 * - Histogram: `[data-testid="histogram"]` (`data-layer`, `data-ready="true"` when drawn), zero bar
 *   `[data-testid="histogram-zero"]` (`data-count`), log switch `[data-testid="histogram-log"]`.
 * - Editing: toolbar buttons `[data-testid="action-quantize"|"action-prune"|"action-keep-float"|"action-more"]`; while an edit
 *   runs, `[data-testid="busy"]`; `#app[data-edits]` = edits in the shown model. Edited layers: rows carry `data-was-bits`,
 *   changed cells have class `changed` ("32 → 8"), the chart draws `[data-testid="layer-bar-before"]` outlines. Rows carry
 *   `data-weight-sparsity` (the main weight's own sparsity) and `data-vscode-context` (the webview/context menu).
 * - Compare mode (`#app[data-mode="compare"]`): header `[data-testid="compare-params"|"compare-size"|"compare-sparsity"|"compare-bits"]`
 *   (`data-a`, `data-b` as JSON), `[data-testid="compare-ratio"|"compare-params-ratio"|"compare-macs-ratio"]` (`data-value` = B/A);
 *   `[data-testid="compare-measure"]` ("Measure on data…"), then `[data-testid="compare-agreement"|"compare-max-diff"]` (`data-value`)
 *   or `[data-testid="compare-fidelity-status"]`; rows `[data-testid="compare-row"][data-layer]` with `data-change`
 *   (same|changed|added|removed), `data-bits-a`/`-b`, `data-params-a`/`-b`, `data-sparsity-a`/`-b`, `data-bytes-a`/`-b`;
 *   sort buttons `[data-testid="compare-sort-<column>"]`, `[data-testid="compare-changed-only"]`, `[data-testid="compare-count"]`.
 * - Report mode (`#app[data-mode="report"]`, `data-group` = the shown group's baseline path): `select[data-testid="report-group"]`
 *   (with several baselines), `[data-testid="report-empty"]` when nothing was benchmarked; plots `[data-testid="report-plot-size"|"report-plot-latency"]`
 *   with markers `[data-testid="report-point"]` and rows `[data-testid="report-row"]`, both with `data-model`, `data-top1`, `data-bytes`,
 *   `data-latency`, `data-stale`, `data-baseline`; markers `data-front`, rows `data-front-size`/`-latency`; the front's step line
 *   `[data-testid="report-front-line"]`; sort buttons `[data-testid="report-sort-<column>"]`. Click or Enter opens the model.
 * - Tooltip: `[data-testid="tooltip"]` (`data-layer` = the hovered layer, hidden attribute when not shown).
 * - `window.__onnxLens`: `selected()` → selected layer names; `graphNodeAt(name)` → {clientX, clientY, x, y, collapsed, selected}
 *   (client coords in this frame, x/y relative to the canvas; scrolls the node into view) or null;
 *   `select(names)`; `setGraphView(x, y, k)`; `graphStats()` → {nodes, visualNodes, layoutMs, runs};
 *   `framesDrawn` → number of times the graph canvas was actually redrawn; `hostTimings` → the host's step times.
 * - Performance marks: `script-start`, `graph-received` (structure, before the layer analysis), `model-message` (before
 *   validation), `model-received`, `model-rendered`, `chart-first-paint`, `graph-first-paint` (after the frame is
 *   painted; the graph may first appear uncoloured, before the analysis), `graph-analysed-paint`; measures
 *   `render-preview`, `render-chart`, `render-table`, `render-graph`.
 */
import {
  formatBytes, isHistogramData, isToWebview, PROTOCOL_VERSION, RpcEndpoint, unpackEnvelope,
  type CompactGraph, type EditorAction, type FromWebview, type Measurements, type ReadyResponse, type ToWebview,
} from '../src/protocol';
import { afterPaint } from './afterPaint';
import { legend, resetPalette } from './colors';
import { MEASURED_METRICS, ViewState, type ColorBy } from './state';
import { button, select as selectControl } from './ui/toolkit';
import { hideTooltip } from './ui/tooltip';
import { CompareView } from './views/compareTable';
import { GraphView } from './views/graph';
import { HISTOGRAM_BINS, HistogramView } from './views/histogram';
import { LayerChart } from './views/layerChart';
import { LayerTable } from './views/layerTable';
import { ReportView } from './views/report';
import { renderMeasuredSummary, renderSummary } from './views/summary';

interface TestHooks {
  selected(): string[];
  select(names: string[]): void;
  graphNodeAt(name: string): ReturnType<GraphView['nodeAt']>;
  setGraphView(x: number, y: number, k: number): void;
  graphStats(): ReturnType<GraphView['stats']> | null;
  readonly framesDrawn: number;
  /** epoch milliseconds of the host's steps for the shown model (see ToWebview 'model') */
  hostTimings?: Record<string, number>;
}

declare global { interface Window { __onnxLens?: TestHooks } }

performance.mark('script-start');
const vscode = acquireVsCodeApi<{ colorBy?: ColorBy }>();
const app = document.getElementById('app')!;
let graphView: GraphView | undefined;
/** the graph preview shown while the layers were analysed, and the graph it shows */
let preview: { graph: CompactGraph; view: GraphView } | undefined;
let viewState: ViewState | undefined;
/** the "Compare With…" view, when this webview shows two models */
let compareView: CompareView | undefined;
/** the host's latest measurements of the model (they may arrive before or after the model they belong to) */
let measurements: Measurements | undefined;
/** the benchmark report, when this webview shows it */
let reportView: ReportView | undefined;

const rpc = new RpcEndpoint<FromWebview, ToWebview>((m) => vscode.postMessage(m), isToWebview, {
  handleEvent: onHostMessage,
  onInvalid: (m) => console.warn('ONNX Lens: ignored a malformed message', m),
});
window.addEventListener('message', (e) => {
  // Validation of a large model message takes time of its own: mark its arrival before it.
  if (e.data?.body?.type === 'model') performance.mark('model-message');
  void rpc.receive(unpackEnvelope(e.data));
});

window.__onnxLens = {
  selected: () => [...(viewState?.selected ?? [])],
  select: (names) => viewState?.select(names),
  graphNodeAt: (name) => graphView?.nodeAt(name) ?? null,
  setGraphView: (x, y, k) => graphView?.setView(x, y, k),
  graphStats: () => graphView?.stats() ?? null,
  get framesDrawn() { return graphView?.framesDrawn ?? 0; },
};

rpc.request({ type: 'ready', protocolVersion: PROTOCOL_VERSION }, (v): v is ReadyResponse => typeof (v as ReadyResponse)?.protocolVersion === 'number')
  .then((r) => { if (r.protocolVersion !== PROTOCOL_VERSION) showStatus(`The extension speaks protocol ${r.protocolVersion}, this view ${PROTOCOL_VERSION}: reload the window.`, true); })
  .catch((e: Error) => showStatus(e.message, true));

function showStatus(text: string, error = false): void {
  const p = document.createElement('p');
  p.className = error ? 'status error' : 'status';
  p.dataset.testid = 'status';
  p.setAttribute('role', error ? 'alert' : 'status');
  p.textContent = text;
  app.dataset.ready = 'false';
  app.replaceChildren(p);
}

function onHostMessage(m: ToWebview): void {
  switch (m.type) {
    case 'status': {
      // While the graph preview is up, only its status line changes.
      const line = app.querySelector<HTMLElement>('.preview [data-testid="status"]');
      if (line) line.textContent = m.message;
      else showStatus(m.message);
      return;
    }
    case 'graph':
      performance.mark('graph-received');
      return renderPreview(m.graph, m.fileName);
    case 'failed': return showStatus(`Cannot show this model: ${m.message}`, true);
    case 'confirmLarge': {
      showStatus(`This model is ${formatBytes(m.bytes)}, above the onnxLens.largeModelThresholdMB setting (${m.thresholdMB} MB). Analysing it may take a while.`);
      app.append(button('Analyse anyway', 'analyse-large', () => { showStatus('Starting…'); rpc.notify({ type: 'analyseLarge' }); }, 'primary'));
      return;
    }
    case 'busy': return showBusy(m.message);
    case 'showHistogram': {
      if (viewState && !viewState.selected.has(m.layer)) viewState.select([m.layer]);
      app.querySelector<HTMLElement>('[data-testid="histogram"]')?.scrollIntoView({ block: 'nearest' });
      return;
    }
    case 'compare':
      hideTooltip();
      app.replaceChildren();
      app.dataset.mode = 'compare';
      compareView = new CompareView(app, m, () => rpc.notify({ type: 'measureFidelity' }));
      app.dataset.ready = 'true';
      return;
    case 'fidelity': return compareView?.setFidelity(m);
    case 'measurements':
      measurements = m.measurements;
      if (viewState && !viewState.preview) viewState.setMeasurements(m.measurements);
      return;
    case 'report':
      if (!reportView) {
        app.dataset.mode = 'report';
        reportView = new ReportView(app, (model) => rpc.notify({ type: 'openModel', model }));
      }
      reportView.show(m);
      app.dataset.ready = 'true';
      return;
    case 'model':
      performance.mark('model-received');
      if (window.__onnxLens) window.__onnxLens.hostTimings = m.timings;
      return render(m);
  }
}

/** The analysed graph has the preview's nodes and edges (only the layer links are new) unless the file changed. */
function sameStructure(a: CompactGraph, b: CompactGraph): boolean {
  return a.names.length === b.names.length && a.edges.length === b.edges.length &&
    a.names.every((n, i) => n === b.names[i] && a.ops[i] === b.ops[i]) && a.edges.every((e, i) => e === b.edges[i]);
}

/** Runs `fn` under a performance measure named `name` (read by bench/editorPaint.mjs). */
function timed<T>(name: string, fn: () => T): T {
  const start = performance.now();
  try {
    return fn();
  } finally {
    performance.measure(name, { start });
  }
}

/** Two columns filling the editor: chart over table on the left, graph over histogram on the right. */
function columns(): [HTMLElement, HTMLElement] {
  const main = document.createElement('div');
  main.className = 'main';
  const left = document.createElement('div');
  left.className = 'column';
  const right = document.createElement('div');
  right.className = 'column';
  main.append(left, right);
  app.append(main);
  return [left, right];
}

/** The graph's structure while the layers are still being analysed (large models take a while). */
function renderPreview(graph: CompactGraph, fileName: string): void {
  hideTooltip();
  graphView?.dispose();
  app.replaceChildren();
  app.dataset.ready = 'false';
  const header = document.createElement('header');
  header.className = 'summary preview';
  const title = document.createElement('h1');
  title.textContent = fileName;
  const status = document.createElement('p');
  status.className = 'status';
  status.dataset.testid = 'status';
  status.setAttribute('role', 'status');
  status.textContent = 'Analysing layers…';
  header.append(title, status);
  app.append(header);
  const [, right] = columns();
  const state = new ViewState([], graph, fileName, true);
  viewState = state;
  graphView = timed('render-preview', () => new GraphView(right, state));
  preview = { graph, view: graphView };
}

/** A line above the views while an edit runs (the views stay usable; the host shows the cancellable progress). */
function showBusy(message: string | undefined): void {
  let banner = app.querySelector<HTMLElement>('[data-testid="busy"]');
  if (!message) { banner?.remove(); app.dataset.busy = 'false'; return; }
  if (!banner) {
    banner = document.createElement('p');
    banner.className = 'busy';
    banner.dataset.testid = 'busy';
    banner.setAttribute('role', 'status');
    app.prepend(banner);
  }
  banner.textContent = message;
  app.dataset.busy = 'true';
}

function runAction(action: EditorAction): void {
  rpc.notify({ type: 'action', action });
}

/** Toolbar buttons for the actions on the selection, enabled while layers are selected. */
function editButtons(state: ViewState): HTMLElement {
  const box = document.createElement('div');
  box.className = 'edit-actions';
  const onSelection: HTMLElement[] = [
    button('Quantize…', 'action-quantize', () => runAction('quantizeSelected')),
    button('Prune…', 'action-prune', () => runAction('pruneSelected')),
    button('Keep in float', 'action-keep-float', () => runAction('keepFloat')),
  ];
  const update = () => { for (const b of onSelection) b.toggleAttribute('disabled', state.selected.size === 0); };
  state.on('selection', update);
  update();
  box.append(...onSelection, button('Actions… (Ctrl+.)', 'action-more', () => runAction('quickActions')));
  return box;
}

/** The selection as the host should see it: exact layer names, in graph order. */
function reportSelection(state: ViewState): void {
  rpc.notify({ type: 'selection', layers: state.layers.filter((l) => state.selected.has(l.name)).map((l) => l.name) });
}

// Ctrl+. anywhere in the editor: the actions on the selection in a quick pick, as code actions do in text.
window.addEventListener('keydown', (e) => {
  if (e.key === '.' && (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey) {
    e.preventDefault();
    runAction('quickActions');
  }
});

/**
 * For a measured colour metric: what to run when this model has no data for it, or that the colours are the file on
 * disk's (an edited document measured before its edits).
 */
function measureNote(state: ViewState): HTMLElement | undefined {
  const by = state.colorBy;
  if (!MEASURED_METRICS.includes(by)) return undefined;
  const note = document.createElement('span');
  note.className = 'measure-hint';
  note.dataset.testid = 'measure-hint';
  if (!state.hasData(by)) {
    if (by === 'latency') {
      note.append('No latency measured for this model: run ', button('Profile Layer Latency', 'measure-latency', () => runAction('profileLatency')));
    } else {
      note.textContent = 'No sensitivity measured for this model: run an onnx-lens task with "command": "sensitivity" '
        + '(Tasks: Run Task, or tasks.json: { "type": "onnx-lens", "command": "sensitivity", "model": …, "data": …, "calib": … })';
    }
    return note;
  }
  const before = by === 'sensitivity' ? state.measurements.sensitivity?.before : state.latencyFromBefore;
  if (!before) return undefined;
  note.dataset.testid = 'measure-before';
  note.textContent = by === 'latency' ? 'measured on the file on disk, before the edits: Profile Layer Latency measures the edited model' : 'measured on the file on disk, before the edits';
  return note;
}

function render(m: Extract<ToWebview, { type: 'model' }>): void {
  const { report, graph, fileName } = m;
  // The selection survives the re-render after an edit (layers keep their names when QDQ nodes are added).
  const previous = m.selection ?? (viewState && !viewState.preview ? [...viewState.selected] : []);
  hideTooltip();
  graphView?.dispose();
  app.replaceChildren();
  app.dataset.ready = 'false';
  app.dataset.edits = String(m.edits ?? 0);
  const state = new ViewState(report.layers, graph, fileName);
  viewState = state;
  if (m.baseline) state.baseline = new Map(Object.entries(m.baseline));
  state.setColorBy(vscode.getState()?.colorBy ?? 'sparsity');
  state.select(previous.filter((n) => state.layerByName.has(n)));
  state.on('selection', () => reportSelection(state));
  reportSelection(state);

  if (measurements) state.setMeasurements(measurements);
  const header = renderSummary(app, report.model, {
    fileName, inputShapes: m.inputShapes ?? {}, compression: m.compression, onSetInputShapes: () => rpc.notify({ type: 'setInputShapes' }),
  });
  const measuredBox = document.createElement('div');
  measuredBox.className = 'measured';
  measuredBox.dataset.testid = 'summary-measured';
  header.append(measuredBox);
  renderMeasuredSummary(measuredBox, state.measurements);
  const toolbar = document.createElement('div');
  toolbar.className = 'toolbar';
  toolbar.setAttribute('role', 'toolbar');
  const legendBox = document.createElement('div');
  legendBox.className = 'legend';
  legendBox.dataset.testid = 'legend';
  const bitsPresent = [...new Set(report.layers.map((l) => l.bits))].sort((a, b) => b - a);
  const drawLegend = () => {
    const by = state.colorBy;
    const scale = MEASURED_METRICS.includes(by) && state.hasData(by) ? state.measuredValue(by, [])?.full : undefined;
    legendBox.replaceChildren(...legend(by, bitsPresent, scale).map(({ label, color }) => {
      const item = document.createElement('span');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = color;
      item.append(sw, label);
      return item;
    }));
    const note = measureNote(state);
    if (note) legendBox.append(note);
  };
  toolbar.append(
    editButtons(state),
    selectControl<ColorBy>('Colour by', 'color-by', [
      { value: 'sparsity', label: 'sparsity' }, { value: 'bits', label: 'bits' }, { value: 'sensitivity', label: 'sensitivity' }, { value: 'latency', label: 'latency' },
    ], state.colorBy, (v) => {
      state.setColorBy(v);
      vscode.setState({ ...vscode.getState(), colorBy: v });
    }),
    legendBox,
  );
  state.on('colorBy', drawLegend);
  state.on('measurements', () => { drawLegend(); renderMeasuredSummary(measuredBox, state.measurements); });
  drawLegend();
  app.append(toolbar);

  if (report.layers.length === 0) {
    const p = document.createElement('p');
    p.className = 'placeholder';
    p.textContent = 'This model has no layers with weights.';
    app.append(p);
  }
  const [left, right] = columns();
  timed('render-chart', () => new LayerChart(left, state).render());
  afterPaint(() => performance.mark('chart-first-paint'));
  timed('render-table', () => new LayerTable(left, state));
  const reuse = preview && sameStructure(preview.graph, graph) ? preview.view.structure() : undefined;
  preview = undefined;
  graphView = timed('render-graph', () => new GraphView(right, state, reuse));
  new HistogramView(right, state, (layer) => rpc.request({ type: 'histogram', layer, bins: HISTOGRAM_BINS }, isHistogramData));
  app.dataset.ready = 'true';
  performance.mark('model-rendered');
}

// VS Code switches themes by changing the body's classes; re-read the theme colours then. One observer for the
// page: the views shown are replaced whenever the host sends a model again.
new MutationObserver(() => {
  resetPalette();
  graphView?.readTheme();
  viewState?.recolor();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });
