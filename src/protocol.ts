// The one message protocol between the extension host and the editor webview (and the analysis worker):
// discriminated unions each way, a request/response envelope with ids, a protocol version checked in the
// ready handshake, and a small validator so that neither side acts on a malformed message.
import type { LayerStats, ModelReport, ModelSummary, QuantScheme } from './core/analysis/report';

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
}

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
}

// ---- messages from the host to the webview ----

export type ToWebview =
  | { type: 'status'; phase: 'reading' | 'analysing'; message: string }
  | { type: 'confirmLarge'; bytes: number; thresholdMB: number }
  /** the graph's structure, sent as soon as the file is parsed (layers not analysed yet: every `layer` is -1) */
  | { type: 'graph'; graph: CompactGraph; fileName: string }
  /** `timings`: epoch milliseconds of the host's steps for this model (document opened, parsed, analysed, posted) */
  | { type: 'model'; report: ModelReport; graph: CompactGraph; fileName: string; timings?: Record<string, number> }
  | { type: 'failed'; message: string };

export interface ReadyResponse { protocolVersion: number }

// ---- messages from the webview to the host ----

export type FromWebview =
  | { type: 'ready'; protocolVersion: number }
  | { type: 'histogram'; layer: string; bins: number }
  | { type: 'analyseLarge' };

/** What each request type is answered with. */
export interface ResponseTo {
  ready: ReadyResponse;
  histogram: HistogramData;
}

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
  macs: isNumber, weightBytes: isCount, inputShape: optional(arrayOf(dim)), outputShape: optional(arrayOf(dim)),
} satisfies Partial<Record<keyof LayerStats, Check>>);

const signature = shape({ name: isString, dtype: isString, shape: arrayOf(dim) });

const modelSummary: Check = shape({
  path: isString, bytes: isCount, opset: isNumber, irVersion: isNumber, producer: isString, nodes: isCount,
  layers: isCount, params: isCount, zeros: isCount, sparsity: isFraction, macs: isNumber, macsUnknownLayers: optional(isCount),
  weightBytes: isCount, bitsMix: (v) => isObject(v) && Object.values(v).every(isCount),
  peakActivationBytes: isNumber, activationsUnknown: optional(isCount), inputs: arrayOf(signature), outputs: arrayOf(signature),
} satisfies Partial<Record<keyof ModelSummary, Check>>);

export function isCompactGraph(v: unknown): v is CompactGraph {
  if (!shape({ names: arrayOf(isString), ops: arrayOf(isString), layer: arrayOf(Number.isInteger), edges: arrayOf(Number.isInteger) })(v)) return false;
  const g = v as CompactGraph;
  const n = g.names.length;
  return g.ops.length === n && g.layer.length === n && g.edges.length % 2 === 0 && g.edges.every((e) => e >= 0 && e < n);
}

export function isModelReport(v: unknown): v is ModelReport {
  return shape({ model: modelSummary, layers: arrayOf(layerStats) })(v);
}

export function isHistogramData(v: unknown): v is HistogramData {
  if (!shape({ layer: isString, dtype: isString, edges: arrayOf(isNumber), counts: arrayOf(isCount), zeros: isCount })(v)) return false;
  const h = v as HistogramData;
  return h.edges.length === h.counts.length + 1;
}

const toWebviewChecks: Record<ToWebview['type'], Check> = {
  status: shape({ phase: oneOf('reading', 'analysing'), message: isString }),
  confirmLarge: shape({ bytes: isCount, thresholdMB: isNumber }),
  model: (v) => isObject(v) && isModelReport(v.report) && isCompactGraph(v.graph) && isString(v.fileName) &&
    (v.graph as CompactGraph).layer.every((l) => l < (v.report as ModelReport).layers.length) &&
    optional((t) => isObject(t) && Object.values(t).every(isNumber))(v.timings),
  failed: shape({ message: isString }),
  graph: (v) => isObject(v) && isCompactGraph(v.graph) && isString(v.fileName) && (v.graph as CompactGraph).layer.every((l) => l === -1),
};

const fromWebviewChecks: Record<FromWebview['type'], Check> = {
  ready: shape({ protocolVersion: isCount }),
  histogram: shape({ layer: isString, bins: (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4096 }),
  analyseLarge: isObject,
};

function bodyCheck<T extends { type: string }>(checks: Record<string, Check>): (v: unknown) => v is T {
  return (v): v is T => isObject(v) && isString(v.type) && Object.hasOwn(checks, v.type as string) && checks[v.type as string](v);
}

export const isToWebview = bodyCheck<ToWebview>(toWebviewChecks);
export const isFromWebview = bodyCheck<FromWebview>(fromWebviewChecks);

/** Checks an envelope; events and requests must carry a valid body, responses are checked by the waiting request. */
export function isEnvelope<T>(v: unknown, isBody: (b: unknown) => b is T): v is Envelope<T> {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'event': return isBody(v.body);
    case 'request': return isCount(v.id) && isBody(v.body);
    case 'response': return isCount(v.id) && optional(isString)(v.error);
    default: return false;
  }
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
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  const units = ['K', 'M', 'G', 'T'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)}${units[u]}`;
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
