// Measurements on the layers in a real VS Code: Profile Layer Latency from the palette, then Colour by: latency and
// the table's Latency column against `onnx-lens profile --json`; the device-fit badge against `onnx-lens fit --json`;
// a model with symbolic height and width is profiled at the size the user gives.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { VsCode, waitFor } from './harness';
import { smallNet } from './models';

const cli = (...args: string[]) => JSON.parse(execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }));

interface Row { name: string; ms: string | null; latency: string; color: string }

async function rows(editor: FrameLocator): Promise<Row[]> {
  return editor.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((e) => ({
    name: e.getAttribute('data-layer') ?? '',
    ms: e.getAttribute('data-ms'),
    latency: (e as HTMLTableRowElement).cells[(e as HTMLTableRowElement).cells.length - 1].textContent ?? '',
    color: e.getAttribute('data-color') ?? '',
  })));
}

const legendColors = (editor: FrameLocator) => editor.locator('[data-testid="legend"] > span').evaluateAll((els) =>
  Object.fromEntries(els.filter((e) => e.querySelector('.swatch')).map((e) => [e.textContent ?? '', getComputedStyle(e.querySelector('.swatch')!).backgroundColor])));

let vscode: VsCode;

before(async () => {
  // Edits must stay unsaved (code-server saves after a delay by default): the last test profiles an edited model.
  vscode = await VsCode.start({ name: 'measure', files: { 'small-net.onnx': smallNet(), 'symbolic-net.onnx': smallNet({ symbolicInput: true }) }, settings: { 'onnxLens.device': 'nano33ble', 'files.autoSave': 'off' } });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

test('the header shows the fit on the onnxLens.device setting as onnx-lens fit computes it', { timeout: 120_000 }, async () => {
  await vscode.openFromExplorer('small-net.onnx');
  const editor = await vscode.editor();
  const fit = cli('fit', path.join(vscode.workspace, 'small-net.onnx'), '--device', 'nano33ble', '--json');
  const badge = editor.locator('[data-testid="fit-badge"]');
  await badge.waitFor({ timeout: 30_000 });
  assert.equal(await badge.getAttribute('data-device'), 'nano33ble');
  assert.equal(await badge.getAttribute('data-fits'), String(fit.fits));
  const percent = (used: number, capacity: number) => (used > 0 && used < capacity / 200 ? '< 1 %' : `${Math.round((100 * used) / capacity)} %`);
  assert.equal(fit.fits, true, 'a 2 K-parameter net fits the Nano 33 BLE');
  assert.equal(await badge.innerText(), `fits nano33ble: flash ${percent(fit.weightBytes, fit.flashBytes)}, RAM ${percent(fit.arenaBytes, fit.ramBytes)}`);
  assert.match((await badge.getAttribute('title')) ?? '', /Estimated latency .* an estimate .*Assumption:\n.*fp32: Cortex-M4F/s, 'the tooltip states the MAC-rate assumption');
});

test('Profile Layer Latency from the palette: Colour by latency colours the layers, the table shows ms for each layer onnx-lens profile times', { timeout: 180_000 }, async () => {
  const editor = await vscode.editor();
  const colorBy = editor.locator('[data-testid="color-by"]');
  await colorBy.selectOption('latency');
  // Nothing measured yet: every layer grey, and the editor says what to run.
  const hint = editor.locator('[data-testid="measure-hint"]');
  await hint.waitFor({ timeout: 10_000 });
  assert.match(await hint.innerText(), /No latency measured for this model: run\s+Profile Layer Latency/);
  const grey = (await legendColors(editor))['not measured'];
  const unmeasured = await rows(editor);
  assert.ok(unmeasured.every((r) => r.ms === null && r.latency === '–'), JSON.stringify(unmeasured));
  assert.equal(new Set(unmeasured.map((r) => r.color)).size, 1, 'one colour: not measured');

  await vscode.runCommand('ONNX Lens: Profile Layer Latency');
  const shown = await waitFor('the Latency column after profiling', 90_000, async () => {
    const r = await rows(editor);
    return r.some((x) => x.ms !== null) ? r : undefined;
  });
  const expected = cli('profile', path.join(vscode.workspace, 'small-net.onnx'), '--json') as { layers: { name: string; ms: number }[] };
  const timed = expected.layers.filter((l) => l.ms > 0);
  assert.ok(timed.length >= 2, `onnx-lens profile times at least the two convolutions: ${JSON.stringify(expected.layers)}`);
  const byName = new Map(shown.map((r) => [r.name, r]));
  for (const l of timed) {
    const row = byName.get(l.name);
    assert.ok(row, `a table row for ${l.name}`);
    assert.ok(Number(row.ms) > 0, `${l.name} has its ms per run (data-ms ${row.ms})`);
    assert.match(row.latency, /^\d[\d.]* ms$/, `${l.name}'s Latency cell`);
  }
  // Coloured by latency: no layer onnx-lens times is grey, and the slowest and the fastest differ.
  await waitFor('the legend of the latency scale', 10_000, async () => ((await legendColors(editor))['not measured'] && Object.keys(await legendColors(editor)).some((k) => k.endsWith(' ms')) ? true : undefined));
  const colored = await rows(editor);
  const measuredRows = colored.filter((r) => timed.some((l) => l.name === r.name));
  const bars = await editor.locator('[data-testid="layer-bar"]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-layer'), e.getAttribute('data-color')]));
  for (const r of measuredRows) {
    assert.notEqual(r.color, unmeasured.find((u) => u.name === r.name)!.color, `${r.name} is no longer drawn as not measured`);
    assert.equal(bars.find(([n]) => n === r.name)?.[1], r.color, `${r.name}: the chart bar has the row's colour`);
  }
  const sorted = [...measuredRows].sort((a, b) => Number(a.ms) - Number(b.ms));
  if (Number(sorted[0].ms) < Number(sorted.at(-1)!.ms)) assert.notEqual(sorted[0].color, sorted.at(-1)!.color, 'fastest and slowest layers differ in colour');
  assert.ok(grey, 'the legend has a "not measured" entry');
  assert.equal(await hint.count(), 0, 'no hint once measured');

  await vscode.screenshot('colour-by-latency', editor.locator('.summary'), editor.locator('.main'));
  // The tooltip of a timed layer shows its time and share.
  const slowest = sorted.at(-1)!;
  await editor.locator(`[data-testid="layer-row"][data-layer="${slowest.name}"]`).hover();
  const tooltip = editor.locator('[data-testid="tooltip"]');
  await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await tooltip.innerText(), /Time\s+[\d.]+ ms \([\d.]+% of the run\)/);
  await vscode.page.mouse.move(5, 5);
  await colorBy.selectOption('sparsity');
});

test('an edited model shows the file\'s times as before; Profile Layer Latency then measures the edit: before → after', { timeout: 180_000 }, async () => {
  const { page } = vscode;
  const editor = await vscode.editor();
  const row = (name: string) => editor.locator(`[data-testid="layer-row"][data-layer="${name}"]`);
  await row('conv1').click();
  await vscode.runCommand('ONNX Lens: Quantize Selected Layers…');
  const int8 = page.locator('.quick-input-list .monaco-list-row', { hasText: 'int8 weights only' });
  await int8.first().waitFor({ timeout: 15_000 });
  await int8.first().click();
  await editor.locator('[data-testid="layer-row"][data-layer="conv1"][data-bits="8"]').waitFor({ timeout: 60_000 });
  await page.locator('.tabs-container .tab.dirty', { hasText: 'small-net.onnx' }).waitFor({ timeout: 15_000 });

  // The file on disk was profiled (the test before): its times are the "before", the edited model has none yet.
  const beforeOnly = await waitFor('the file\'s times as "before"', 30_000, async () => {
    const r = await rows(editor);
    return r.every((x) => x.ms === null) && r.some((x) => x.latency.endsWith('→ ?')) ? r : undefined;
  });
  assert.ok(beforeOnly.filter((r) => r.latency !== '–').every((r) => /^[\d.]+ ms → \?$/.test(r.latency)), JSON.stringify(beforeOnly));
  await editor.locator('[data-testid="color-by"]').selectOption('latency');
  assert.match(await editor.locator('[data-testid="measure-before"]').innerText(), /file on disk, before the edits/);

  await vscode.runCommand('ONNX Lens: Profile Layer Latency');
  const both = await waitFor('before → after in the Latency column', 120_000, async () => {
    const r = await editor.locator('[data-testid="layer-row"]').evaluateAll((els) => els.map((e) => ({
      name: e.getAttribute('data-layer'), ms: e.getAttribute('data-ms'), before: e.getAttribute('data-ms-before'),
      latency: (e as HTMLTableRowElement).cells[(e as HTMLTableRowElement).cells.length - 1].textContent ?? '',
    })));
    return r.some((x) => x.ms !== null && x.before !== null) ? r : undefined;
  });
  const conv1 = both.find((r) => r.name === 'conv1')!;
  assert.ok(Number(conv1.ms) > 0 && Number(conv1.before) > 0, JSON.stringify(conv1));
  assert.match(conv1.latency, /^[\d.]+ ms → [\d.]+ ms$/);
  assert.equal(await editor.locator('[data-testid="measure-before"]').count(), 0, 'the colours are the edited model\'s own now');
  await vscode.screenshot('edited-before-after', editor.locator('.summary'), editor.locator('.main'));
});

test('a model with symbolic height and width: Profile Layer Latency asks for the input shape, profiles at that size, and the editor keeps it', { timeout: 180_000 }, async () => {
  await vscode.openFromExplorer('symbolic-net.onnx');
  const editor = await vscode.editor();
  await editor.locator('[data-testid="layer-row"]').first().waitFor({ timeout: 60_000 });
  await vscode.runCommand('ONNX Lens: Profile Layer Latency');
  const title = 'Profile symbolic-net.onnx: input shapes';
  await vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 15_000 });
  assert.equal(await vscode.page.locator('.quick-input-widget input.input').inputValue(), 'x=1,3,?,?', 'starts from the declared dims, batch 1');
  await vscode.fillInput(title, 'x=1,3,16,16');
  const shown = await waitFor('the Latency column after profiling', 90_000, async () => {
    const r = await rows(editor);
    return r.some((x) => x.ms !== null) ? r : undefined;
  });
  assert.ok(shown.filter((r) => r.ms !== null).every((r) => Number(r.ms) >= 0), JSON.stringify(shown));
  assert.ok(shown.some((r) => r.name === 'conv1' && r.ms !== null), 'conv1 was timed');
  // Asked once: the shapes are the document's now, so a second profile starts without the question.
  await vscode.runCommand('ONNX Lens: Profile Layer Latency');
  const asked = vscode.page.locator('.quick-input-widget .quick-input-title', { hasText: title });
  for (const end = Date.now() + 5_000; Date.now() < end;) {
    assert.equal(await asked.isVisible(), false, 'not asked again');
    await new Promise((r) => setTimeout(r, 250));
  }
});
