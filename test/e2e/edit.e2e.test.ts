// Editing in the ONNX Lens editor, in a real VS Code (code-server + Chromium): select layers, quantize / prune them
// through the commands, undo / redo, Save As (checked by `onnx-lens inspect` and onnxruntime), the webview context
// menu, and hot exit restoring an unsaved edit. The edits run the real `onnx-lens apply` from the packaged CLI.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { ModelReport } from '../../src/core/analysis/report';
import { VsCode } from './harness';
import { SMALL_NET, smallNet } from './models';

const inspectJson = (file: string): ModelReport =>
  JSON.parse(execFileSync(process.execPath, ['dist/cli.js', 'inspect', file, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 }));

const row = (editor: FrameLocator, layer: string) => editor.locator(`[data-testid="layer-row"][data-layer="${layer}"]`);

/** data-bits of every table row, by layer name. */
async function rowBits(editor: FrameLocator): Promise<Record<string, number>> {
  const pairs = await editor.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-layer'), Number(e.getAttribute('data-bits'))]));
  return Object.fromEntries(pairs);
}

/** Waits until the table shows `bits` (by layer), failing with what it shows. */
async function waitForBits(editor: FrameLocator, want: Record<string, number>, what: string): Promise<void> {
  const end = Date.now() + 90_000;
  let shown: Record<string, number> = {};
  while (Date.now() < end) {
    shown = await rowBits(editor).catch(() => ({}));
    if (Object.entries(want).every(([k, v]) => shown[k] === v)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: the table shows ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}`);
}

async function selectTwo(editor: FrameLocator): Promise<void> {
  await row(editor, 'conv1').click();
  await row(editor, 'conv2').click({ modifiers: ['Control'] });
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  assert.equal(await row(editor, 'conv1').getAttribute('aria-selected'), 'true', 'conv1 selected');
  assert.equal(await row(editor, 'fc').getAttribute('aria-selected'), 'false', 'fc not selected');
}

/** Accepts the focused quick-pick row (after checking that a row with `label` is there) with Enter. */
const EXPECT_QUANTIZED = { conv1: 8, conv2: 8, fc: 32 };
const EXPECT_FLOAT = { conv1: 32, conv2: 32, fc: 32 };

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.start({
    name: 'edit',
    files: { 'small-net.onnx': smallNet(), 'prune-net.onnx': smallNet() },
    // VS Code for the Web (code-server) saves after a delay by default: an edit must stay unsaved until Save.
    settings: { 'files.autoSave': 'off' },
  });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

test('quantize two selected layers to int8 weights only, undo, redo, Save As: inspect and onnxruntime agree', { timeout: 300_000 }, async () => {
  const { page } = vscode;
  await vscode.openFromExplorer('small-net.onnx');
  const editor = await vscode.editor();
  await waitForBits(editor, EXPECT_FLOAT, 'as opened');
  await selectTwo(editor);

  await vscode.runCommand('ONNX Lens: Quantize Selected Layers…');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'int8 weights only' }).waitFor({ timeout: 15_000 });
  const choices = await page.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts();
  for (const c of ['int8 weights only', 'int4 weights only', 'dynamic int8', 'static int8']) assert.ok(choices.some((t) => t.includes(c)), `quick pick offers ${c}: ${choices}`);
  await vscode.pickItem('Quantize 2 layers', 'int8 weights only');
  await waitForBits(editor, EXPECT_QUANTIZED, 'after Quantize Selected Layers → int8 weights only');
  // Before → after: the table marks the original bit width, the tab is dirty, the selection survived the re-render.
  assert.match(await row(editor, 'conv1').locator('td.changed').first().innerText(), /32 → 8/);
  assert.equal(await row(editor, 'conv1').getAttribute('aria-selected'), 'true', 'conv1 still selected after the edit');
  assert.equal(await row(editor, 'conv2').getAttribute('aria-selected'), 'true', 'conv2 still selected after the edit');
  await page.locator('.tabs-container .tab.dirty', { hasText: 'small-net.onnx' }).waitFor({ timeout: 15_000 });
  assert.ok(Number(await editor.locator('[data-testid="summary-compression"]').getAttribute('data-value')) > 1, 'the header shows the ratio to the original');

  await editor.locator('[data-testid="summary-params"]').click();
  await page.keyboard.press('Control+z');
  await waitForBits(editor, EXPECT_FLOAT, 'after Ctrl+Z');
  await page.keyboard.press('Control+Shift+z');
  await waitForBits(editor, EXPECT_QUANTIZED, 'after Ctrl+Shift+Z');
  // Ctrl+Z in the table's filter box undoes the typing, not the model edit.
  const filter = editor.locator('[data-testid="table-filter"]');
  await filter.click();
  await page.keyboard.type('c');
  await page.keyboard.press('Control+z');
  await new Promise((r) => setTimeout(r, 1_000));
  await waitForBits(editor, EXPECT_QUANTIZED, 'after Ctrl+Z in the filter box');
  await filter.evaluate((el) => { (el as HTMLElement & { value: string }).value = ''; el.dispatchEvent(new Event('input')); });

  const saved = path.join(vscode.workspace, 'small-net.int8.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);
  assert.deepEqual(Buffer.from(fs.readFileSync(path.join(vscode.workspace, 'small-net.onnx'))), Buffer.from(smallNet()), 'the original file is untouched');

  const report = inspectJson(saved);
  const bits = Object.fromEntries(report.layers.map((l) => [l.name, l.bits]));
  assert.deepEqual(bits, EXPECT_QUANTIZED, 'inspect --json on the saved model');
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(saved);
  const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i)), [1, 3, 16, 16]);
  const y = (await session.run({ x })).y;
  assert.deepEqual(y.dims, [1, 4]);
  assert.ok([...(y.data as Float32Array)].every(Number.isFinite), 'onnxruntime runs the saved model');
});

test('prune the selected layers to 50 %: those layers, and only those, show 50 % of their weights zero', { timeout: 180_000 }, async () => {
  const { page } = vscode;
  await vscode.openFromExplorer('prune-net.onnx');
  const editor = await vscode.editor();
  await selectTwo(editor);
  await vscode.runCommand('ONNX Lens: Prune Selected Layers…');
  await vscode.acceptInputValue('50%'); // the sparsity prompt's default
  const methods = page.locator('.quick-input-list .monaco-list-row .label-name');
  await methods.first().waitFor({ timeout: 15_000 });
  assert.deepEqual((await methods.allInnerTexts()).slice(0, 3), ['magnitude', 'magnitude + reconstruct', 'structured channels']);
  await page.keyboard.press('Enter');
  await row(editor, 'conv1').and(editor.locator('[data-weight-sparsity="0.5"]')).waitFor({ timeout: 90_000 });
  const weightSparsity = async (l: string) => Number(await row(editor, l).getAttribute('data-weight-sparsity'));
  assert.equal(await weightSparsity('conv1'), 0.5);
  assert.equal(await weightSparsity('conv2'), 0.5);
  assert.equal(await weightSparsity('fc'), 0, 'fc is not selected: untouched');
  // The layer's sparsity counts its bias too (never pruned): 108 of 216 weights + 8 biases.
  assert.ok(Math.abs(Number(await row(editor, 'conv1').getAttribute('data-sparsity')) - SMALL_NET.conv1.weightParams / 2 / (SMALL_NET.conv1.weightParams + SMALL_NET.conv1.biasParams)) < 1e-9);
  assert.match(await row(editor, 'conv1').innerText(), /0\.0% → 48\.2%/);
  // The histogram follows the selection kept across the edit and shows the pruned weights: half of them zero.
  const zeroBin = editor.locator('[data-testid="histogram"][data-layer="conv1"][data-ready="true"] [data-testid="histogram-zero"]');
  await zeroBin.waitFor({ timeout: 20_000 });
  assert.equal(Number(await zeroBin.getAttribute('data-count')), SMALL_NET.conv1.weightParams / 2);
});

test('the webview context menu offers the actions on a selected layer', { timeout: 60_000 }, async () => {
  const editor = await vscode.editor();
  await row(editor, 'fc').click({ button: 'right' });
  const menu = vscode.page.locator('.context-view .monaco-menu');
  await menu.waitFor({ timeout: 15_000 });
  const items = await menu.locator('.action-label').allInnerTexts();
  for (const label of ['Quantize Selected Layers…', 'Prune Selected Layers…', 'Keep Selected Layers in Float', 'Show Histogram']) {
    assert.ok(items.some((t) => t.includes(label)), `context menu shows ${label}: ${JSON.stringify(items)}`);
  }
  assert.equal(await row(editor, 'fc').getAttribute('aria-selected'), 'true', 'right-click selected the row');
  await vscode.page.keyboard.press('Escape');
});

test('Ctrl+. in the editor opens the actions quick pick; Escape changes nothing', { timeout: 60_000 }, async () => {
  const editor = await vscode.editor();
  await row(editor, 'conv1').click();
  await vscode.page.keyboard.press('Control+.');
  const first = vscode.page.locator('.quick-input-list .monaco-list-row .label-name').first();
  await first.waitFor({ timeout: 15_000 });
  assert.equal(await first.innerText(), 'Quantize Selected Layers…');
  await vscode.page.keyboard.press('Escape');
  assert.equal(await row(editor, 'conv1').getAttribute('data-bits'), '32');
});

test('hot exit: an unsaved edit is restored after the window reloads', { timeout: 300_000 }, async () => {
  const hot = await VsCode.start({ name: 'edit-hot-exit', files: { 'hot.onnx': smallNet() }, settings: { 'files.hotExit': 'onExitAndWindowClose', 'files.autoSave': 'off' } });
  try {
    const { page } = hot;
    await hot.openFromExplorer('hot.onnx');
    let editor = await hot.editor();
    await selectTwo(editor);
    await hot.runCommand('ONNX Lens: Quantize Selected Layers…');
    await hot.pickItem('Quantize 2 layers', 'int8 weights only');
    await waitForBits(editor, EXPECT_QUANTIZED, 'after the edit');
    await page.locator('.tabs-container .tab.dirty', { hasText: 'hot.onnx' }).waitFor({ timeout: 15_000 });
    // VS Code backs dirty documents up a moment after they change.
    await new Promise((r) => setTimeout(r, 4000));
    await page.locator('.tabs-container .tab.dirty', { hasText: 'hot.onnx' }).waitFor({ timeout: 15_000 });
    await hot.runCommand('Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.tabs-container .tab', { hasText: 'hot.onnx' }).waitFor({ timeout: 60_000 });
    editor = await hot.editor();
    await waitForBits(editor, EXPECT_QUANTIZED, 'after the reload');
    await page.locator('.tabs-container .tab.dirty', { hasText: 'hot.onnx' }).waitFor({ timeout: 15_000 });
    assert.deepEqual(Buffer.from(fs.readFileSync(path.join(hot.workspace, 'hot.onnx'))), Buffer.from(smallNet()), 'nothing was saved');
  } finally {
    await hot.close();
  }
});
