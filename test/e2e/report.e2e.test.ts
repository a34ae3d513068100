// "ONNX Lens: Show Benchmark Report" in a real VS Code (code-server + Chromium): the empty state, then two tasks.json
// bench runs (weight-only int8 and 95 %-pruned MNIST CNNs against the original) land in the open report live; the
// points' top-1 and sizes equal `onnx-lens bench --json` for the same pairs, the Pareto marking equals the pure
// function's on the shown numbers, a changed file turns stale, and Enter on a row opens that model's editor.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { paretoFront } from '../../src/core/analysis/pareto';
import type { BenchResult } from '../../src/core/eval/benchmark';
import { benchWorkspace, cli, runTask } from './benchWorkspace';
import { VsCode, waitFor } from './harness';

let vscode: VsCode;

before(async () => {
  vscode = await VsCode.start({
    name: 'report',
    files: benchWorkspace(200, { 'bench int8': { model: 'model.int8.onnx', runs: 5 }, 'bench pruned': { model: 'model.pruned95.onnx', runs: 5 } }),
  });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

/** `onnx-lens bench MODEL --baseline model.onnx --json` on the workspace's files. */
function benchJson(model: string): BenchResult {
  const ws = (f: string) => path.join(vscode.workspace, f);
  return JSON.parse(cli('bench', ws(model), '--baseline', ws('model.onnx'), '--data', ws('test_x.npy'), '--labels', ws('test_y.npy'), '--json', '--runs', '5')) as BenchResult;
}

/** The report panel's frame (its tab brought to front first). */
async function report(): Promise<FrameLocator> {
  await vscode.page.locator('.tabs-container .tab', { hasText: 'Benchmark Report' }).first().click();
  const frame = await vscode.editor();
  await frame.locator('#app[data-mode="report"]').waitFor({ timeout: 30_000 });
  return frame;
}

interface ShownRow { model: string; top1: number; bytes: number; latency: number; frontSize: boolean; frontLatency: boolean; stale: boolean }

async function rows(frame: FrameLocator): Promise<ShownRow[]> {
  return frame.locator('[data-testid="report-row"]').evaluateAll((els) => els.map((e) => {
    const d = (e as HTMLElement).dataset;
    return { model: d.model!, top1: Number(d.top1), bytes: Number(d.bytes), latency: Number(d.latency), frontSize: d.frontSize === 'true', frontLatency: d.frontLatency === 'true', stale: d.stale === 'true' };
  }));
}

const basename = (r: ShownRow) => path.basename(r.model);

test('the report plots both benchmarked variants and their baseline with bench --json\'s numbers and the Pareto front', { timeout: 300_000 }, async () => {
  await vscode.runCommand('ONNX Lens: Show Benchmark Report');
  let frame = await report();
  assert.match(await frame.locator('[data-testid="report-empty"]').innerText(), /Run Benchmark/);

  const expected = { 'model.int8.onnx': benchJson('model.int8.onnx'), 'model.pruned95.onnx': benchJson('model.pruned95.onnx') };
  for (const [label, count] of [['bench int8', 2], ['bench pruned', 3]] as const) {
    await runTask(vscode, label);
    frame = await report();
    // The open panel follows the store: no reopening.
    await waitFor(`${count} points in the report after '${label}'`, 180_000, async () => ((await rows(frame)).length === count ? true : undefined), () => {
      const failed = /bench: (.*(?:exited|killed|needs|must|not yet).*)/.exec(vscode.allLogs());
      if (failed) throw new Error(`the task failed: ${failed[1]}`);
    });
  }
  await vscode.screenshot('report');

  const shown = await rows(frame);
  const int8 = expected['model.int8.onnx'];
  const want: Record<string, { top1: number | null; bytes: number }> = {
    'model.onnx': { top1: int8.baseline!.top1, bytes: int8.baseline!.bytes },
    'model.int8.onnx': { top1: int8.top1, bytes: int8.bytes },
    'model.pruned95.onnx': { top1: expected['model.pruned95.onnx'].top1, bytes: expected['model.pruned95.onnx'].bytes },
  };
  assert.deepEqual(Object.fromEntries(shown.map((r) => [basename(r), { top1: r.top1, bytes: r.bytes }])), want);
  assert.ok(want['model.pruned95.onnx'].top1! < want['model.onnx'].top1! - 0.01, 'pruning 95 % without recovery costs accuracy');

  // The marking is the pure function's on the shown numbers, in the table and on both plots.
  const frontSize = paretoFront(shown.map((r) => ({ accuracy: r.top1, cost: r.bytes })));
  const frontLatency = paretoFront(shown.map((r) => ({ accuracy: r.top1, cost: r.latency })));
  assert.deepEqual(shown.map((r) => r.frontSize), frontSize);
  assert.deepEqual(shown.map((r) => r.frontLatency), frontLatency);
  // By hand: the pruned copy is as big as the original (dense zeros) and less accurate, so never on the size front;
  // the int8 copy is the smallest, so always on it.
  assert.deepEqual(Object.fromEntries(shown.map((r, i) => [basename(r), frontSize[i]]))['model.pruned95.onnx'], false);
  assert.deepEqual(Object.fromEntries(shown.map((r, i) => [basename(r), frontSize[i]]))['model.int8.onnx'], true);
  for (const [plot, front] of [['size', frontSize], ['latency', frontLatency]] as const) {
    const marked = await frame.locator(`[data-testid="report-plot-${plot}"] [data-testid="report-point"]`).evaluateAll((els) =>
      Object.fromEntries(els.map((e) => [e.getAttribute('data-model'), e.getAttribute('data-front') === 'true'])));
    assert.deepEqual(marked, Object.fromEntries(shown.map((r, i) => [r.model, front[i]])), `${plot} plot`);
    assert.notEqual(await frame.locator(`[data-testid="report-plot-${plot}"] [data-testid="report-front-line"]`).getAttribute('d'), '');
  }

  // The tooltip of a marker has the full numbers.
  await frame.locator('[data-testid="report-plot-size"] [data-testid="report-point"][data-model$="model.int8.onnx"] path').hover();
  const tooltip = frame.locator('[data-testid="tooltip"]');
  await tooltip.waitFor({ state: 'visible', timeout: 10_000 });
  assert.ok((await tooltip.innerText()).includes(`${want['model.int8.onnx'].bytes.toLocaleString('en-US')} bytes`), await tooltip.innerText());

  // A changed file makes its result stale, live.
  fs.copyFileSync(path.join(vscode.workspace, 'model.onnx'), path.join(vscode.workspace, 'model.pruned95.onnx'));
  await waitFor('the pruned model\'s point to turn stale', 30_000, async () => ((await rows(frame)).find((r) => basename(r) === 'model.pruned95.onnx')?.stale ? true : undefined));
  assert.equal((await rows(frame)).find((r) => basename(r) === 'model.int8.onnx')?.stale, false);
  assert.equal(await frame.locator('[data-testid="report-plot-size"] [data-testid="report-point"][data-stale="true"]').count(), 1, 'the stale marker on the plot');
  await vscode.screenshot('report-stale');
});

test('Enter on a table row opens that model in the ONNX Lens editor', { timeout: 120_000 }, async () => {
  const frame = await report();
  await frame.locator('[data-testid="report-sort-size"]').click();
  const row = frame.locator('[data-testid="report-row"][data-model$="model.int8.onnx"]');
  await row.focus();
  await vscode.page.keyboard.press('Enter');
  const tab = vscode.page.locator('.tabs-container .tab.active', { hasText: 'model.int8.onnx' });
  await tab.waitFor({ timeout: 30_000 });
  const editor = await vscode.editor();
  await editor.locator('[data-testid="summary-size"]').waitFor({ timeout: 30_000 });
  assert.equal(Number(await editor.locator('[data-testid="summary-size"]').getAttribute('data-value')), fs.statSync(path.join(vscode.workspace, 'model.int8.onnx')).size);
});
