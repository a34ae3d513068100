// The onnx-lens tasks and the Problems panel in a real VS Code (code-server + Chromium): tasks.json tasks of type
// onnx-lens run the packaged `onnx-lens bench` and `sensitivity`, their results land in Problems with the same numbers
// and layers as the CLI's --json, terminating a task ends its process, and an untrusted workspace refuses to run models.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { MNIST_MODEL, tempDir } from '../fixtures/mnist';
import { benchWorkspace, cli, runTask as runBenchTask } from './benchWorkspace';
import { VsCode, waitFor } from './harness';

interface BenchJson { n: number; delta: { top1: number; agreement: number; sizeRatio: number; latencyRatio: number } }
interface SensitivityJson { layers: { name: string; deltaTop1: number }[] }

/** The task 'sensitivity int4': int4 per-tensor weight-only, each layer alone, judged against a 0.75 pp budget. */
const SENSITIVITY = { mode: 'weight', bits: 4, perChannel: false, budget: 0.75 } as const;

/** "−0.33 pp" / "+0.00 pp", written out here independently of the extension's formatting code. */
const pp = (x: number) => {
  const r = Math.round(x * 100) / 100;
  return `${r < 0 ? '−' : '+'}${Math.abs(r).toFixed(2)} pp`;
};

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** A recipe whose first step (60 % unstructured pruning, no recovery) costs far more than the 1 pp budget. */
const RECIPE = 'compress.onnxlens.yaml';
const RECIPE_TEXT = 'model: model.onnx\noutput: compress.out.onnx\nsteps:\n  - prune: { sparsity: 0.6 }\n  - quantize: { mode: weight }\n';

/**
 * The bench tasks: int8 and 95 %-pruned against the original, and one that runs until terminated; a sensitivity
 * task on the original; an apply task measuring each step of RECIPE.
 */
function workspaceFiles(): Record<string, { copy: string } | string> {
  const files = benchWorkspace(300, {
    'bench int8': { model: 'model.int8.onnx' },
    'bench pruned': { model: 'model.pruned95.onnx', budget: 1.0 },
    'bench forever': { model: 'model.int8.onnx', runs: 10_000_000 },
    'sensitivity int4': { model: 'model.onnx', command: 'sensitivity', baseline: undefined, runs: undefined, ...SENSITIVITY },
  });
  const tasks = JSON.parse(files['.vscode/tasks.json'] as string) as { tasks: object[] };
  tasks.tasks.push({ label: 'apply measured', type: 'onnx-lens', command: 'apply', recipe: RECIPE, data: 'test_x.npy', labels: 'test_y.npy', problemMatcher: [] });
  return { ...files, '.vscode/tasks.json': JSON.stringify(tasks, null, 2), [RECIPE]: RECIPE_TEXT };
}

describe('in a trusted workspace', () => {
  let vscode: VsCode;

  before(async () => {
    vscode = await VsCode.start({ name: 'bench', files: workspaceFiles() });
  }, { timeout: 240_000 });

  after(async () => { await vscode?.close(); }, { timeout: 60_000 });

  const runTask = (label: string) => runBenchTask(vscode, label);

  /** Texts of the Problems rows; opens the panel only when it is not shown (Ctrl+Shift+M toggles it). */
  async function problemTexts(): Promise<string[]> {
    const panel = vscode.page.locator('.markers-panel');
    if (!(await panel.isVisible())) {
      await vscode.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ timeout: 15_000 });
    }
    return vscode.page.locator('.markers-panel .monaco-list-row').allInnerTexts();
  }

  /** The Problems row whose text includes `text` (waits for it). */
  async function problem(text: string, ms = 120_000): Promise<{ row: Locator; text: string }> {
    const found = await waitFor(`a Problems row with "${text}"`, ms, async () => (await problemTexts()).find((t) => t.includes(text)), () => {
      const failed = /(?:bench|sensitivity|apply): (.*(?:exited|killed|needs|must|does not).*)/.exec(vscode.allLogs());
      if (failed) throw new Error(`the task failed: ${failed[1]}`);
    });
    const row = vscode.page.locator('.markers-panel .monaco-list-row', { hasText: text }).first();
    return { row, text: found };
  }

  test('a tasks.json bench task: Problems shows the same top-1 change, agreement and size as bench --json', { timeout: 240_000 }, async () => {
    const ws = vscode.workspace;
    const expected = JSON.parse(cli('bench', path.join(ws, 'model.int8.onnx'), '--baseline', path.join(ws, 'model.onnx'),
      '--data', path.join(ws, 'test_x.npy'), '--labels', path.join(ws, 'test_y.npy'), '--json', '--runs', '10')) as BenchJson;
    assert.equal(expected.n, 300);

    await runTask('bench int8');
    const { row, text } = await problem('vs model.onnx');
    const head = `top-1 ${pp(expected.delta.top1)} vs model.onnx (agreement ${(100 * expected.delta.agreement).toFixed(2)} %, latency ×`;
    assert.ok(text.includes(head), `Problems shows:\n${text}\nexpected it to include:\n${head}`);
    assert.ok(text.includes(`size ×${expected.delta.sizeRatio.toFixed(3)})`), text);
    // Weight-only int8 on MNIST loses well under half of the 1 pp budget.
    assert.ok(Math.abs(expected.delta.top1) < 0.5, `int8 top-1 change ${expected.delta.top1} pp`);
    assert.equal(await row.locator('.codicon-info').count(), 1, `an Information marker: ${await row.innerHTML()}`);
    const all = await problemTexts();
    assert.ok(all.some((t) => /model\.int8\.onnx/.test(t)), `the diagnostic is on model.int8.onnx: ${all.join(' | ')}`);
  });

  test('a 95 %-pruned model without recovery is over the budget: an Error naming the fixing commands', { timeout: 240_000 }, async () => {
    const ws = vscode.workspace;
    const expected = JSON.parse(cli('bench', path.join(ws, 'model.pruned95.onnx'), '--baseline', path.join(ws, 'model.onnx'),
      '--data', path.join(ws, 'test_x.npy'), '--labels', path.join(ws, 'test_y.npy'), '--json', '--runs', '5')) as BenchJson;
    assert.ok(expected.delta.top1 < -1, `pruning 95 % costs more than 1 pp (${expected.delta.top1})`);

    await runTask('bench pruned');
    const { row, text } = await problem('over the 1.0 pp budget');
    assert.ok(text.includes(`top-1 ${pp(expected.delta.top1)} vs model.onnx (agreement ${(100 * expected.delta.agreement).toFixed(2)} %`), text);
    assert.ok(text.includes('"ONNX Lens: Keep Selected Layers in Float"'), text);
    assert.equal(await row.locator('.codicon-error').count(), 1, `an Error marker: ${await row.innerHTML()}`);
    await vscode.screenshot('problems-over-budget');
  });

  test('a change of the model on disk removes its stale result', { timeout: 120_000 }, async () => {
    await problem('over the 1.0 pp budget', 10_000);
    fs.copyFileSync(path.join(vscode.workspace, 'model.onnx'), path.join(vscode.workspace, 'model.pruned95.onnx'));
    await waitFor('the pruned model\'s result to leave Problems', 30_000, async () => ((await problemTexts()).some((t) => t.includes('over the 1.0 pp budget')) ? undefined : true));
    assert.ok((await problemTexts()).some((t) => t.includes('vs model.onnx')), 'the int8 result stays');
  });

  test('a tasks.json sensitivity task: one Problems row per layer over half the budget, the Errors exactly the layers sensitivity --json puts over it', { timeout: 240_000 }, async () => {
    const ws = vscode.workspace;
    const expected = JSON.parse(cli('sensitivity', path.join(ws, 'model.onnx'), '--data', path.join(ws, 'test_x.npy'), '--labels', path.join(ws, 'test_y.npy'),
      '--mode', 'weight', '--bits', '4', '--no-per-channel', '--json')) as SensitivityJson;
    // The drop as shown (two decimals) against the budget, written out here independently of the extension.
    const drop = (l: { deltaTop1: number }) => -Math.round(l.deltaTop1 * 100) / 100;
    const over = expected.layers.filter((l) => drop(l) > SENSITIVITY.budget).map((l) => l.name).sort();
    const overHalf = expected.layers.filter((l) => drop(l) > SENSITIVITY.budget / 2).map((l) => l.name).sort();
    assert.ok(over.length > 0, `int4 per-tensor weights cost some layer more than ${SENSITIVITY.budget} pp: ${JSON.stringify(expected.layers)}`);

    await runTask('sensitivity int4');
    await problem(`layer ${over[0]} (`);
    const rows = vscode.page.locator('.markers-panel .monaco-list-row', { hasText: 'on this layer alone changes top-1 by' });
    await waitFor(`${overHalf.length} layer rows`, 30_000, async () => ((await rows.count()) === overHalf.length ? true : undefined));
    const layers = { error: [] as string[], warning: [] as string[] };
    for (const row of await rows.all()) {
      const text = await row.innerText();
      const name = /layer (\S+) \(/.exec(text)?.[1];
      assert.ok(name, text);
      if (await row.locator('.codicon-error').count()) {
        layers.error.push(name);
        assert.ok(text.includes('"ONNX Lens: Keep Selected Layers in Float"'), text);
        const layer = expected.layers.find((l) => l.name === name)!;
        assert.ok(text.includes(`changes top-1 by ${pp(layer.deltaTop1)}`), `${text}\nexpected ${pp(layer.deltaTop1)}`);
      } else {
        assert.equal(await row.locator('.codicon-warning').count(), 1, text);
        layers.warning.push(name);
      }
    }
    assert.deepEqual(layers.error.sort(), over, 'the Errors are the layers over the budget');
    assert.deepEqual([...layers.error, ...layers.warning].sort(), overHalf, 'one row per layer over half the budget');
    await vscode.screenshot('problems-sensitivity');
  });

  test('a tasks.json apply task with data: each step\'s measured change is a diagnostic on its line of the recipe, as apply --data --json measures it; editing the recipe removes them', { timeout: 240_000 }, async () => {
    const ws = vscode.workspace;
    const expected = (JSON.parse(cli('apply', path.join(ws, RECIPE), '-o', path.join(tempDir(), 'out.onnx'), '--data', path.join(ws, 'test_x.npy'),
      '--labels', path.join(ws, 'test_y.npy'), '--json')) as { steps: { measured: { delta: number; agreement: number } }[] }).steps.map((s) => s.measured);
    assert.ok(expected[0].delta < -1, `60 % pruning without recovery costs more than 1 pp (${expected[0].delta})`);

    await runTask('apply measured');
    for (const [i, kind, line] of [[0, 'prune', 4], [1, 'quantize', 5]] as const) {
      const { row, text } = await problem(`after this ${kind} step`);
      assert.ok(text.includes(`top-1 ${pp(expected[i].delta)} vs the original (agreement ${(100 * expected[i].agreement).toFixed(2)} %`), `${text}\nexpected ${pp(expected[i].delta)}`);
      assert.ok(text.includes(`[Ln ${line}, Col 5]`), `step ${i + 1} is on line ${line}, from its kind: ${text}`);
      assert.equal(await row.locator('.codicon-error').count(), 1, `over the 1.0 pp budget: an Error: ${text}`);
    }
    fs.appendFileSync(path.join(ws, RECIPE), '# edited\n');
    await waitFor('the recipe\'s step results to leave Problems', 30_000, async () => ((await problemTexts()).some((t) => t.includes('after this prune step')) ? undefined : true));
  });

  test('terminating the task ends its process', { timeout: 120_000 }, async () => {
    const before = new Set([...vscode.allLogs().matchAll(/bench: started pid (\d+)/g)].map((m) => Number(m[1])));
    await runTask('bench forever');
    const pid = await waitFor('the bench process to start', 60_000, () => {
      const pids = [...vscode.allLogs().matchAll(/bench: started pid (\d+)/g)].map((m) => Number(m[1]));
      return pids.find((p) => !before.has(p));
    });
    assert.ok(alive(pid), `pid ${pid} runs`);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.ok(alive(pid), `pid ${pid} still runs (10 million latency runs)`);

    await vscode.runCommand('Tasks: Terminate Task');
    // With one running task VS Code terminates it at once; otherwise it asks which.
    const row = vscode.page.locator('.quick-input-list .monaco-list-row', { hasText: 'bench forever' });
    await row.first().click({ timeout: 3_000 }).catch(() => undefined);
    await waitFor(`pid ${pid} to end`, 5_000, () => (alive(pid) ? undefined : true));
    await waitFor('"stopped" in the log', 10_000, () => (vscode.allLogs().includes(`bench: stopped pid ${pid}`) ? true : undefined));
  });
});

describe('in an untrusted workspace (Restricted Mode)', () => {
  let vscode: VsCode;

  before(async () => {
    vscode = await VsCode.start({ name: 'bench-untrusted', workspaceTrust: true, files: { 'model.onnx': { copy: MNIST_MODEL } } });
  }, { timeout: 240_000 });

  after(async () => { await vscode?.close(); }, { timeout: 60_000 });

  test('Run Benchmark is refused with a message saying why; viewing the model works', { timeout: 120_000 }, async () => {
    await vscode.openFromExplorer('model.onnx');
    const editor = await vscode.editor();
    assert.ok(await editor.locator('[data-testid="layer-bar"]').count() > 0, 'the editor shows the layers');

    await vscode.runCommand('ONNX Lens: Run Benchmark');
    const toast = vscode.page.locator('.notifications-toasts .notification-list-item', { hasText: 'benchmarks are disabled in Restricted Mode' });
    await toast.first().waitFor({ timeout: 15_000 });
    const text = await toast.first().innerText();
    assert.match(text, /running a model executes its operators in onnxruntime on this machine/);
    assert.match(text, /Manage Workspace Trust/);
    assert.doesNotMatch(vscode.allLogs(), /bench: started pid/);
  });
});
