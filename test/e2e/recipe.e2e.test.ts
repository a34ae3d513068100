// Recipes in a real VS Code (code-server + Chromium): a *.onnxlens.yaml naming a model in the workspace gets
// hovers with the layer's statistics, quick fixes that edit the YAML, and problems for unknown layers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseRecipe } from '../../src/core/recipe/parse';
import { VsCode, waitFor } from './harness';
import { SMALL_NET, smallNet } from './models';

const RECIPE_FILE = 'small.onnxlens.yaml';
const RECIPE = `model: small-net-pruned.onnx
output: small-net.int8.onnx
steps:
  - prune: { sparsity: 0.5, layers: [conv1, fc] }
  - quantize: { mode: weight, exclude: [conv9] }
`;

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.start({
    name: 'recipe',
    // conv1 has every other weight zeroed: its hover must say so.
    files: { 'small-net-pruned.onnx': smallNet({ pruneConv1: true }), [RECIPE_FILE]: RECIPE },
  });
  await vscode.openFromExplorer(RECIPE_FILE);
  await vscode.page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

/** The editor's rendered token exactly `text` (Monaco renders each YAML token in its own span). */
const token = (text: string) => vscode.page.locator('.monaco-editor .view-lines span span', { hasText: new RegExp(`^${text}$`) }).first();

test('the recipe opens as an ONNX Lens Recipe with an Apply recipe CodeLens', { timeout: 60_000 }, async () => {
  await vscode.page.locator('.statusbar-item', { hasText: /^ONNX Lens Recipe$/ }).first().waitFor({ timeout: 30_000 });
  await vscode.page.locator('.monaco-editor .codelens-decoration', { hasText: 'Apply recipe' }).first().waitFor({ timeout: 30_000 });
});

test('an unknown layer name shows in the Problems panel', { timeout: 90_000 }, async () => {
  const rows = await waitFor('the unknown-layer problem', 60_000, async () => {
    const texts = await vscode.problems();
    return texts.some((t) => t.includes("unknown layer 'conv9'")) ? texts : undefined;
  });
  const row = rows.find((t) => t.includes("unknown layer 'conv9'"))!;
  assert.match(row, /small-net-pruned\.onnx has no node of that name \(did you mean 'conv1'\?\)/);
  const line = RECIPE.split('\n')[4];
  assert.ok(row.includes(`[Ln 5, Col ${line.indexOf('conv9') + 1}]`), `at conv9 in the quantize step (${line}):\n${row}`);
  assert.equal(rows.filter((t) => /unknown layer|matches no/.test(t)).length, 1, `only conv9 is unknown:\n${rows.join('\n')}`);
  // Back to the editor for the next tests.
  await vscode.page.keyboard.press('Control+Shift+M');
});

test('hovering a layer name shows its statistics', { timeout: 90_000 }, async () => {
  const { conv1, conv1Zeroed } = SMALL_NET;
  const params = conv1.weightParams + conv1.biasParams; // 216 + 8 = 224
  const sparsity = `${((100 * conv1Zeroed) / params).toFixed(1)}%`; // 108 / 224 = 48.2 %
  const hover = vscode.page.locator('.monaco-hover').filter({ hasText: 'Sparsity' }).first();
  await waitFor('the hover on conv1', 60_000, async () => {
    await token('conv1').hover();
    await vscode.page.waitForTimeout(800);
    return (await hover.isVisible()) ? true : undefined;
  }, undefined);
  const text = await hover.innerText();
  for (const part of ['conv1', 'Conv', '8×3×3×3', String(params), String(conv1Zeroed), sparsity, 'float']) {
    assert.ok(text.includes(part), `the hover shows ${JSON.stringify(part)}:\n${text}`);
  }
  await vscode.screenshot('hover', hover);
  await vscode.page.keyboard.press('Escape');
  await vscode.page.mouse.move(5, 5);
});

test('Ctrl+. on a layer name offers "Exclude this layer", which edits the YAML', { timeout: 90_000 }, async () => {
  await token('conv1').click();
  const item = vscode.page.locator('.action-widget .monaco-list-row', { hasText: 'Exclude this layer from the prune step' }).first();
  await waitFor('the quick fix menu', 30_000, async () => {
    await vscode.page.keyboard.press('Control+.');
    try { await item.waitFor({ timeout: 3_000 }); return true; } catch { await vscode.page.keyboard.press('Escape'); return undefined; }
  });
  const offered = await vscode.page.locator('.action-widget .monaco-list-row').allInnerTexts();
  assert.ok(offered.some((t) => t.includes('Quantize this layer to int8 per-channel')), offered.join('\n'));
  assert.ok(offered.some((t) => t.includes('Add reconstruct')), offered.join('\n'));
  await item.click();
  await vscode.page.keyboard.press('Control+S');
  const file = path.join(vscode.workspace, RECIPE_FILE);
  const saved = await waitFor('the edited recipe on disk', 15_000, () => {
    const t = fs.readFileSync(file, 'utf8');
    return t !== RECIPE ? t : undefined;
  });
  const parsed = parseRecipe(saved);
  assert.deepEqual(parsed.problems, [], saved);
  assert.deepEqual(parsed.recipe!.steps[0], { kind: 'prune', sparsity: 0.5, layers: ['conv1', 'fc'], exclude: ['name:conv1'] });
  assert.deepEqual(parsed.recipe!.steps[1], { kind: 'quantize', mode: 'weight', exclude: ['conv9'] }, 'the other step is as it was');
});

test('completion in a layers list offers the model\'s layers and op types', { timeout: 60_000 }, async () => {
  await token('conv1').click();
  await vscode.page.keyboard.press('Control+End');
  // Auto-closing brackets complete the line to `layers: [] }` around the cursor.
  await vscode.page.keyboard.type('  - prune: { sparsity: 0.3, layers: [');
  const rows = vscode.page.locator('.suggest-widget .monaco-list-row');
  const labels = await waitFor('the suggestions', 30_000, async () => {
    await vscode.page.keyboard.press('Control+Space');
    await vscode.page.waitForTimeout(500);
    const texts = await rows.allInnerTexts();
    return texts.some((t) => t.includes('name:conv2')) ? texts : undefined;
  });
  for (const want of ['name:conv1', 'name:fc', 'op:Conv', 'op:Gemm']) {
    assert.ok(labels.some((t) => t.includes(want)), `${want} offered:\n${labels.join('\n')}`);
  }
  await vscode.page.keyboard.press('Escape');
});
