// The one message protocol between the extension host and the editor webview (and the analysis worker):
// discriminated unions each way, a request/response envelope with ids, a protocol version checked in the
// ready handshake, and a small validator so that neither side acts on a malformed message.
import type { LayerDiff, ModelTotals, ReportComparison } from './core/analysis/compare';
import type { LayerStats, ModelReport, ModelSummary, QuantScheme, TensorSignature } from './core/analysis/report';
import type { OutputComparison } from './core/eval/compareModels';

export const PROTOCOL_VERSION = 1;

/**
 * The model's top-level graph, reduced to what the graph view draws (struct of arrays, so that a
 * 10,000-node graph stays a few hundred kilobytes). Constant nodes are left out: they are weights.
 */
export interface CompactGraph {
  /** display name per node (node name, or `op:firstOutput`), equal to LayerStats.name for weighted nodes */
  names: string[];
  ops: string[];
  /** index into ModelReport.layers, or -1 for nodes without weights */
  layer: number[];
  /** flat pairs [from, to, from, to, …] of node ids (positions in `names`), producer → consumer */
  edges: number[];
  /** node ids whose op the TFLite exporter has no conversion for (core/tflite/support.ts), once the worker checked */
  unexportable?: number[];
}

/** The document's model against the file it was opened from (without external data, which both share). */
export interface Compression { originalBytes: number; documentBytes: number }

/** A layer as it was in the file the document was opened from: what edited views show as "before". */
export interface LayerBaseline { bits: number; sparsity: number; params: number; weightBytes: number }

/** Actions on the selected layers (or the model) that the webview asks the host to run: toolbar, Ctrl+. */
export const EDITOR_ACTIONS = ['quantizeSelected', 'pruneSelected', 'keepFloat', 'showHistogram', 'quantizeModel', 'pruneModel', 'exportRecipe', 'revertToOriginal', 'quickActions', 'profileLatency'] as const;
export type EditorAction = (typeof EDITOR_ACTIONS)[number];

export interface HistogramData {
  layer: string;
  /** stored element type of the main weight (values are shown dequantized) */
  dtype: string;
  /** bins + 1 ascending bin edges of the real (dequantized) values */
  edges: number[];
  /** non-zero values per bin */
  counts: number[];
  /** elements exactly equal to zero (or to the zero-point of quantized weights), not in `counts` */
  zeros: number;
  /** the layer as opened, when the edits changed it: the histogram overlays this distribution */
  original?: Omit<HistogramData, 'layer' | 'original'>;
}

/** One model of a comparison: its file name and full report (the compare view's tooltips show its layers). */
export interface CompareSide { fileName: string; report: ModelReport }

/** One benchmarked model in the report view: its numbers from `onnx-lens bench --json`. */
export interface ReportPoint {
  /** absolute path of the model file (what "open" opens) */
  model: string;
  /** the path shown, relative to the workspace */
  label: string;
  /** bytes on disk, external data included */
  bytes: number;
  /** null when the evaluation data had no labels (not plotted) */
  top1: number | null;
  latencyP50: number;
  /** top-1 change against the group's baseline in percentage points; absent for the baseline itself */
  deltaTop1?: number | null;
  isBaseline: boolean;
  /** the file changed since it was measured */
  stale: boolean;
  /** when it was measured (ms since the epoch) and on how many samples */
  time: number;
  n: number;
}

/** The variants benchmarked against one baseline (`bench --baseline B`), the baseline included. */
export interface ReportGroup { baseline: string; label: string; points: ReportPoint[] }

/** A layer quantized alone (`onnx-lens sensitivity --json`): percentage points of top-1 (null without labels), agreement, output SQNR (null: identical). */
export interface LayerSensitivityMark { deltaTop1: number | null; agreement: number; sqnrDb: number | null }

/** A layer's time (`onnx-lens profile --json`): milliseconds per run, its share of the run, the layer it was fused into (0 ms). */
export interface LayerTimeMark { ms: number; share: number; fusedInto?: string }

/** One per-layer latency profile; `source`: the file it measured when that is not the shown model (the file on disk, a baseline). */
export interface LatencyMarks { runs: number; totalMs: number; time: number; layers: Record<string, LayerTimeMark>; source?: string }

/** The model's fit on the device of the onnxLens.device setting (core/device/fit.ts, computed by the analysis worker). */
export interface DeviceFitMark {
  device: string;
  title: string;
  fits: boolean | null;
  weightBytes: number;
  flashBytes: number | null;
  arenaBytes: number;
  ramBytes: number;
  reasons: string[];
  estimatedLatencyMs: number | null;
  /** the MAC-rate assumption behind the latency estimate, and the device's caveats */
  latencyBasis: string;
  notes: string[];
}

/**
 * Measurements of the shown model from the results store (and Profile Layer Latency). `before`: measured on the file
 * on disk while the document has edits. Absent parts were never measured (or went stale).
 */
export interface Measurements {
  /** the onnxLens.accuracyBudget setting (pp): where the sensitivity colours turn red */
  budget: number;
  sensitivity?: { mode: string; bits: number; n: number; time: number; before: boolean; layers: Record<string, LayerSensitivityMark> };
  /** the shown model's profile; `latencyBefore`: the file on disk's (edited document) or the benchmark baseline's */
  latency?: LatencyMarks;
  latencyBefore?: LatencyMarks;
  /** the last benchmark (`onnx-lens bench --json`) */
  bench?: { top1: number | null; deltaTop1: number | null; p50: number; sizeRatio: number | null; n: number; time: number; baseline?: string; before: boolean };
  /** the onnxLens.device setting, and the fit (or why it could not be computed) */
  fit?: DeviceFitMark | { device: string; error: string };
}

// ---- messages from the host to the webview ----

export type ToWebview =
  | { type: 'status'; phase: 'reading' | 'analysing'; message: string }
  | { type: 'confirmLarge'; bytes: number; thresholdMB: number }
  /** the graph's structure, sent as soon as the file is parsed (layers not analysed yet: every `layer` is -1) */
  | { type: 'graph'; graph: CompactGraph; fileName: string }
  /**
   * `inputShapes`: the shapes the user gave for inputs with symbolic dims (MACs are counted with them);
   * `compression`: size of the model file on disk and of the document's model (they differ for a restored backup);
   * `timings`: epoch milliseconds of the host's steps for this model (document opened, parsed, analysed, posted)
   */
  /**
   * `baseline`: each layer of the file on disk, present once the document is edited (views show before → after);
   * `edits`: how many edits the shown model carries; `selection`: the layers selected before this model was sent
   * (the host keeps them, so that a selection survives the re-render after an edit)
   */
  | { type: 'model'; report: ModelReport; graph: CompactGraph; fileName: string; inputShapes?: Record<string, number[]>; compression?: Compression; timings?: Record<string, number>; baseline?: Record<string, LayerBaseline>; edits?: number; selection?: string[] }
  | { type: 'failed'; message: string }
  /** an edit is running (`message` set) or finished (no message): the views stay, a banner says so */
  | { type: 'busy'; message?: string }
  /** "Show Histogram": bring the histogram of this layer into view */
  | { type: 'showHistogram'; layer: string }
  /** "Compare With…": the webview shows two models side by side; `comparison` matches their layers by name */
  | { type: 'compare'; a: CompareSide; b: CompareSide; comparison: ReportComparison }
  /** output fidelity (`onnx-lens compare --data`): running (`message`), measured (`outputs`) or failed (`error`) */
  | { type: 'fidelity'; message?: string; outputs?: OutputComparison; error?: string; data?: string }
  /** "Show Benchmark Report": every benchmarked variant, grouped by baseline; `group`: the baseline to show first */
  | { type: 'report'; groups: ReportGroup[]; group?: string }
  /** the editor's measurements of its model, sent after the model and again whenever a result arrives or goes stale */
  | { type: 'measurements'; measurements: Measurements };

/** A report whose layers are packed into columns (see packRows): how the analysis worker hands it over. */
export interface PackedReport { model: ModelSummary; layers: PackedRows }

/** What the host sends: ToWebview, except that a model message's layers may already be packed by the worker. */
export type HostToWebview =
  | Exclude<ToWebview, { type: 'model' } | { type: 'compare' }>
  | (Omit<Extract<ToWebview, { type: 'model' }>, 'report'> & { report: ModelReport | PackedReport })
  | (Omit<Extract<ToWebview, { type: 'compare' }>, 'a' | 'b'> & { a: PackedSide; b: PackedSide });

type PackedSide = Omit<CompareSide, 'report'> & { report: ModelReport | PackedReport };

export interface ReadyResponse { protocolVersion: number }

// ---- messages from the webview to the host ----

export type FromWebview =
  | { type: 'ready'; protocolVersion: number }
  | { type: 'histogram'; layer: string; bins: number }
  | { type: 'analyseLarge' }
  /** the user asks to give concrete input shapes (the host asks for them and analyses again) */
  | { type: 'setInputShapes' }
  /** the selected layers changed: their exact names (node labels), so that commands act on them */
  | { type: 'selection'; layers: string[] }
  /** a toolbar button, or Ctrl+. (`quickActions`): the host runs the action on the reported selection */
  | { type: 'action'; action: EditorAction }
  /** the compare view's "Measure on data…": run both models on evaluation data */
  | { type: 'measureFidelity' }
  /** the report view's click / Enter on a point or row: open that model in the ONNX Lens editor */
  | { type: 'openModel'; model: string };

// ---- the envelope ----

export type Envelope<T> =
  | { kind: 'event'; body: T }
  | { kind: 'request'; id: number; body: T }
  | { kind: 'response'; id: number; body?: unknown; error?: string };

// ---- validation ----

type Check = (v: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString: Check = (v) => typeof v === 'string';
const isNumber: Check = (v) => typeof v === 'number' && !Number.isNaN(v);
const isCount: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const isFraction: Check = (v) => isNumber(v) && (v as number) >= 0 && (v as number) <= 1;
const isBool: Check = (v) => typeof v === 'boolean';
const arrayOf = (item: Check): Check => (v) => Array.isArray(v) && v.every(item);
const optional = (c: Check): Check => (v) => v === undefined || c(v);
const oneOf = (...values: unknown[]): Check => (v) => values.includes(v);
const dim: Check = (v) => isString(v) || isNumber(v);

/**
 * Checks that `v` is an object whose listed fields pass their checks. Other fields are allowed, so that fields
 * added to the report later reach the webview; the `satisfies` below keep the listed names in step with the types.
 */
function shape(fields: Record<string, Check>): Check {
  return (v) => isObject(v) && Object.entries(fields).every(([k, c]) => c(v[k]));
}

const schemes: QuantScheme[] = ['float', 'fp16', 'bf16', 'fp8', 'qdq', 'qoperator', 'dynamic', 'weight-only', 'integer'];

const weightInfo = shape({
  name: isString, shape: arrayOf(isNumber), dtype: isString, role: oneOf('weight', 'bias', 'other'),
  params: isCount, zeros: isCount, bytes: isCount,
});

const layerStats: Check = shape({
  name: isString, op: isString, index: isCount, weights: arrayOf(weightInfo), params: isCount, zeros: isCount,
  sparsity: isFraction, channelSparsity: isFraction, twoFour: isFraction, bits: isCount, dtype: isString,
  scheme: oneOf(...schemes), perChannel: isBool, axis: optional(isNumber), blockSize: optional(isCount),
  saturation: optional(oneOf('none', 'possible', 'measured')),
  macs: isNumber, weightBytes: isCount, inputShape: optional(arrayOf(dim)), outputShape: optional(arrayOf(dim)),
} satisfies Partial<Record<keyof LayerStats, Check>>);

const signature = shape({ name: isString, dtype: isString, shape: arrayOf(dim) });

const modelSummary: Check = shape({
  path: isString, bytes: isCount, opset: isNumber, irVersion: isNumber, producer: isString, nodes: isCount,
  layers: isCount, params: isCount, zeros: isCount, sparsity: isFraction, macs: isNumber, macsUnknownLayers: optional(isCount),
  weightBytes: isCount, bitsMix: (v) => isObject(v) && Object.values(v).every(isCount),
  peakActivationBytes: isNumber, activationsUnknown: optional(isCount), inputs: arrayOf(signature), outputs: arrayOf(signature),
} satisfies Partial<Record<keyof ModelSummary, Check>>);

export const isModelSummary = (v: unknown): v is ModelSummary => modelSummary(v);

export function isCompactGraph(v: unknown): v is CompactGraph {
  if (!shape({ names: arrayOf(isString), ops: arrayOf(isString), layer: arrayOf(Number.isInteger), edges: arrayOf(Number.isInteger) })(v)) return false;
  const g = v as CompactGraph;
  const n = g.names.length;
  return g.ops.length === n && g.layer.length === n && g.edges.length % 2 === 0 && g.edges.every((e) => e >= 0 && e < n) &&
    (g.unexportable === undefined || (Array.isArray(g.unexportable) && g.unexportable.every((id) => Number.isInteger(id) && id >= 0 && id < n)));
}

function isModelReport(v: unknown): v is ModelReport {
  return shape({ model: modelSummary, layers: arrayOf(layerStats) })(v);
}

export function isHistogramData(v: unknown): v is HistogramData {
  if (!shape({ layer: isString, dtype: isString, edges: arrayOf(isNumber), counts: arrayOf(isCount), zeros: isCount })(v)) return false;
  const h = v as HistogramData;
  const o = h.original;
  const originalOk = o === undefined ||
    (shape({ dtype: isString, edges: arrayOf(isNumber), counts: arrayOf(isCount), zeros: isCount })(o) && o.edges.length === o.counts.length + 1);
  return h.edges.length === h.counts.length + 1 && originalOk;
}

const nullable = (c: Check): Check => (v) => v === null || c(v);

const layerSide = shape({ op: isString, params: isCount, sparsity: isFraction, bits: isCount, scheme: isString, weightBytes: isCount });

const modelTotals = shape({
  path: isString, bytes: isCount, params: isCount, sparsity: isFraction, macs: isNumber, bitsMix: (v) => isObject(v) && Object.values(v).every(isCount),
} satisfies Record<keyof ModelTotals, Check>);

const comparison: Check = shape({
  a: modelTotals, b: modelTotals, sizeRatio: isNumber, paramsRatio: isNumber, macsRatio: isNumber,
  layers: arrayOf(shape({ name: isString, a: nullable(layerSide), b: nullable(layerSide), changed: isBool } satisfies Record<keyof LayerDiff, Check>)),
} satisfies Record<keyof ReportComparison, Check>);

const outputComparison = shape({
  n: isCount, agreement: isFraction, maxAbsDiff: isNumber, top1: optional(shape({ a: isFraction, b: isFraction })),
} satisfies Record<keyof OutputComparison, Check>);

const reportPoint = shape({
  model: isString, label: isString, bytes: isCount, top1: nullable(isFraction), latencyP50: isNumber, deltaTop1: optional(nullable(isNumber)),
  isBaseline: isBool, stale: isBool, time: isNumber, n: isCount,
} satisfies Record<keyof ReportPoint, Check>);

const reportGroup = shape({ baseline: isString, label: isString, points: arrayOf(reportPoint) } satisfies Record<keyof ReportGroup, Check>);

const layerMarks = (mark: Check): Check => (v) => isObject(v) && Object.values(v).every(mark);

const latencyMarks = shape({
  runs: isCount, totalMs: isNumber, time: isNumber, layers: layerMarks(shape({ ms: isNumber, share: isNumber, fusedInto: optional(isString) } satisfies Record<keyof LayerTimeMark, Check>)), source: optional(isString),
} satisfies Record<keyof LatencyMarks, Check>);

const deviceFit = shape({
  device: isString, title: isString, fits: nullable(isBool), weightBytes: isCount, flashBytes: nullable(isCount), arenaBytes: isNumber, ramBytes: isCount,
  reasons: arrayOf(isString), estimatedLatencyMs: nullable(isNumber), latencyBasis: isString, notes: arrayOf(isString),
} satisfies Record<keyof DeviceFitMark, Check>);

export const isDeviceFitMark = (v: unknown): v is DeviceFitMark => deviceFit(v);

const measurements = shape({
  budget: isNumber,
  sensitivity: optional(shape({
    mode: isString, bits: isCount, n: isCount, time: isNumber, before: isBool,
    layers: layerMarks(shape({ deltaTop1: nullable(isNumber), agreement: isFraction, sqnrDb: nullable(isNumber) } satisfies Record<keyof LayerSensitivityMark, Check>)),
  })),
  latency: optional(latencyMarks),
  latencyBefore: optional(latencyMarks),
  bench: optional(shape({
    top1: nullable(isFraction), deltaTop1: nullable(isNumber), p50: isNumber, sizeRatio: nullable(isNumber), n: isCount, time: isNumber, baseline: optional(isString), before: isBool,
  })),
  fit: optional((v) => deviceFit(v) || shape({ device: isString, error: isString })(v)),
} satisfies Record<keyof Measurements, Check>);

const toWebviewChecks: Record<ToWebview['type'], Check> = {
  status: shape({ phase: oneOf('reading', 'analysing'), message: isString }),
  confirmLarge: shape({ bytes: isCount, thresholdMB: isNumber }),
  model: (v) => isObject(v) && isModelReport(v.report) && isCompactGraph(v.graph) && isString(v.fileName) &&
    (v.graph as CompactGraph).layer.every((l) => l < (v.report as ModelReport).layers.length) &&
    optional((t) => isObject(t) && Object.values(t).every(isNumber))(v.timings) &&
    optional((s) => isObject(s) && Object.values(s).every(arrayOf(isCount)))(v.inputShapes) && optional(shape({ originalBytes: isCount, documentBytes: isCount }))(v.compression) &&
    optional((b) => isObject(b) && Object.values(b).every(shape({ bits: isCount, sparsity: isFraction, params: isCount, weightBytes: isCount })))(v.baseline) &&
    optional(isCount)(v.edits) && optional(arrayOf(isString))(v.selection),
  failed: shape({ message: isString }),
  busy: shape({ message: optional(isString) }),
  showHistogram: shape({ layer: isString }),
  compare: shape({ a: shape({ fileName: isString, report: isModelReport }), b: shape({ fileName: isString, report: isModelReport }), comparison }),
  fidelity: shape({ message: optional(isString), outputs: optional(outputComparison), error: optional(isString), data: optional(isString) }),
  graph: (v) => isObject(v) && isCompactGraph(v.graph) && isString(v.fileName) && (v.graph as CompactGraph).layer.every((l) => l === -1),
  report: shape({ groups: arrayOf(reportGroup), group: optional(isString) }),
  measurements: shape({ measurements }),
};

const fromWebviewChecks: Record<FromWebview['type'], Check> = {
  ready: shape({ protocolVersion: isCount }),
  histogram: shape({ layer: isString, bins: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4096 }),
  analyseLarge: isObject,
  setInputShapes: isObject,
  selection: shape({ layers: arrayOf(isString) }),
  action: shape({ action: oneOf(...EDITOR_ACTIONS) }),
  measureFidelity: isObject,
  openModel: shape({ model: isString }),
};

function bodyCheck<T extends { type: string }>(checks: Record<string, Check>): (v: unknown) => v is T {
  return (v): v is T => isObject(v) && isString(v.type) && Object.hasOwn(checks, v.type as string) && checks[v.type as string](v);
}

export const isToWebview = bodyCheck<ToWebview>(toWebviewChecks);
export const isFromWebview = bodyCheck<FromWebview>(fromWebviewChecks);

/** Checks an envelope; events and requests must carry a valid body, responses are checked by the waiting request. */
function isEnvelope<T>(v: unknown, isBody: (b: unknown) => b is T): v is Envelope<T> {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'event': return isBody(v.body);
    case 'request': return isCount(v.id) && isBody(v.body);
    case 'response': return isCount(v.id) && optional(isString)(v.error);
    default: return false;
  }
}

// ---- the wire format of large messages ----
//
// A 10,000-node model's report is ~3 MB of JSON, mostly the same keys repeated per layer, and it is copied
// several times on its way into the webview (extension host → workbench → webview frames). On the wire the
// layers therefore travel as columns: one Float64Array per numeric field (VS Code transfers typed arrays as
// binary), one plain array per other field. The graph's integer arrays travel as Int32Arrays. Receivers unpack
// before validating, so the checks above apply unchanged; a malformed packed message unpacks to something
// they reject.

type PackedColumn =
  | { numbers: Float64Array }
  /** `absent`: rows without the field (sent as a 0/1 mask, since JSON turns undefined inside arrays into null) */
  | { values: unknown[]; absent?: Uint8Array }
  /** a field holding an array of objects per row: the objects of every row, packed, and how many each row had */
  | { counts: Int32Array; rows: PackedRows };

export interface PackedRows { packedRows: number; columns: Record<string, PackedColumn> }

const isPlainObject = (v: unknown): v is Record<string, unknown> => isObject(v) && Object.getPrototypeOf(v) === Object.prototype;

/** Packs an array of plain objects into columns (plain loops: this runs once per open, before the JIT has warmed up). */
export function packRows(rows: readonly object[]): PackedRows {
  const records = rows as readonly Record<string, unknown>[];
  const n = records.length;
  const keys = new Set<string>();
  for (let i = 0; i < n; i++) for (const k in records[i]) keys.add(k);
  const columns: Record<string, PackedColumn> = {};
  for (const k of keys) {
    const values: unknown[] = new Array(n);
    let numeric = true, nested = true, absent = false;
    for (let i = 0; i < n; i++) {
      const v = records[i][k];
      values[i] = v;
      if (v === undefined) { absent = true; nested = false; continue; }
      if (numeric && !Number.isFinite(v)) numeric = false;
      if (nested && !(Array.isArray(v) && v.every(isPlainObject))) nested = false;
    }
    if (numeric) {
      const numbers = new Float64Array(n);
      for (let i = 0; i < n; i++) numbers[i] = values[i] === undefined ? NaN : (values[i] as number);
      columns[k] = { numbers };
    } else if (nested) {
      const counts = new Int32Array(n);
      const flat: object[] = [];
      for (let i = 0; i < n; i++) { const v = values[i] as object[]; counts[i] = v.length; for (const o of v) flat.push(o); }
      columns[k] = { counts, rows: packRows(flat) };
    } else if (absent) {
      const mask = new Uint8Array(n);
      for (let i = 0; i < n; i++) mask[i] = values[i] === undefined ? 1 : 0;
      columns[k] = { values, absent: mask };
    } else {
      columns[k] = { values };
    }
  }
  return { packedRows: n, columns };
}

export const isPackedRows = (v: unknown): v is PackedRows => isObject(v) && isCount(v.packedRows) && isObject(v.columns);

/** The inverse of packRows; anything malformed comes back as `undefined` (which every check rejects). */
export function unpackRows(p: unknown): Record<string, unknown>[] | undefined {
  if (!isPackedRows(p)) return undefined;
  const n = p.packedRows;
  const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({}));
  for (const [k, c] of Object.entries(p.columns as Record<string, unknown>)) {
    if (!isObject(c)) return undefined;
    if (c.numbers instanceof Float64Array && c.numbers.length === n) {
      const numbers = c.numbers;
      for (let i = 0; i < n; i++) if (!Number.isNaN(numbers[i])) rows[i][k] = numbers[i];
    } else if (Array.isArray(c.values) && c.values.length === n) {
      const absent = c.absent instanceof Uint8Array && c.absent.length === n ? c.absent : undefined;
      if (c.absent !== undefined && !absent) return undefined;
      for (let i = 0; i < n; i++) if (!absent?.[i]) rows[i][k] = c.values[i];
    } else if (c.counts instanceof Int32Array && c.counts.length === n) {
      const nested = unpackRows(c.rows);
      if (!nested || c.counts.some((x) => x < 0) || c.counts.reduce((a, b) => a + b, 0) !== nested.length) return undefined;
      let at = 0;
      for (let i = 0; i < n; i++) rows[i][k] = nested.slice(at, (at += c.counts[i]));
    } else {
      return undefined;
    }
  }
  return rows;
}

/** The message as sent: a model message's layers packed, graph integers as Int32Arrays; others as they are. */
export function packToWebview(m: HostToWebview): unknown {
  const graph = (g: CompactGraph) => ({ ...g, layer: Int32Array.from(g.layer), edges: Int32Array.from(g.edges) });
  if (m.type === 'model') {
    const { layers } = m.report;
    return { ...m, report: { model: m.report.model, layers: Array.isArray(layers) ? packRows(layers) : layers }, graph: graph(m.graph) };
  }
  if (m.type === 'graph') return { ...m, graph: graph(m.graph) };
  if (m.type === 'compare') {
    const side = (s: PackedSide) => ({ ...s, report: { model: s.report.model, layers: Array.isArray(s.report.layers) ? packRows(s.report.layers) : s.report.layers } });
    return { ...m, a: side(m.a), b: side(m.b) };
  }
  return m;
}

/** Undoes packToWebview on a raw incoming envelope (before validation); leaves anything else alone. */
export function unpackEnvelope(raw: unknown): unknown {
  if (!isObject(raw) || raw.kind !== 'event' || !isObject(raw.body)) return raw;
  const body = raw.body;
  if (body.type === 'compare') {
    const side = (s: unknown) => (isObject(s) && isObject(s.report) ? { ...s, report: { model: s.report.model, layers: unpackRows(s.report.layers) } } : s);
    return { ...raw, body: { ...body, a: side(body.a), b: side(body.b) } };
  }
  if (body.type !== 'model' && body.type !== 'graph') return raw;
  const ints = (v: unknown) => (v instanceof Int32Array ? Array.from(v) : v);
  const graph = isObject(body.graph) ? { ...body.graph, layer: ints(body.graph.layer), edges: ints(body.graph.edges) } : body.graph;
  const report = body.type === 'model' && isObject(body.report) ? { model: body.report.model, layers: unpackRows(body.report.layers) } : body.report;
  return { ...raw, body: body.type === 'model' ? { ...body, report, graph } : { ...body, graph } };
}

// ---- the RPC endpoint both sides use ----

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; check?: (v: unknown) => boolean };

/**
 * Sends events and requests of type `Out`, receives `In`. `handleRequest` answers incoming requests (its
 * return value, or thrown error, becomes the response); `handleEvent` receives incoming events. Messages
 * that fail validation are dropped and reported through `onInvalid`.
 */
export class RpcEndpoint<Out extends { type: string }, In extends { type: string }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly post: (message: Envelope<Out>) => void,
    private readonly isIn: (b: unknown) => b is In,
    private readonly handlers: {
      handleEvent?: (body: In) => void;
      handleRequest?: (body: In) => unknown | Promise<unknown>;
      onInvalid?: (message: unknown) => void;
    },
  ) {}

  notify(body: Out): void {
    this.post({ kind: 'event', body });
  }

  /** Sends a request; `check` validates the response body before the promise resolves. */
  request<R>(body: Out, check?: (v: unknown) => v is R): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, check });
      this.post({ kind: 'request', id, body });
    });
  }

  /** Feeds one raw incoming message. */
  async receive(message: unknown): Promise<void> {
    if (!isEnvelope(message, this.isIn)) { this.handlers.onInvalid?.(message); return; }
    if (message.kind === 'response') {
      const p = this.pending.get(message.id);
      if (!p) { this.handlers.onInvalid?.(message); return; }
      this.pending.delete(message.id);
      if (message.error !== undefined) p.reject(new Error(message.error));
      else if (p.check && !p.check(message.body)) p.reject(new Error('malformed response'));
      else p.resolve(message.body);
    } else if (message.kind === 'event') {
      this.handlers.handleEvent?.(message.body);
    } else {
      const id = message.id;
      try {
        const body = await this.handlers.handleRequest?.(message.body);
        this.post({ kind: 'response', id, body });
      } catch (e) {
        this.post({ kind: 'response', id, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** Rejects every request still waiting (the other side went away). */
  dispose(reason: string): void {
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}

// ---- display formats shared by the status bar and the webview header ----

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  // 1023.97 KB would print as "1024.0 KB": move up a unit when rounding reaches the next one.
  while (Number(v.toFixed(v < 10 ? 2 : 1)) >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** 1234567 → "1.23M": three significant digits with an SI suffix. */
export function formatCount(n: number): string {
  if (n === 0) return '0';
  const units = ['', 'K', 'M', 'G', 'T'];
  let k = Math.min(units.length - 1, Math.max(0, Math.floor(Math.log10(Math.abs(n)) / 3)));
  let v = Number((n / 1000 ** k).toPrecision(3));
  // 999,600 rounds to 1000K: move up a unit.
  if (Math.abs(v) >= 1000 && k < units.length - 1) v = Number((n / 1000 ** ++k).toPrecision(3));
  return `${v}${units[k]}`;
}

/** A graph input's dims as MACs are counted: the shape the user gave, else the declared one with batch 1 and `?` for other symbolic dims. */
export function inputDims(input: TensorSignature, given?: readonly number[]): readonly (number | string)[] {
  return given ?? input.shape.map((d, k) => (typeof d === 'number' && d > 0 ? d : k === 0 ? 1 : '?'));
}

/** Milliseconds with three significant digits: "0.0421 ms", "3.14 ms", "250 ms". */
export function formatMs(ms: number): string {
  return `${ms === 0 ? 0 : Number(ms.toPrecision(3))} ms`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** "8-bit 97% · 32-bit 3%" — widths ordered by how many parameters they hold. */
export function formatBitsMix(mix: Record<string, number>): string {
  const entries = Object.entries(mix).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return '—';
  if (entries.length === 1) return `${entries[0][0]}-bit`;
  return entries.map(([bits, n]) => `${bits}-bit ${Math.round((100 * n) / total)}%`).join(' · ');
}
