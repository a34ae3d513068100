// "ONNX Lens: Export for Microcontroller…" in a real VS Code (code-server + Chromium): the MNIST CNN as a static int8
// QDQ model exported from its editor (float I/O, with the C header) to a .tflite that carries the TFL3 identifier and
// equals what `onnx-lens export` writes from the same model, with the Nano 33 BLE verdict (onnxLens.device); the float
// model exported with the calibration data of the settings, and once quantized in the editor (unsaved), as shown; a
// layer the exporter has no converter for, marked in the layer table and the tooltip, and named in the warning the
// command shows before it starts (exported anyway: the CLI's one-line error, nothing written); the Explorer's context
// menu, with a board the model does not fit; and the refusal in Restricted Mode.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import { makeTensor } from '../../src/core/onnx/tensor';
import { encodeModel } from '../../src/core/onnx/write';
import { readTflite } from '../../src/core/tflite/read';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { QdqBuilder } from '../builders/qdqOps';
import { cli } from './benchWorkspace';
import { VsCode, waitFor } from './harness';

const COMMAND = 'ONNX Lens: Export for Microcontroller…';

/** x[1,2,6,6] → Conv 'conv' → ConvTranspose 'up' (no TFLite converter) → y. */
function convTransposeNet(): Uint8Array {
  const w = (n: number) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 10 || 0.05);
  return encodeModel(model(graph({
    name: 'up_net',
    nodes: [node('Conv', ['x', 'conv.w'], ['c'], {}, 'conv'), node('ConvTranspose', ['c', 'up.w'], ['y'], {}, 'up')],
    initializers: [makeTensor('conv.w', DataType.FLOAT, [4, 2, 3, 3], w(72)), makeTensor('up.w', DataType.FLOAT, [4, 2, 3, 3], w(72))],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 2, 6, 6])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 2, 6, 6])],
  }), { opset: 17 }));
}

/** A float classifier whose input has symbolic height and width: x[1,1,H,W] → Conv → Relu → GlobalAveragePool → Flatten → Gemm. */
function symbolicNet(): Uint8Array {
  const w = (n: number) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) / 10 || 0.05);
  return encodeModel(model(graph({
    name: 'symbolic_net',
    nodes: [
      node('Conv', ['x', 'conv.w', 'conv.b'], ['c'], { pads: [1, 1, 1, 1] }, 'conv'), node('Relu', ['c'], ['r'], {}, 'relu'),
      node('GlobalAveragePool', ['r'], ['p'], {}, 'pool'), node('Flatten', ['p'], ['f'], {}, 'flatten'),
      node('Gemm', ['f', 'fc.w', 'fc.b'], ['y'], { transB: 1 }, 'fc'),
    ],
    initializers: [
      makeTensor('conv.w', DataType.FLOAT, [4, 1, 3, 3], w(36)), makeTensor('conv.b', DataType.FLOAT, [4], [0.1, -0.1, 0.2, 0]),
      makeTensor('fc.w', DataType.FLOAT, [10, 4], w(40)), makeTensor('fc.b', DataType.FLOAT, [10], w(10)),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 1, 'H', 'W'])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 10])],
  }), { opset: 17 }));
}

/** An int8 QDQ model x → Conv 'c' → Tanh 'y': no calibration is asked, and the exporter refuses the Tanh. */
function convTanhQdq(): Uint8Array {
  const b = new QdqBuilder();
  const p = { scale: 0.05, zeroPoint: 0 };
  const x = b.quantized('x', p);
  b.initializers.push(
    makeTensor('w.q', DataType.INT8, [4, 4, 1, 1], Array.from({ length: 16 }, (_, i) => (i % 5) * 20 - 40)),
    makeTensor('w.scale', DataType.FLOAT, [], [0.01]), makeTensor('w.zp', DataType.INT8, [], [0]),
  );
  b.nodes.push(node('DequantizeLinear', ['w.q', 'w.scale', 'w.zp'], ['w'], {}, 'w.dq'));
  const c = b.quantized(b.op('Conv', [x, 'w'], 'c'), p);
  const y = b.quantized(b.op('Tanh', [c], 'y'), { scale: 1 / 128, zeroPoint: 0 });
  return encodeModel(b.model([1, 4, 4, 4], y, [1, 4, 4, 4]));
}

const failures = (vscode: VsCode) => [...vscode.allLogs().matchAll(/Export for Microcontroller of .* failed: (.*)/g)].map((m) => m[1]);

/** The text of the first notification toast that contains `text`; fails early when an export fails meanwhile. */
async function toast(vscode: VsCode, text: string, timeout = 120_000): Promise<string> {
  const item = vscode.page.locator('.notifications-toasts .notification-list-item', { hasText: text });
  const earlier = failures(vscode).length;
  await waitFor(`a notification with '${text}'`, timeout, async () => ((await item.count()) ? true : undefined), () => {
    const failed = failures(vscode).slice(earlier);
    if (failed.length) throw new Error(`the export failed: ${failed[0]}`);
  });
  return item.first().innerText();
}

describe('in a trusted workspace', () => {
  let vscode: VsCode;
  let reference: string;
  const file = (name: string) => path.join(vscode.workspace, name);

  before(async () => {
    const dir = tempDir();
    const calib = writeMnistNpy(dir, 'calib', 64).data;
    const int8 = path.join(dir, 'model.int8.onnx');
    cli('quantize', MNIST_MODEL, '-o', int8, '--mode', 'static', '--calib', calib, '--target', 'portable');
    reference = path.join(dir, 'reference.tflite');
    cli('export', int8, '-o', reference, '--io', 'float');
    const settings = { 'onnxLens.device': 'nano33ble', 'onnxLens.calibrationData': 'calib_x.npy' };
    vscode = await VsCode.start({
      name: 'export',
      // code-server saves an edited document when the focus moves to a dialog otherwise
      settings: { 'files.autoSave': 'off' },
      files: {
        'model.onnx': { copy: MNIST_MODEL }, 'model.int8.onnx': { copy: int8 }, 'calib_x.npy': { copy: calib }, 'up.onnx': convTransposeNet(),
        'tanh.onnx': convTanhQdq(), 'symbolic.onnx': symbolicNet(),
        '.vscode/settings.json': JSON.stringify(settings, null, 2),
      },
    });
  }, { timeout: 240_000 });

  after(async () => { await vscode?.close(); }, { timeout: 60_000 });

  test('an int8 QDQ model from its editor: float I/O and a C header; the .tflite has the TFL3 identifier, is what the CLI writes, and fits the Nano 33 BLE', { timeout: 240_000 }, async () => {
    await vscode.openFromExplorer('model.int8.onnx');
    await vscode.editor();
    await vscode.runCommand(COMMAND);
    // An int8 model is not calibrated: the first question is the I/O type.
    await vscode.pickItem('Export model.int8.onnx: input and output type', 'float');
    await vscode.pickItem('Export model.int8.onnx: C header', 'Also a C header (.h) for TFLite Micro');
    await vscode.saveDialog(file('model.int8.tflite'));
    const text = await toast(vscode, 'exported model.int8.tflite');
    await vscode.screenshot('export-done');

    const bytes = fs.readFileSync(file('model.int8.tflite'));
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'TFL3', 'the flatbuffer identifier at offset 4');
    assert.ok(bytes.equals(fs.readFileSync(reference)), 'the same bytes as onnx-lens export --io float writes from the same model');
    const header = fs.readFileSync(file('model.int8.h'), 'utf8');
    assert.match(header, /alignas\(16\)/, 'the C header holds the aligned array');
    assert.match(text, /and model\.int8\.h/, text);
    assert.match(text, /fits the Arduino Nano 33 BLE Sense/, `the onnxLens.device verdict: ${text}`);
    assert.match(text, /flash \d/, text);
  });

  test('a float model: calibrated with the data of the settings, int8 I/O, no header', { timeout: 240_000 }, async () => {
    await vscode.openFromExplorer('model.onnx');
    await vscode.editor();
    await vscode.runCommand(COMMAND);
    await vscode.pickItem('Calibration data', file('calib_x.npy'));
    await vscode.pickItem('Export model.onnx: input and output type', 'int8');
    await vscode.pickItem('Export model.onnx: C header', 'Only the .tflite');
    await vscode.saveDialog(file('model.tflite'));
    await toast(vscode, 'exported model.tflite');
    assert.equal(fs.readFileSync(file('model.tflite')).subarray(4, 8).toString('latin1'), 'TFL3');
    assert.equal(fs.existsSync(file('model.h')), false, 'no header was asked for');
  });

  test('an edited (unsaved) model is exported as shown: quantized static int8 in the editor, it is not calibrated again, and the file on disk stays as it was', { timeout: 240_000 }, async () => {
    const saved = fs.readFileSync(file('model.onnx'));
    await vscode.openFromExplorer('model.onnx');
    await vscode.editor();
    await vscode.runCommand('ONNX Lens: Quantize Model…');
    await vscode.pickItem('Quantize the model', 'static int8');
    await vscode.pickItem('Calibration data', file('calib_x.npy'));
    await vscode.page.locator('.tabs-container .tab.dirty', { hasText: 'model.onnx' }).waitFor({ timeout: 120_000 });
    const editor = await vscode.editor();
    // The editor shows the quantized model once its analysis is back: 8-bit layers in the table.
    await editor.locator('[data-testid="layer-row"]', { hasText: 'qdq' }).first().waitFor({ timeout: 60_000 });
    await vscode.runCommand(COMMAND);
    // The document's model is int8 QDQ now: the first question is the I/O type, not the calibration data.
    await vscode.pickItem('Export model.onnx: input and output type', 'float');
    await vscode.pickItem('Export model.onnx: C header', 'Only the .tflite');
    await vscode.saveDialog(file('edited.tflite'));
    await toast(vscode, 'exported edited.tflite');
    assert.equal(fs.readFileSync(file('edited.tflite')).subarray(4, 8).toString('latin1'), 'TFL3');
    assert.ok(fs.readFileSync(file('model.onnx')).equals(saved), 'model.onnx on disk is unchanged');
    assert.equal(await vscode.page.locator('.tabs-container .tab.dirty', { hasText: 'model.onnx' }).count(), 1, 'the document stays edited (unsaved)');
  });

  test('a layer without a TFLite converter: ⚠ in the layer table, a tooltip row, and a warning naming it before the export starts', { timeout: 240_000 }, async () => {
    await vscode.openFromExplorer('up.onnx');
    const editor = await vscode.editor();
    const mark = editor.locator('[data-testid="layer-row"][data-layer="up"] .export-blocked');
    await mark.waitFor({ timeout: 60_000 });
    assert.equal(await mark.getAttribute('title'), 'not exportable to TFLite: ConvTranspose');
    assert.equal(await editor.locator('[data-testid="layer-row"][data-layer="conv"] .export-blocked').count(), 0, 'Conv is exportable');
    await editor.locator('[data-testid="layer-bar"][data-layer="up"]').hover();
    const tooltip = editor.locator('[data-testid="tooltip"]');
    await tooltip.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await tooltip.innerText(), /not exportable to TFLite: ConvTranspose/);
    await vscode.screenshot('export-unsupported-layer');

    await vscode.runCommand(COMMAND);
    const dialog = vscode.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await dialog.innerText(), /cannot convert: ConvTranspose \(up\)/);
    await vscode.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
    assert.equal(fs.existsSync(file('up.tflite')), false, 'nothing is written');
  });

  test('exported anyway, a model with an op the exporter refuses: the CLI\'s one line as an error, nothing written', { timeout: 240_000 }, async () => {
    await vscode.openFromExplorer('tanh.onnx');
    await vscode.editor();
    await vscode.runCommand(COMMAND);
    const dialog = vscode.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await dialog.innerText(), /cannot convert: Tanh \(y\)/);
    await dialog.locator('.monaco-button', { hasText: 'Export Anyway' }).click();
    await vscode.pickItem('Export tanh.onnx: input and output type', 'float');
    await vscode.pickItem('Export tanh.onnx: C header', 'Also a C header (.h) for TFLite Micro');
    // The save dialog (VS Code's simple file dialog): the export then fails, so there is no file to wait for.
    const input = vscode.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await waitFor('the save dialog to show tanh.tflite', 15_000, async () => {
      if ((await input.inputValue()) === file('tanh.tflite')) return true;
      await input.fill(file('tanh.tflite'));
      await new Promise((r) => setTimeout(r, 500));
      return undefined;
    });
    await vscode.page.keyboard.press('Enter');
    const error = vscode.page.locator('.notifications-toasts .notification-list-item', { hasText: 'Tanh cannot be exported to TFLite' });
    await error.first().waitFor({ timeout: 60_000 });
    const text = await error.first().innerText();
    assert.match(text, /tanh\.onnx/, `the line names the file: ${text}`);
    assert.equal(fs.existsSync(file('tanh.tflite')), false, 'no .tflite');
    assert.equal(fs.existsSync(file('tanh.h')), false, 'no header');
  });

  test('a model with symbolic height and width: the export asks for the input shape and the .tflite takes exactly that size', { timeout: 240_000 }, async () => {
    await vscode.openFromExplorer('symbolic.onnx');
    await vscode.editor();
    await vscode.runCommand(COMMAND);
    const box = vscode.page.locator('.quick-input-widget input.input');
    await vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Export symbolic.onnx: input shapes' }).waitFor({ timeout: 15_000 });
    assert.equal(await box.inputValue(), 'x=1,1,?,?', 'starts from the declared dims, batch 1');
    await vscode.fillInput('Export symbolic.onnx: input shapes', 'x=1,1,28,28');
    await vscode.pickItem('Calibration data', file('calib_x.npy'));
    await vscode.pickItem('Export symbolic.onnx: input and output type', 'float');
    await vscode.pickItem('Export symbolic.onnx: C header', 'Only the .tflite');
    await vscode.saveDialog(file('symbolic.tflite'));
    await toast(vscode, 'exported symbolic.tflite');
    const summary = readTflite(fs.readFileSync(file('symbolic.tflite')));
    assert.deepEqual(summary.tensors[summary.inputs[0]].shape, [1, 28, 28, 1], 'NHWC input of the size given');
  });

  test("from the Explorer's context menu on a model that is not the active editor: read from the file, int8 I/O; a board it does not fit is a warning saying by how much", { timeout: 240_000 }, async () => {
    const page = vscode.page;
    // A board of 16 KiB flash and 8 KiB RAM: the MNIST CNN's .tflite (tens of KB) does not fit its flash.
    const tiny = { name: 'tiny', title: 'Tiny board', flashKB: 16, ramKB: 8, macsPerSecond: 1e6 };
    fs.writeFileSync(file('.vscode/settings.json'), JSON.stringify({ 'onnxLens.device': 'tiny', 'onnxLens.deviceProfiles': [tiny] }, null, 2));
    const row = page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: /^model\.int8\.onnx$/ }) });
    await row.first().click({ button: 'right' });
    const item = page.locator('.context-view .monaco-menu .action-item', { has: page.locator('.action-label', { hasText: /^Export for Microcontroller…$/ }) });
    // The menu acts on the focused item: hover focuses it, Enter runs it.
    await item.hover({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    await vscode.pickItem('Export model.int8.onnx: input and output type', 'int8');
    await vscode.pickItem('Export model.int8.onnx: C header', 'Only the .tflite');
    await vscode.saveDialog(file('explorer.tflite'));
    await toast(vscode, 'exported explorer.tflite');
    const bytes = fs.readFileSync(file('explorer.tflite'));
    const over = bytes.length - 16 * 1024;
    assert.ok(over >= 10 * 1024, `the .tflite (${bytes.length} bytes) is 10 KB or more over 16 KB: the excess reads as xx.x KB`);
    const warning = await toast(vscode, 'does not fit the Tiny board', 15_000);
    assert.match(warning, new RegExp(`exceeds its 16\\.0 KB flash by ${(over / 1024).toFixed(1).replace('.', '\\.')} KB`), warning);
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'TFL3');
    assert.equal(bytes.equals(fs.readFileSync(file('model.int8.tflite'))), false, 'int8 I/O: no QUANTIZE/DEQUANTIZE at the edges, other bytes than the float-I/O export');
  });
});

describe('in an untrusted workspace (Restricted Mode)', () => {
  let vscode: VsCode;

  before(async () => {
    vscode = await VsCode.start({ name: 'export-untrusted', workspaceTrust: true, files: { 'model.onnx': { copy: MNIST_MODEL } } });
  }, { timeout: 240_000 });

  after(async () => { await vscode?.close(); }, { timeout: 60_000 });

  test('Export for Microcontroller is refused with a message saying why, before any question', { timeout: 120_000 }, async () => {
    await vscode.openFromExplorer('model.onnx');
    await vscode.editor();
    await vscode.runCommand(COMMAND);
    const text = await toast(vscode, 'Export for Microcontroller is disabled in Restricted Mode', 15_000);
    assert.match(text, /calibrated by running it in onnxruntime/);
    assert.match(text, /Manage Workspace Trust/);
    assert.equal(await vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: 'Calibration data' }).isVisible(), false, 'no question was asked');
    assert.equal(fs.existsSync(path.join(vscode.workspace, 'model.tflite')), false);
  });
});
