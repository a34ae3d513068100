// Tests src/protocol.ts: message validation both ways, the request/response endpoint, and the display formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerStats, ModelReport } from '../../src/core/analysis/report';
import {
  formatBitsMix, formatBytes, formatCount, formatMs, formatPercent, isFromWebview, isHistogramData, isToWebview, packRows, packToWebview, RpcEndpoint,
  unpackEnvelope, unpackRows,
  type CompactGraph, type Envelope, type FromWebview, type Measurements, type ToWebview,
} from '../../src/protocol';

function layer(over: Partial<LayerStats> = {}): LayerStats {
  return {
    name: 'conv1', op: 'Conv', index: 0, weights: [{ name: 'w', shape: [8, 3, 3, 3], dtype: 'float32', role: 'weight', params: 216, zeros: 54, bytes: 864 }],
    params: 216, zeros: 54, sparsity: 0.25, channelSparsity: 0, twoFour: 0.1, bits: 32, dtype: 'float32', scheme: 'float',
    perChannel: false, macs: 1000, weightBytes: 864, inputShape: [1, 3, 8, 8], outputShape: [1, 8, 'h', 6], ...over,
  };
}

function report(layers: LayerStats[] = [layer()]): ModelReport {
  return {
    model: {
      path: '/m.onnx', bytes: 2000, opset: 17, irVersion: 8, producer: 'test', nodes: 2, layers: layers.length, params: 216,
      zeros: 54, sparsity: 0.25, macs: 1000, weightBytes: 864, bitsMix: { 32: 216 }, peakActivationBytes: 100,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 8] }],
    },
    layers,
  };
}

const graph: CompactGraph = { names: ['conv1', 'relu'], ops: ['Conv', 'Relu'], layer: [0, -1], edges: [0, 1] };
const modelMessage = (r = report(), g: CompactGraph = graph) => ({ type: 'model', report: r, graph: g, fileName: 'm.onnx' });

test('a well-formed model message is accepted', () => {
  assert.equal(isToWebview(modelMessage()), true);
});

test('model messages with wrong values are rejected', () => {
  assert.equal(isToWebview(modelMessage(report([layer({ sparsity: 1.5 })]))), false, 'sparsity above 1');
  assert.equal(isToWebview(modelMessage(report([layer({ params: -1 })]))), false, 'negative params');
  assert.equal(isToWebview(modelMessage(report([layer({ scheme: 'magic' as never })]))), false, 'unknown scheme');
  const { op: _op, ...noOp } = layer();
  assert.equal(isToWebview(modelMessage(report([noOp as LayerStats]))), false, 'missing op');
  assert.equal(isToWebview(modelMessage(report(), { ...graph, edges: [0, 2] })), false, 'edge to a node that does not exist');
  assert.equal(isToWebview(modelMessage(report(), { ...graph, edges: [0] })), false, 'odd edge list');
  assert.equal(isToWebview(modelMessage(report(), { ...graph, layer: [1, -1] })), false, 'graph node pointing past the layers');
  assert.equal(isToWebview(modelMessage(report(), { ...graph, ops: ['Conv'] })), false, 'ops shorter than names');
});

test('only known message types pass, each with its own fields', () => {
  assert.equal(isToWebview({ type: 'status', phase: 'reading', message: 'x' }), true);
  assert.equal(isToWebview({ type: 'status', phase: 'sleeping', message: 'x' }), false);
  assert.equal(isToWebview({ type: 'confirmLarge', bytes: 10, thresholdMB: 1 }), true);
  assert.equal(isToWebview({ type: 'failed' }), false);
  assert.equal(isToWebview({ type: 'toString' }), false, 'inherited property names are not message types');
  assert.equal(isToWebview(null), false);
  assert.equal(isFromWebview({ type: 'ready', protocolVersion: 1 }), true);
  assert.equal(isFromWebview({ type: 'ready' }), false);
  assert.equal(isFromWebview({ type: 'histogram', layer: 'a', bins: 64 }), true);
  assert.equal(isFromWebview({ type: 'histogram', layer: 'a', bins: 0 }), false);
  assert.equal(isFromWebview({ type: 'histogram', layer: 'a', bins: 1e9 }), false);
  assert.equal(isFromWebview({ type: 'analyseLarge' }), true);
  assert.equal(isFromWebview({ type: 'model', report: report(), graph, fileName: 'x' }), false, 'host messages are not accepted from the webview');
});

test('histogram data needs one more edge than bins', () => {
  assert.equal(isHistogramData({ layer: 'a', dtype: 'float32', edges: [0, 1, 2], counts: [3, 4], zeros: 1 }), true);
  assert.equal(isHistogramData({ layer: 'a', dtype: 'float32', edges: [0, 1], counts: [3, 4], zeros: 1 }), false);
  // an edited layer's histogram as opened follows the same rule
  const edited = { layer: 'a', dtype: 'int8', edges: [0, 1, 2], counts: [3, 4], zeros: 1 };
  assert.equal(isHistogramData({ ...edited, original: { dtype: 'float32', edges: [0, 1, 2, 3], counts: [1, 2, 3], zeros: 0 } }), true);
  assert.equal(isHistogramData({ ...edited, original: { dtype: 'float32', edges: [0, 1], counts: [1, 2, 3], zeros: 0 } }), false);
});

test('model and graph messages survive packing into columns and a structured clone, field for field', () => {
  const layers = [
    layer(),
    // shapes left out, as the analysis does when it cannot infer them
    (({ inputShape: _i, outputShape: _o, ...l }) => l)(layer({ name: 'q', axis: 0, blockSize: 32, perChannel: true, scheme: 'qdq', bits: 4 })),
    layer({ name: 'fc', op: 'Gemm', weights: [
      { name: 'fc.w', shape: [10, 4], dtype: 'int8', role: 'weight', params: 40, zeros: 3, bytes: 40 },
      { name: 'fc.b', shape: [10], dtype: 'float32', role: 'bias', params: 10, zeros: 0, bytes: 40 },
    ] }),
  ];
  const g: CompactGraph = { names: ['conv1', 'q', 'fc'], ops: ['Conv', 'Conv', 'Gemm'], layer: [0, 1, 2], edges: [0, 1, 1, 2] };
  const sent: ToWebview = { type: 'model', report: report(layers), graph: g, fileName: 'm.onnx', timings: { opened: 5 } };
  const wire = structuredClone({ kind: 'event', body: packToWebview(sent) });
  const body = (wire.body as { report: { layers: { columns: Record<string, { numbers?: unknown }> } } });
  assert.ok(body.report.layers.columns.params.numbers instanceof Float64Array, 'numeric fields travel as binary columns');
  const received = unpackEnvelope(wire) as Envelope<ToWebview>;
  assert.deepEqual(received, { kind: 'event', body: sent });
  assert.equal(isToWebview((received as { body: unknown }).body), true);
  assert.equal('axis' in (received as { body: { report: ModelReport } }).body.report.layers[0], false, 'absent fields stay absent');

  const preview: ToWebview = { type: 'graph', graph: { ...g, layer: [-1, -1, -1] }, fileName: 'm.onnx' };
  assert.deepEqual(unpackEnvelope(structuredClone({ kind: 'event', body: packToWebview(preview) })), { kind: 'event', body: preview });
  assert.deepEqual(unpackRows(packRows([])), []);
});

test('malformed packed layers unpack to a message that validation rejects, without throwing', () => {
  const packed = packRows([layer(), layer({ name: 'b' })]);
  const broken = (columns: object) => unpackEnvelope({ kind: 'event', body: { type: 'model', report: { model: report().model, layers: { packedRows: 2, columns } }, graph, fileName: 'm' } });
  const short = { ...packed.columns, params: { numbers: new Float64Array(1) } };
  const badCounts = { ...packed.columns, weights: { counts: Int32Array.from([1, 5]), rows: packRows([]) } };
  const badMask = { ...packed.columns, name: { values: ['a', 'b'], absent: 'yes' } };
  for (const columns of [short, badCounts, badMask, { name: 'conv1' }]) {
    assert.equal(isToWebview((broken(columns) as { body: unknown }).body), false, JSON.stringify(Object.keys(columns)));
  }
  assert.equal(unpackEnvelope('hello'), 'hello');
});

/** Two endpoints wired back to back, as the host and the webview are. */
function pair() {
  const invalid: unknown[] = [];
  const events: ToWebview[] = [];
  let toWebview: (m: unknown) => void = () => {};
  let toHost: (m: unknown) => void = () => {};
  const host = new RpcEndpoint<ToWebview, FromWebview>((m) => toWebview(structuredClone(m)), isFromWebview, {
    handleRequest: (req) => {
      if (req.type === 'ready') return { protocolVersion: req.protocolVersion };
      if (req.type === 'histogram') throw new Error(`no layer named '${req.layer}'`);
      return undefined;
    },
    onInvalid: (m) => invalid.push(m),
  });
  const webview = new RpcEndpoint<FromWebview, ToWebview>((m) => toHost(structuredClone(m)), isToWebview, {
    handleEvent: (e) => events.push(e),
  });
  toWebview = (m) => void webview.receive(m);
  toHost = (m) => void host.receive(m);
  return { host, webview, invalid, events };
}

test('requests are answered, errors come back as rejections, events are delivered', async () => {
  const { host, webview, events } = pair();
  assert.deepEqual(await webview.request({ type: 'ready', protocolVersion: 7 }), { protocolVersion: 7 });
  await assert.rejects(webview.request({ type: 'histogram', layer: 'nope', bins: 8 }), /no layer named 'nope'/);
  host.notify({ type: 'failed', message: 'boom' });
  assert.deepEqual(events, [{ type: 'failed', message: 'boom' }]);
});

test('malformed messages are dropped and reported, never handled', async () => {
  const { host, invalid } = pair();
  await host.receive({ kind: 'request', id: 1, body: { type: 'histogram', layer: 'a', bins: -1 } });
  await host.receive({ kind: 'event', body: { type: 'ready', protocolVersion: 'one' } });
  await host.receive({ kind: 'request', id: -1, body: { type: 'ready', protocolVersion: 1 } });
  await host.receive({ kind: 'response', id: 99, body: {} } satisfies Envelope<never>);
  await host.receive('hello');
  assert.equal(invalid.length, 5);
});

test('a response that fails its check rejects the request', async () => {
  const posted: Envelope<FromWebview>[] = [];
  const webview = new RpcEndpoint<FromWebview, ToWebview>((m) => posted.push(m), isToWebview, {});
  const pending = webview.request({ type: 'histogram', layer: 'a', bins: 4 }, isHistogramData);
  await webview.receive({ kind: 'response', id: (posted[0] as { id: number }).id, body: { layer: 'a', edges: [] } });
  await assert.rejects(pending, /malformed response/);
});

test('display formats', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.50 KB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.00 MB');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(25_557_032), '25.6M');
  assert.equal(formatPercent(0.1234), '12.3%');
  assert.equal(formatBitsMix({ 32: 1000 }), '32-bit');
  assert.equal(formatBitsMix({ 32: 30, 8: 970 }), '8-bit 97% · 32-bit 3%');
  assert.equal(formatBitsMix({}), '—');
});

// ---- Compare With… ----

function compareMessage(): ToWebview {
  const a = report([layer(), layer({ name: 'fc', op: 'Gemm' })]);
  const q = layer({ bits: 8, scheme: 'qdq', dtype: 'int8', weightBytes: 216 });
  const b = report([q, layer({ name: 'fc2', op: 'Gemm' })]);
  return {
    type: 'compare', a: { fileName: 'a.onnx', report: a }, b: { fileName: 'b.onnx', report: b },
    comparison: {
      a: { path: '/a.onnx', bytes: 2000, params: 432, sparsity: 0.25, macs: 2000, bitsMix: { 32: 432 } },
      b: { path: '/b.onnx', bytes: 1000, params: 432, sparsity: 0.25, macs: 2000, bitsMix: { 8: 216, 32: 216 } },
      sizeRatio: 0.5, paramsRatio: 1, macsRatio: 1,
      layers: [
        { name: 'conv1', a: { op: 'Conv', params: 216, sparsity: 0.25, bits: 32, scheme: 'float', weightBytes: 864 }, b: { op: 'Conv', params: 216, sparsity: 0.25, bits: 8, scheme: 'qdq', weightBytes: 216 }, changed: true },
        { name: 'fc', a: { op: 'Gemm', params: 216, sparsity: 0.25, bits: 32, scheme: 'float', weightBytes: 864 }, b: null, changed: true },
        { name: 'fc2', a: null, b: { op: 'Gemm', params: 216, sparsity: 0.25, bits: 32, scheme: 'float', weightBytes: 864 }, changed: true },
      ],
    },
  };
}

test('compare messages: both reports and the matched layers are checked; they survive packing', () => {
  const m = compareMessage();
  assert.equal(isToWebview(m), true);
  const wire = structuredClone({ kind: 'event', body: packToWebview(m) });
  assert.ok((wire.body as { a: { report: { layers: unknown } } }).a.report.layers instanceof Object && !Array.isArray((wire.body as { a: { report: { layers: unknown } } }).a.report.layers), 'layers travel packed');
  const received = unpackEnvelope(wire) as Envelope<ToWebview>;
  assert.deepEqual(received, { kind: 'event', body: m });

  const bad = (f: (c: Extract<ToWebview, { type: 'compare' }>) => void) => { const c = compareMessage() as Extract<ToWebview, { type: 'compare' }>; f(c); return isToWebview(c); };
  assert.equal(bad((c) => { c.comparison.layers[0].b!.bits = -8; }), false, 'negative bits');
  assert.equal(bad((c) => { (c.comparison.layers[1] as { a: unknown }).a = undefined; }), false, 'a side must be a layer or null');
  assert.equal(bad((c) => { (c.comparison as { sizeRatio: unknown }).sizeRatio = 'half'; }), false, 'ratio not a number');
  assert.equal(bad((c) => { c.b.report.layers[0].sparsity = 2; }), false, 'a malformed report');
  assert.equal(bad((c) => { delete (c.comparison as { b?: unknown }).b; }), false, 'missing totals of B');
});

test('fidelity messages and the webview\'s request to measure', () => {
  assert.equal(isToWebview({ type: 'fidelity', message: 'evaluating a.onnx: 3/10' }), true);
  assert.equal(isToWebview({ type: 'fidelity', outputs: { n: 10, agreement: 0.9, maxAbsDiff: 0.02 }, data: 'val.npy' }), true);
  assert.equal(isToWebview({ type: 'fidelity', outputs: { n: 10, agreement: 0.9, maxAbsDiff: 0.02, top1: { a: 0.8, b: 0.7 } } }), true);
  assert.equal(isToWebview({ type: 'fidelity', outputs: { n: 10, agreement: 1.5, maxAbsDiff: 0 } }), false, 'agreement above 1');
  assert.equal(isToWebview({ type: 'fidelity', error: 42 }), false);
  assert.equal(isFromWebview({ type: 'measureFidelity' }), true);
  assert.equal(isFromWebview({ type: 'fidelity' }), false, 'host messages are not accepted from the webview');
});

test('report messages: groups of benchmarked points, each point\'s numbers checked; openModel from the webview', () => {
  const point = (over: Record<string, unknown> = {}) => ({
    model: '/w/m.int8.onnx', label: 'm.int8.onnx', bytes: 1200, top1: 0.98, latencyP50: 0.4, deltaTop1: -0.33, isBaseline: false, stale: false, time: 1, n: 300, ...over,
  });
  const report = (points: unknown[], group?: string) => ({ type: 'report', groups: [{ baseline: '/w/m.onnx', label: 'm.onnx', points }], ...(group ? { group } : {}) });
  assert.equal(isToWebview(report([point(), point({ model: '/w/m.onnx', isBaseline: true, deltaTop1: undefined })], '/w/m.onnx')), true);
  assert.equal(isToWebview({ type: 'report', groups: [] }), true, 'no results yet: the empty state');
  assert.equal(isToWebview(report([point({ top1: null, deltaTop1: null })])), true, 'unlabelled data: no top-1');
  assert.equal(isToWebview(report([point({ top1: 98 })])), false, 'top-1 is a fraction');
  assert.equal(isToWebview(report([point({ bytes: -1 })])), false, 'negative size');
  assert.equal(isToWebview(report([point({ latencyP50: 'fast' })])), false, 'latency not a number');
  assert.equal(isToWebview(report([point({ stale: 'no' })])), false, 'stale is a boolean');
  assert.equal(isToWebview(report([{ ...point(), model: undefined }])), false, 'a point without its model');
  assert.equal(isToWebview({ type: 'report', groups: [{ baseline: '/w/m.onnx', points: [] }] }), false, 'a group without its label');
  assert.equal(isFromWebview({ type: 'openModel', model: '/w/m.int8.onnx' }), true);
  assert.equal(isFromWebview({ type: 'openModel' }), false);
  assert.equal(isFromWebview({ type: 'report', groups: [] }), false, 'host messages are not accepted from the webview');
});

// ---- measurements of the editor's model ----

function measurements(): Measurements {
  return {
    budget: 1,
    sensitivity: { mode: 'static', bits: 8, n: 100, time: 1, before: false, layers: { conv1: { deltaTop1: -2.5, agreement: 0.9, sqnrDb: 18.2 }, fc: { deltaTop1: null, agreement: 1, sqnrDb: null } } },
    latency: { runs: 20, totalMs: 1.5, time: 2, layers: { conv1: { ms: 1.2, share: 0.8 }, bn: { ms: 0, share: 0, fusedInto: 'conv1' } } },
    latencyBefore: { runs: 20, totalMs: 3, time: 1, layers: { conv1: { ms: 2.4, share: 0.8 } }, source: '/w/m.onnx' },
    bench: { top1: 0.91, deltaTop1: -0.4, p50: 1.7, sizeRatio: 0.26, n: 100, time: 3, baseline: '/w/base.onnx', before: false },
    fit: {
      device: 'nano33ble', title: 'Arduino Nano 33 BLE Sense', fits: false, weightBytes: 42_000, flashBytes: 1 << 20, arenaBytes: 310_000, ramBytes: 256 << 10,
      reasons: ['activation arena exceeds RAM'], estimatedLatencyMs: 120, latencyBasis: 'int8: 1 MAC/cycle', notes: [],
    },
  };
}

test('measurements messages: every part optional but the budget, each checked when present', () => {
  assert.equal(isToWebview({ type: 'measurements', measurements: measurements() }), true);
  assert.equal(isToWebview({ type: 'measurements', measurements: { budget: 1 } }), true, 'nothing measured yet');
  assert.equal(isToWebview({ type: 'measurements', measurements: { budget: 1, fit: { device: 'x', error: 'no device profile named x' } } }), true, 'a fit that could not be computed says why');
  const bad = (f: (m: Measurements & Record<string, unknown>) => void) => { const m = measurements() as Measurements & Record<string, unknown>; f(m); return isToWebview({ type: 'measurements', measurements: m }); };
  assert.equal(bad((m) => { delete (m as Partial<Measurements>).budget; }), false, 'no budget');
  assert.equal(bad((m) => { m.sensitivity!.layers.conv1.agreement = 1.5; }), false, 'agreement above 1');
  assert.equal(bad((m) => { (m.sensitivity!.layers.conv1 as { deltaTop1: unknown }).deltaTop1 = '−2.5'; }), false, 'delta as text');
  assert.equal(bad((m) => { (m.latency!.layers.conv1 as { ms: unknown }).ms = undefined; }), false, 'a layer time without ms');
  assert.equal(bad((m) => { (m.latency!.layers.bn as { fusedInto: unknown }).fusedInto = 3; }), false, 'fusedInto not a name');
  assert.equal(bad((m) => { (m.latencyBefore as { runs: unknown }).runs = -1; }), false, 'negative runs');
  assert.equal(bad((m) => { (m.bench as { p50: unknown }).p50 = null; }), false, 'bench without latency');
  assert.equal(bad((m) => { (m.fit as { fits: unknown }).fits = 'yes'; }), false, 'fit verdict not a boolean or null');
  assert.equal(bad((m) => { (m.fit as { reasons: unknown }).reasons = 'too big'; }), false, 'reasons not a list');
  assert.equal(isToWebview({ type: 'measurements' }), false);
  // The "not measured" hint's button runs Profile Layer Latency through the action message.
  assert.equal(isFromWebview({ type: 'action', action: 'profileLatency' }), true);
});

test('milliseconds keep three significant digits', () => {
  assert.equal(formatMs(0), '0 ms');
  assert.equal(formatMs(0.042137), '0.0421 ms');
  assert.equal(formatMs(3.14159), '3.14 ms');
  assert.equal(formatMs(250.4), '250 ms');
});
