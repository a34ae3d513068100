// Export Recipe in a real VS Code (code-server + Chromium): after edits in the editor (two layers quantized to int8
// weights only, one pruned to 50 %), the exported *.onnxlens.yaml replayed by `onnx-lens apply` gives exactly the
// initializers of the editor's model as saved with Save As.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { TensorProto } from '../../src/core/onnx/proto';
import { forEachGraph, readModelSync } from '../../src/core/onnx/read';
import { rawBytes, tensorValues } from '../../src/core/onnx/tensor';
import { VsCode } from './harness';
import { SMALL_NET, smallNet } from './models';

const row = (editor: FrameLocator, layer: string) => editor.locator(`[data-testid="layer-row"][data-layer="${layer}"]`);

/** Waits until the table row of `layer` has `attribute` = `value`. */
async function waitForRow(editor: FrameLocator, layer: string, attribute: string, value: string): Promise<void> {
  await row(editor, layer).and(editor.locator(`[${attribute}="${value}"]`)).waitFor({ timeout: 90_000 });
}

/** Every initializer of the model (subgraphs included), by name. */
function initializers(file: string): { byName: Map<string, TensorProto>; src: { file?: string; dir?: string } } {
  const model = readModelSync(file);
  const byName = new Map<string, TensorProto>();
  forEachGraph(model.proto.graph!, (g) => { for (const t of g.initializer) byName.set(t.name, t); });
  return { byName, src: model };
}

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.start({ name: 'recipe-export', files: { 'small-net.onnx': smallNet() }, settings: { 'files.autoSave': 'off' } });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

test('Export Recipe after quantize + prune edits: onnx-lens apply of the recipe and Save As give identical initializers', { timeout: 300_000 }, async () => {
  const { page, workspace } = vscode;
  await vscode.openFromExplorer('small-net.onnx');
  const editor = await vscode.editor();

  // Quantize conv1 and conv2 to int8, weights only.
  await row(editor, 'conv1').click();
  await row(editor, 'conv2').click({ modifiers: ['Control'] });
  await row(editor, 'conv2').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  await vscode.runCommand('ONNX Lens: Quantize Selected Layers…');
  await vscode.pickItem('Quantize 2 layers', 'int8 weights only');
  await waitForRow(editor, 'conv1', 'data-bits', '8');
  await waitForRow(editor, 'conv2', 'data-bits', '8');

  // Prune fc to 50 % (magnitude): the prompts' defaults, accepted with Enter.
  await row(editor, 'fc').click();
  await row(editor, 'fc').and(editor.locator('[aria-selected="true"]')).waitFor({ timeout: 10_000 });
  assert.equal(await row(editor, 'conv1').getAttribute('aria-selected'), 'false', 'only fc is selected');
  await vscode.runCommand('ONNX Lens: Prune Selected Layers…');
  const input = page.locator('.quick-input-widget input.input');
  const end = Date.now() + 15_000;
  while ((await input.inputValue().catch(() => '')) !== '50%' && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'magnitude' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  await waitForRow(editor, 'fc', 'data-weight-sparsity', '0.5');
  assert.equal(await row(editor, 'conv1').getAttribute('data-bits'), '8', 'the prune kept the quantized layers');
  assert.equal(await row(editor, 'fc').getAttribute('data-bits'), '32', 'fc stays float');
  // fc is edited: its histogram shows 32 zeros now, and overlays the distribution as opened (no zeros).
  await row(editor, 'fc').click();
  await editor.locator('[data-testid="histogram"][data-ready="true"] [data-testid="histogram-zero"]').waitFor({ timeout: 30_000 });
  assert.equal(await editor.locator('[data-testid="histogram-zero"]').getAttribute('data-count'), String(SMALL_NET.fc.weightParams / 2));
  await editor.locator('[data-testid="histogram-original"]').waitFor({ timeout: 30_000 });
  assert.equal(await editor.locator('[data-testid="histogram-original"]').getAttribute('data-zeros'), '0', 'fc as opened has no zero weights');

  const recipe = path.join(workspace, 'small-net.onnxlens.yaml');
  await vscode.runCommand('ONNX Lens: Export Recipe…');
  await vscode.saveDialog(recipe);
  const text = fs.readFileSync(recipe, 'utf8');
  assert.match(text, /^model: small-net\.onnx$/m, `the recipe names the model:\n${text}`);
  assert.equal(text.match(/^ {2}- (quantize|prune):/gm)?.length, 2, `two steps:\n${text}`);

  const saved = path.join(workspace, 'small-net.saved.onnx');
  await vscode.runCommand('File: Save As...');
  await vscode.saveDialog(saved);

  const applied = path.join(workspace, 'small-net.applied.onnx');
  execFileSync(process.execPath, ['dist/cli.js', 'apply', recipe, '-o', applied], { encoding: 'utf8' });

  const a = initializers(applied), s = initializers(saved);
  assert.deepEqual([...a.byName.keys()].sort(), [...s.byName.keys()].sort(), 'the same initializers');
  for (const [name, t] of a.byName) {
    const u = s.byName.get(name)!;
    assert.equal(t.dataType, u.dataType, `${name}: data type`);
    assert.deepEqual(t.dims.map(Number), u.dims.map(Number), `${name}: dims`);
    assert.ok(Buffer.from(rawBytes(t, a.src)).equals(Buffer.from(rawBytes(u, s.src))), `${name}: bytes differ`);
  }

  // The models compared are the edited ones, not two copies of the original: checked against hand counts.
  assert.ok([...a.byName.values()].some((t) => t.dataType === 3 /* INT8 */), 'int8 weights are stored');
  const fcWeight = a.byName.get('fc.w');
  assert.ok(fcWeight, 'fc.w is still an initializer');
  const zeros = [...tensorValues(fcWeight, a.src)].filter((v) => v === 0).length;
  assert.equal(zeros, SMALL_NET.fc.weightParams / 2, `half of fc's ${SMALL_NET.fc.weightParams} weights are zero`);
});
