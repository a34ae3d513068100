// The editor's Hessian-aware picks in a real VS Code (code-server + Chromium): prune two selected layers with
// "OBS (SparseGPT)", quantize one layer with "int4 weights, GPTQ" and one with "static W4A8, GPTQ", all calibrated
// on the data of the settings, then Save As. The saved models are checked against their own weights (zeros, int4
// codes against round-to-nearest of the original weights) and, in onnxruntime, against the original model and the
// plain method (magnitude prune / round-to-nearest int4 or W4A8 by the CLI) on the same calibration inputs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { ModelReport } from '../../src/core/analysis/report';
import { encodeNpy } from '../../src/core/eval/npy';
import { DataType } from '../../src/core/onnx/dtypes';
import { readModelSync } from '../../src/core/onnx/read';
import { tensorValues } from '../../src/core/onnx/tensor';
import { VsCode } from './harness';
import { SMALL_NET, smallNet } from './models';

const cli = (...args: string[]) => execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
const inspectJson = (file: string): ModelReport => JSON.parse(cli('inspect', file, '--json'));

const row = (editor: FrameLocator, layer: string) => editor.locator(`[data-testid="layer-row"][data-layer="${layer}"]`);

/** Calibration inputs of the small net: 32 deterministic images [32, 3, 16, 16]. */
const CALIB_SAMPLES = 32;
const SAMPLE = 3 * 16 * 16;
const calibInputs = Float32Array.from({ length: CALIB_SAMPLES * SAMPLE }, (_, i) => Math.sin(i * 0.37 + Math.cos(i * 0.011)) * 1.5);

/** Initializer values of a model file, by name (int4 unpacked to its signed codes). */
function initializers(file: string): Record<string, { dataType: number; values: Float32Array | Int8Array }> {
  const m = readModelSync(file);
  return Object.fromEntries(m.proto.graph!.initializer.map((t) => [t.name, { dataType: t.dataType, values: tensorValues(t, m) as Float32Array | Int8Array }]));
}

/** onnxruntime outputs `y` of `file` on every calibration image, one after another. */
async function outputs(file: string): Promise<Float32Array> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(file);
  const out: number[] = [];
  for (let i = 0; i < CALIB_SAMPLES; i++) {
    const x = new ort.Tensor('float32', calibInputs.slice(i * SAMPLE, (i + 1) * SAMPLE), [1, 3, 16, 16]);
    const y = (await session.run({ x })).y;
    assert.deepEqual(y.dims, [1, 4], `${path.basename(file)}: output shape`);
    out.push(...(y.data as Float32Array));
  }
  await session.release();
  return Float32Array.from(out);
}

/**
 * The int4 weights of `layer` in a saved model (symmetric: DequantizeLinear without a zero-point, one scale per
 * output channel) against round-to-nearest of the original float weights with the same scales: how many codes
 * are further than half a step from the exact value (so not a tie broken the other way).
 */
function int4CodesNotNearest(file: string, layer: string): { count: number; of: number } {
  const model = readModelSync(file);
  const nodes = model.proto.graph!.node;
  const conv = nodes.find((n) => n.name === layer);
  assert.ok(conv, `${path.basename(file)} has a node ${layer}`);
  const dq = nodes.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === conv.input[1]);
  assert.ok(dq, `${layer} reads its weights from a DequantizeLinear`);
  assert.equal(dq.input.length, 2, 'symmetric int4: no zero-point');
  const stored = initializers(file);
  const codes = stored[dq.input[0]];
  const scales = stored[dq.input[1]].values;
  assert.equal(codes.dataType, DataType.INT4, `${layer}: the weights are stored as int4`);
  const w = initializers(original)[`${layer}.w`].values;
  assert.equal(codes.values.length, w.length);
  const perChannel = w.length / scales.length;
  let count = 0;
  for (let i = 0; i < w.length; i++) {
    const q = codes.values[i];
    assert.ok(q >= -8 && q <= 7, `code ${q} is int4`);
    const exact = w[i] / scales[Math.floor(i / perChannel)];
    const nearest = Math.max(-8, Math.min(7, Math.round(exact)));
    if (q !== nearest && Math.abs(exact - q) > 0.5 + 1e-3) count++;
  }
  return { count, of: w.length };
}

const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length;

/** Waits until the layer's row shows `attribute` = `value`, failing with what the table shows. */
async function waitForRow(editor: FrameLocator, layer: string, attribute: string, value: string, what: string): Promise<void> {
  await row(editor, layer).and(editor.locator(`[${attribute}="${value}"]`)).waitFor({ timeout: 120_000 }).catch(async () => {
    const shown = await editor.locator('[data-testid="layer-row"]').evaluateAll((els, a) => els.map((e) => `${e.getAttribute('data-layer')}: ${e.getAttribute(a)}`), attribute);
    assert.fail(`${what}: expected ${layer} ${attribute}=${value}; the table shows ${shown.join(', ')}`);
  });
}

let vscode: VsCode;
let dir: string;
let original: string;
const file = (name: string) => path.join(vscode.workspace, name);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-methods-'));
  original = path.join(dir, 'small-net.onnx');
  fs.writeFileSync(original, smallNet());
  const calib = path.join(dir, 'calib_x.npy');
  fs.writeFileSync(calib, encodeNpy(calibInputs, [CALIB_SAMPLES, 3, 16, 16]));
  vscode = await VsCode.start({
    name: 'compression-methods',
    files: { 'obs-net.onnx': { copy: original }, 'channels-net.onnx': { copy: original }, 'gptq-net.onnx': { copy: original }, 'w4a8-net.onnx': { copy: original }, 'calib_x.npy': { copy: calib } },
    // An edit must stay unsaved until Save As; the calibration data is the workspace's (relative, as documented).
    settings: { 'files.autoSave': 'off', 'onnxLens.calibrationData': 'calib_x.npy' },
  });
}, { timeout: 240_000 });

after(async () => {
  await vscode?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

test('prune conv1 and conv2 to 50 % with OBS (SparseGPT): only they are half zero, the kept weights moved, and on the calibration data the model stays closer to the original than a magnitude prune', { timeout: 300_000 }, async (t) => {
  const { page } = vscode;
  await vscode.openFromExplorer('obs-net.onnx');
  const editor = await vscode.editor();
  await row(editor, 'conv1').click();
  await row(editor, 'conv2').click({ modifiers: ['Control'] });
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  assert.equal(await row(editor, 'conv1').getAttribute('aria-selected'), 'true', 'conv1 selected');
  assert.equal(await row(editor, 'fc').getAttribute('aria-selected'), 'false', 'fc not selected');

  await vscode.runCommand('ONNX Lens: Prune Selected Layers…');
  await vscode.acceptInputValue('50%'); // the sparsity prompt's default
  await vscode.pickItem('Prune to 50%', 'OBS (SparseGPT)');
  await vscode.pickItem('Calibration data', file('calib_x.npy'));

  await waitForRow(editor, 'conv1', 'data-weight-sparsity', '0.5', 'after Prune → OBS (SparseGPT)');
  await waitForRow(editor, 'conv2', 'data-weight-sparsity', '0.5', 'after Prune → OBS (SparseGPT)');
  assert.equal(Number(await row(editor, 'fc').getAttribute('data-weight-sparsity')), 0, 'fc is not selected: untouched');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'obs-net.onnx' }).waitFor({ timeout: 15_000 });

  const saved = file('obs-net.obs50.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);
  assert.deepEqual(fs.readFileSync(file('obs-net.onnx')), fs.readFileSync(original), 'the original file is untouched');

  // The saved weights: conv1 and conv2 exactly half zero (their biases may move: the re-fit fits them too), fc as
  // it was.
  const was = initializers(original);
  const now = initializers(saved);
  for (const [w, n] of [['conv1.w', SMALL_NET.conv1.weightParams], ['conv2.w', SMALL_NET.conv2.weightParams]] as const) {
    assert.equal(now[w].dataType, DataType.FLOAT, `${w} stays float`);
    assert.equal(now[w].values.filter((v) => v === 0).length, n / 2, `${w}: half of its ${n} weights are zero`);
  }
  for (const t of ['fc.w', 'fc.b']) assert.deepEqual(now[t].values, was[t].values, `${t} untouched`);
  // OBS updates the weights it keeps (a magnitude prune leaves them as they were).
  for (const w of ['conv1.w', 'conv2.w']) {
    const moved = now[w].values.filter((v, i) => v !== 0 && Math.abs(v - was[w].values[i]) > 1e-4).length;
    assert.ok(moved > 0, `${w}: OBS changed none of the kept weights`);
    t.diagnostic(`${w}: ${moved} of ${now[w].values.length / 2} kept weights moved by more than 1e-4`);
  }
  const layers = Object.fromEntries(inspectJson(saved).layers.map((l) => [l.name, l]));
  assert.deepEqual([layers.conv1.bits, layers.conv2.bits, layers.fc.bits], [32, 32, 32], 'inspect --json: still float');
  assert.equal(layers.fc.zeros, 0, 'inspect --json: fc has no zeros');

  // onnxruntime: the saved model runs; its outputs differ from a plain magnitude prune of the same layers at the
  // same sparsity, and on the calibration data they are closer to the original model's.
  const magnitude = path.join(dir, 'magnitude50.onnx');
  cli('prune', original, '-o', magnitude, '--sparsity', '0.5', '--scope', 'layer', '--layers', 'conv1,conv2');
  const [yOriginal, yObs, yMagnitude] = [await outputs(original), await outputs(saved), await outputs(magnitude)];
  assert.ok(yObs.every(Number.isFinite), 'onnxruntime runs the saved model');
  const maxDiff = yObs.reduce((m, v, i) => Math.max(m, Math.abs(v - yMagnitude[i])), 0);
  assert.ok(maxDiff > 1e-3, `the OBS model's outputs equal the magnitude prune's (max difference ${maxDiff})`);
  const [eObs, eMagnitude] = [mse(yObs, yOriginal), mse(yMagnitude, yOriginal)];
  t.diagnostic(`output MSE to the original on ${CALIB_SAMPLES} calibration images: OBS ${eObs.toExponential(3)}, magnitude ${eMagnitude.toExponential(3)}`);
  assert.ok(eObs < eMagnitude, `output MSE to the original on the calibration data: OBS ${eObs} ≥ magnitude ${eMagnitude}`);
});

test('prune conv2 to 50 % with "structured channels, OBS": it keeps 8 of its 16 output channels (fc 8 of its inputs), the same weights `onnx-lens prune --structured --importance obs --reconstruct` gives', { timeout: 300_000 }, async () => {
  const { page } = vscode;
  await vscode.openFromExplorer('channels-net.onnx');
  const editor = await vscode.editor();
  await row(editor, 'conv2').click();
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  await vscode.runCommand('ONNX Lens: Prune Selected Layers…');
  await vscode.acceptInputValue('50%');
  await vscode.pickItem('Prune to 50%', 'structured channels, OBS');
  await vscode.pickItem('Calibration data', file('calib_x.npy'));
  await page.locator('.tabs-container .tab.dirty', { hasText: 'channels-net.onnx' }).waitFor({ timeout: 120_000 });
  // The step's progress notification stays up until the re-fit is done.
  await page.locator('.notifications-toasts .notification-list-item', { hasText: 'Prune conv2 to 50%' }).waitFor({ state: 'detached', timeout: 120_000 });

  const saved = file('channels-net.obs50.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);
  const now = initializers(saved);
  assert.equal(now['conv2.w'].values.length, 8 * 8 * 3 * 3, 'conv2 keeps 8 of its 16 output channels');
  assert.equal(now['fc.w'].values.length, 4 * 8, 'fc reads the 8 channels left');
  assert.deepEqual(now['conv1.w'].values, initializers(original)['conv1.w'].values, 'conv1 is not selected: untouched');
  // The CLI with the same method on the same layer and calibration data writes the same weights.
  const expected = path.join(dir, 'channels-obs50.onnx');
  cli('prune', original, '-o', expected, '--sparsity', '0.5', '--structured', '--importance', 'obs', '--reconstruct', '--calib', path.join(dir, 'calib_x.npy'), '--layers', 'conv2');
  const want = initializers(expected);
  for (const t of ['conv2.w', 'conv2.b', 'fc.w', 'fc.b']) {
    assert.equal(now[t].values.length, want[t].values.length, t);
    const diff = Array.from(now[t].values).reduce((m, v, i) => Math.max(m, Math.abs(v - want[t].values[i])), 0);
    assert.ok(diff <= 1e-6, `${t}: the editor's weights differ from the CLI's by ${diff}`);
  }
  assert.ok((await outputs(saved)).every(Number.isFinite), 'onnxruntime runs the saved model');
});

test('quantize conv2 to "int4 weights, GPTQ": 4 bits, codes that are not round-to-nearest, and on the calibration data closer to the original than round-to-nearest int4', { timeout: 300_000 }, async (t) => {
  const { page } = vscode;
  await vscode.openFromExplorer('gptq-net.onnx');
  const editor = await vscode.editor();
  await row(editor, 'conv2').click();
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  assert.equal(await row(editor, 'conv1').getAttribute('aria-selected'), 'false', 'conv1 not selected');

  await vscode.runCommand('ONNX Lens: Quantize Selected Layers…');
  await vscode.pickItem('Quantize conv2', 'int4 weights, GPTQ');
  await vscode.pickItem('Calibration data', file('calib_x.npy'));
  await waitForRow(editor, 'conv2', 'data-bits', '4', 'after Quantize → int4 weights, GPTQ');
  assert.equal(await row(editor, 'conv1').getAttribute('data-bits'), '32', 'conv1 is not selected: float');
  assert.equal(await row(editor, 'fc').getAttribute('data-bits'), '32', 'fc is not selected: float');
  // Before → after in the bits column (other changed cells, such as the sparsity of codes that round to 0, may come first).
  assert.equal(await row(editor, 'conv2').locator('td.changed', { hasText: /32 → 4/ }).count(), 1, 'the table marks 32 → 4 bits');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'gptq-net.onnx' }).waitFor({ timeout: 15_000 });

  const saved = file('gptq-net.int4.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);
  assert.deepEqual(fs.readFileSync(file('gptq-net.onnx')), fs.readFileSync(original), 'the original file is untouched');
  const bits = Object.fromEntries(inspectJson(saved).layers.map((l) => [l.name, l.bits]));
  assert.deepEqual(bits, { conv1: 32, conv2: 4, fc: 32 }, 'inspect --json on the saved model');

  const notNearest = int4CodesNotNearest(saved, 'conv2');
  assert.ok(notNearest.count > 0, 'every int4 code is the nearest one: GPTQ did not reach the step');
  t.diagnostic(`conv2: ${notNearest.count} of ${notNearest.of} int4 codes are not round-to-nearest`);

  // onnxruntime: the saved model runs, and on the calibration data (what GPTQ minimises the layer error on) it is
  // closer to the original model than the CLI's round-to-nearest int4 of the same layer.
  const nearest = path.join(dir, 'nearest-int4.onnx');
  cli('quantize', original, '-o', nearest, '--mode', 'weight', '--bits', '4', '--layers', 'conv2');
  const [yOriginal, yGptq, yNearest] = [await outputs(original), await outputs(saved), await outputs(nearest)];
  assert.ok(yGptq.every(Number.isFinite), 'onnxruntime runs the saved model');
  const [eGptq, eNearest] = [mse(yGptq, yOriginal), mse(yNearest, yOriginal)];
  t.diagnostic(`output MSE to the original on ${CALIB_SAMPLES} calibration images: GPTQ ${eGptq.toExponential(3)}, round-to-nearest ${eNearest.toExponential(3)}`);
  assert.ok(eGptq < eNearest, `output MSE to the original on the calibration data: GPTQ ${eGptq} ≥ round-to-nearest ${eNearest}`);
});

test('quantize conv2 to "static W4A8, GPTQ": 4 bits, its input quantized to 8 bits, GPTQ codes, and on the calibration data closer to the original than round-to-nearest W4A8', { timeout: 300_000 }, async (t) => {
  const { page } = vscode;
  await vscode.openFromExplorer('w4a8-net.onnx');
  const editor = await vscode.editor();
  await row(editor, 'conv2').click();
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });

  await vscode.runCommand('ONNX Lens: Quantize Selected Layers…');
  await vscode.pickItem('Quantize conv2', 'static W4A8, GPTQ');
  await vscode.pickItem('Calibration data', file('calib_x.npy'));
  await waitForRow(editor, 'conv2', 'data-bits', '4', 'after Quantize → static W4A8, GPTQ');
  assert.equal(await row(editor, 'conv1').getAttribute('data-bits'), '32', 'conv1 is not selected: float');
  assert.equal(await row(editor, 'fc').getAttribute('data-bits'), '32', 'fc is not selected: float');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'w4a8-net.onnx' }).waitFor({ timeout: 15_000 });

  const saved = file('w4a8-net.w4a8.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);
  assert.deepEqual(fs.readFileSync(file('w4a8-net.onnx')), fs.readFileSync(original), 'the original file is untouched');
  const bits = Object.fromEntries(inspectJson(saved).layers.map((l) => [l.name, l.bits]));
  assert.deepEqual(bits, { conv1: 32, conv2: 4, fc: 32 }, 'inspect --json on the saved model');

  // A8: conv2's input goes through QuantizeLinear → DequantizeLinear (8-bit activations).
  const nodes = readModelSync(saved).proto.graph!.node;
  const conv2 = nodes.find((n) => n.name === 'conv2');
  const dqInput = nodes.find((n) => n.opType === 'DequantizeLinear' && n.output[0] === conv2?.input[0]);
  const qInput = nodes.find((n) => n.opType === 'QuantizeLinear' && n.output[0] === dqInput?.input[0]);
  assert.ok(qInput, 'conv2 reads a quantized-dequantized activation');
  // W4 with GPTQ rounding.
  const notNearest = int4CodesNotNearest(saved, 'conv2');
  assert.ok(notNearest.count > 0, 'every int4 code is the nearest one: GPTQ did not reach the step');
  t.diagnostic(`conv2: ${notNearest.count} of ${notNearest.of} int4 codes are not round-to-nearest`);

  const nearest = path.join(dir, 'nearest-w4a8.onnx');
  cli('quantize', original, '-o', nearest, '--mode', 'static', '--bits', '4', '--layers', 'conv2', '--calib', path.join(dir, 'calib_x.npy'));
  const [yOriginal, yGptq, yNearest] = [await outputs(original), await outputs(saved), await outputs(nearest)];
  assert.ok(yGptq.every(Number.isFinite), 'onnxruntime runs the saved model');
  const [eGptq, eNearest] = [mse(yGptq, yOriginal), mse(yNearest, yOriginal)];
  t.diagnostic(`output MSE to the original on ${CALIB_SAMPLES} calibration images: W4A8 GPTQ ${eGptq.toExponential(3)}, round-to-nearest ${eNearest.toExponential(3)}`);
  assert.ok(eGptq < eNearest, `output MSE to the original on the calibration data: GPTQ ${eGptq} ≥ round-to-nearest ${eNearest}`);
});
