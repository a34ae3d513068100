// "ONNX Lens: Compare With…" in a real VS Code (code-server + Chromium): a model and its weight-only int8 copy side
// by side, checked against the files themselves and against the CLI's own `inspect` / `compare` of them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { ModelReport } from '../../src/core/analysis/report';
import type { ModelComparison } from '../../src/core/eval/compareModels';
import { encodeNpy } from '../../src/core/eval/npy';
import { VsCode, waitFor } from './harness';
import { smallNet } from './models';

const cli = (...args: string[]) => execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

let vscode: VsCode;
let dir: string;
const files = { a: '', b: '', data: '' };

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-compare-'));
  files.a = path.join(dir, 'small-net.onnx');
  files.b = path.join(dir, 'small-net.int8.onnx');
  files.data = path.join(dir, 'val.npy');
  fs.writeFileSync(files.a, smallNet());
  cli('quantize', files.a, '-o', files.b, '--mode', 'weight');
  // 8 deterministic inputs [8, 3, 16, 16] for "Measure on data…"
  const x = Float32Array.from({ length: 8 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37) * 1.5);
  fs.writeFileSync(files.data, encodeNpy(x, [8, 3, 16, 16]));
  vscode = await VsCode.start({
    name: 'compare',
    files: { 'small-net.onnx': { copy: files.a }, 'small-net.int8.onnx': { copy: files.b }, 'val.npy': { copy: files.data } },
    // relative to the workspace folder, as the setting is documented
    settings: { 'onnxLens.evaluationData': 'val.npy' },
  });
}, { timeout: 240_000 });

after(async () => {
  await vscode?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

/** The compare panel's frame, once its layers are shown. */
async function comparePanel(): Promise<FrameLocator> {
  const frame = await vscode.editor();
  await frame.locator('#app[data-mode="compare"]').waitFor({ timeout: 60_000 });
  return frame;
}

test('Compare With… from the palette: A is the open model, B is picked; the quantized layers show 32 → 8 bits and the size ratio is the files\'', { timeout: 180_000 }, async () => {
  const quantized = (JSON.parse(cli('inspect', files.b, '--json')) as ModelReport).layers.filter((l) => l.bits === 8).map((l) => l.name);
  const original = JSON.parse(cli('inspect', files.a, '--json')) as ModelReport;
  assert.ok(quantized.length >= 2, `weight-only quantization stores int8 weights for some layers (${quantized.join(', ')})`);
  assert.ok(original.layers.every((l) => l.bits === 32), 'the original is float32');

  await vscode.openFromExplorer('small-net.onnx');
  await vscode.editor();
  await vscode.runCommand('ONNX Lens: Compare With…');
  // A: the active editor's model is offered first.
  const first = vscode.page.locator('.quick-input-list .monaco-list-row .label-name').first();
  await waitFor('the active model offered first', 15_000, async () => ((await first.innerText()) === 'small-net.onnx' ? true : undefined));
  await vscode.pickItem('Compare: model A', 'small-net.onnx');
  await vscode.pickItem('Compare small-net.onnx with: model B', 'small-net.int8.onnx');
  await vscode.page.locator('.tabs-container .tab', { hasText: 'Compare: small-net.onnx ↔ small-net.int8.onnx' }).waitFor({ timeout: 30_000 });
  const panel = await comparePanel();

  const rows = await panel.locator('[data-testid="compare-row"]').evaluateAll((els) => els.map((e) => ({
    name: e.getAttribute('data-layer') ?? '', change: e.getAttribute('data-change'), bitsA: e.getAttribute('data-bits-a'), bitsB: e.getAttribute('data-bits-b'),
    cells: [...e.querySelectorAll('td')].map((td) => td.textContent ?? ''),
  })));
  assert.deepEqual(rows.map((r) => r.name), original.layers.map((l) => l.name), 'one row per layer, in A\'s order, none added or removed');
  for (const name of quantized) {
    const r = rows.find((x) => x.name === name)!;
    assert.deepEqual([r.bitsA, r.bitsB, r.change], ['32', '8', 'changed'], name);
    assert.ok(r.cells.includes('32 → 8'), `${name} shows "32 → 8": ${r.cells.join(' | ')}`);
  }

  const sizeA = fs.statSync(files.a).size, sizeB = fs.statSync(files.b).size;
  const size = panel.locator('[data-testid="compare-size"]');
  assert.deepEqual([Number(await size.getAttribute('data-a')), Number(await size.getAttribute('data-b'))], [sizeA, sizeB]);
  const ratio = Number(await panel.locator('[data-testid="compare-ratio"]').getAttribute('data-value'));
  assert.ok(Math.abs(ratio - sizeB / sizeA) < 1e-12, `ratio ${ratio} vs files ${sizeB}/${sizeA}`);
  assert.equal(await panel.locator('[data-testid="compare-ratio"]').innerText(), `${(sizeB / sizeA).toFixed(3)}×`);
  assert.deepEqual(JSON.parse((await panel.locator('[data-testid="compare-bits"]').getAttribute('data-a')) ?? '{}'), original.model.bitsMix);

  // The tooltip of a quantized layer: its rows, "A → B" where they differ.
  await panel.locator(`[data-testid="compare-row"][data-layer="${quantized[0]}"]`).hover();
  const tooltip = panel.locator('[data-testid="tooltip"]');
  await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await tooltip.innerText(), /Bits\s+32 → 8/);
  await vscode.page.mouse.move(5, 5);

  // Keyboard: the first row takes focus, arrows move it, sorting by bits puts the 8-bit layers first (ascending).
  await panel.locator('[data-testid="compare-sort-bits"]').click();
  await panel.locator('[data-testid="compare-sort-bits"]').click();
  const order = await panel.locator('[data-testid="compare-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-bits-b')));
  assert.deepEqual(order, [...order].sort((x, y) => Number(x) - Number(y)), 'ascending by bits after');
  await panel.locator('[data-testid="compare-row"]').first().click();
  await vscode.page.keyboard.press('ArrowDown');
  const focused = await panel.locator('[data-testid="compare-row"]:focus').getAttribute('data-layer');
  assert.equal(focused, await panel.locator('[data-testid="compare-row"]').nth(1).getAttribute('data-layer'));
});

test('Measure on data… runs onnx-lens compare on the evaluation data of the settings and shows agreement and max |Δ|', { timeout: 180_000 }, async () => {
  const panel = await comparePanel();
  const expected = JSON.parse(cli('compare', files.a, files.b, '--data', files.data, '--json')) as ModelComparison;
  assert.ok(expected.outputs);
  await panel.locator('[data-testid="compare-measure"]').click();
  const agreement = panel.locator('[data-testid="compare-agreement"]');
  await agreement.waitFor({ timeout: 120_000 });
  assert.equal(Number(await agreement.getAttribute('data-value')), expected.outputs.agreement);
  assert.equal(await agreement.getAttribute('data-samples'), '8');
  const maxDiff = Number(await panel.locator('[data-testid="compare-max-diff"]').getAttribute('data-value'));
  assert.ok(Math.abs(maxDiff - expected.outputs.maxAbsDiff) <= 1e-6 * Math.max(1, expected.outputs.maxAbsDiff), `max |Δ| ${maxDiff} vs ${expected.outputs.maxAbsDiff}`);
  assert.ok(maxDiff > 0, 'int8 weights change the outputs a little');
  await vscode.screenshot('compare-measured');
});

test('Compare With… from the Explorer with two models selected opens them side by side without asking', { timeout: 120_000 }, async () => {
  const { page } = vscode;
  const compareTabs = page.locator('.tabs-container .tab', { hasText: /Compare: small-net(\.int8)?\.onnx ↔ small-net(\.int8)?\.onnx/ });
  const before = await compareTabs.count();
  const row = (name: string) => page.locator('.explorer-folders-view .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace(/\./g, '\\.')}$`) }) });
  // A single click opens the model in a preview editor, which reveals (and selects) its file in the Explorer once it
  // is ready: let it settle before extending the selection, and check the selection holds before the right-click.
  await row('small-net.int8.onnx').click();
  await vscode.editor();
  const selected = page.locator('.explorer-folders-view .monaco-list-row.selected');
  await waitFor('both models selected in the Explorer', 20_000, async () => {
    if ((await selected.count()) !== 2) await row('small-net.onnx').click({ modifiers: ['Shift'] });
    await new Promise((r) => setTimeout(r, 500));
    return (await selected.count()) === 2 ? true : undefined;
  });
  await row('small-net.onnx').click({ button: 'right' });
  const item = page.locator('.context-view .monaco-menu .action-item', { has: page.locator('.action-label', { hasText: /^Compare With…$/ }) });
  // The menu acts on the focused item: hover focuses it, Enter runs it (a click right after the menu opens can be ignored).
  await item.hover({ timeout: 15_000 });
  await page.keyboard.press('Enter');
  // Each Compare With… opens a panel of its own.
  await waitFor('a second compare panel', 30_000, async () => ((await compareTabs.count()) === before + 1 ? true : undefined))
    .catch(async (e) => { await vscode.screenshot('explorer-compare-failed'); throw e; });
  assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no picker was shown');
  const panel = await comparePanel();
  const title = await panel.locator('h1').innerText();
  const bitsByLayer = await panel.locator('[data-testid="compare-row"]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-bits-a')}→${e.getAttribute('data-bits-b')}`));
  assert.ok(title === 'small-net.int8.onnx ↔ small-net.onnx' || title === 'small-net.onnx ↔ small-net.int8.onnx', title);
  const expected = title.startsWith('small-net.int8') ? '8→32' : '32→8';
  assert.deepEqual(new Set(bitsByLayer), new Set([expected]), `${title}: ${bitsByLayer.join(', ')}`);
});
