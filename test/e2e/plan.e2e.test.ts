// "ONNX Lens: Plan Compression Within Budget…" in a real VS Code (code-server + Chromium): on the MNIST CNN, with the
// evaluation and calibration data in the workspace settings, the prompts default to them; the plan task writes
// model.plan.onnxlens.yaml, which opens beside the model's editor and chooses what `onnx-lens plan --json` chooses on
// the same inputs, and the model the recipe makes stays within the budget as `onnx-lens bench --json` measures it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseRecipe } from '../../src/core/recipe/parse';
import { tempDir } from '../fixtures/mnist';
import { cli, mnistWorkspace } from './benchWorkspace';
import { VsCode, waitFor } from './harness';

interface PlanJson { budget: number; n: number; withinBudget: boolean; steps: unknown[]; layers: { name: string; choice: string }[] }
interface BenchJson { n: number; delta: { top1: number } }

const RECIPE = 'model.plan.onnxlens.yaml';
const SAMPLES = 200;

let vscode: VsCode;

before(async () => {
  const settings = { 'onnxLens.evaluationData': 'test_x.npy', 'onnxLens.evaluationLabels': 'test_y.npy', 'onnxLens.calibrationData': 'calib_x.npy' };
  vscode = await VsCode.start({ name: 'plan', files: { ...mnistWorkspace(SAMPLES, 64), '.vscode/settings.json': JSON.stringify(settings, null, 2) } });
}, { timeout: 240_000 });

after(async () => { await vscode?.close(); }, { timeout: 60_000 });

test('Plan Compression with the defaults: the recipe opens beside the model, chooses what plan --json chooses, and its model is within the budget as bench --json measures it', { timeout: 240_000 }, async () => {
  const ws = vscode.workspace;
  const file = (name: string) => path.join(ws, name);
  await vscode.openFromExplorer('model.onnx');
  await vscode.editor();

  await vscode.runCommand('ONNX Lens: Plan Compression Within Budget…');
  // The budget: the setting onnxLens.accuracyBudget's default, accepted with Enter.
  const widget = vscode.page.locator('.quick-input-widget');
  await widget.locator('.quick-input-title', { hasText: 'Plan compression of model.onnx' }).waitFor({ state: 'visible', timeout: 15_000 });
  const input = widget.locator('input.input');
  const budget = Number(await input.inputValue());
  assert.equal(budget, 1, 'the budget defaults to onnxLens.accuracyBudget (1.0)');
  await input.focus();
  await vscode.page.keyboard.press('Enter');
  // Evaluation data and labels come from the settings without a prompt; the calibration data is offered first.
  await vscode.pickItem('Calibration data', file('calib_x.npy'));

  // The task writes the recipe, then the command opens it beside the model's editor.
  const tab = vscode.page.locator('.tabs-container .tab', { hasText: RECIPE });
  await waitFor(`${RECIPE} to open`, 120_000, async () => ((await tab.count()) ? true : undefined), () => {
    const failed = /plan: (.*(?:exited|killed|needs|must|does not).*)/.exec(vscode.allLogs());
    if (failed) throw new Error(`the plan task failed: ${failed[1]}`);
  });
  assert.ok(fs.existsSync(file(RECIPE)), `${RECIPE} is next to the model`);
  const groups = vscode.page.locator('.editor-group-container');
  assert.equal(await groups.count(), 2, 'the recipe opens in a second editor group');
  assert.equal(await groups.nth(1).locator('.tab', { hasText: RECIPE }).count(), 1, 'the recipe is in the group beside the model');
  assert.equal(await groups.nth(0).locator('.tab', { hasText: 'model.onnx' }).count(), 1, 'the model stays in the first group');
  await vscode.screenshot('plan-recipe-beside');

  // The recipe parses, and chooses what the CLI run here on the same inputs chooses.
  const text = fs.readFileSync(file(RECIPE), 'utf8');
  const parsed = parseRecipe(text, RECIPE);
  assert.ok(parsed.recipe, `the recipe parses:\n${text}\n${JSON.stringify(parsed.problems)}`);
  assert.equal(parsed.recipe.model, 'model.onnx', text);
  const expected = JSON.parse(cli('plan', file('model.onnx'), '--budget', String(budget), '--data', file('test_x.npy'), '--labels', file('test_y.npy'),
    '--calib', file('calib_x.npy'), '--json')) as PlanJson;
  assert.equal(expected.n, SAMPLES);
  assert.ok(expected.withinBudget, 'plan finds a plan within the budget');
  assert.deepEqual(parsed.recipe.steps, expected.steps, `the recipe's steps are plan --json's:\n${text}`);
  // Per layer: the int4 layers are those of the int4 step, the float layers those no step quantizes.
  const selectors = (step: unknown, key: 'layers' | 'exclude') => ((step as Record<string, string[] | undefined>)[key] ?? []).map((s) => s.replace(/^name:/, '')).sort();
  const int4 = expected.layers.filter((l) => l.choice === 'int4').map((l) => l.name).sort();
  const int4Step = parsed.recipe.steps.find((s) => (s as { bits?: number }).bits === 4);
  assert.deepEqual(int4Step ? selectors(int4Step, 'layers') : [], int4, 'the int4 layers');
  assert.ok(expected.layers.some((l) => l.choice !== 'float'), `plan quantizes some layer: ${JSON.stringify(expected.layers)}`);

  // The recipe's model, applied by the CLI, is within the budget on the evaluation data.
  const out = path.join(tempDir(), 'planned.onnx');
  cli('apply', file(RECIPE), '-o', out, '--json');
  const bench = JSON.parse(cli('bench', out, '--baseline', file('model.onnx'), '--data', file('test_x.npy'), '--labels', file('test_y.npy'), '--runs', '5', '--json')) as BenchJson;
  assert.equal(bench.n, SAMPLES);
  assert.ok(bench.delta.top1 >= -budget, `the planned model's top-1 change ${bench.delta.top1} pp is within −${budget} pp`);
  assert.ok(fs.statSync(out).size < fs.statSync(file('model.onnx')).size, 'the planned model is smaller');
});
