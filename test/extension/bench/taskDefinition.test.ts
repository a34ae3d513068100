// tasks.json definitions of type onnx-lens → the forked CLI's arguments, for each command, flag for flag as the CLI
// spells them (src/cli/bench.ts, sensitivity.ts, fit.ts, apply.ts, plan.ts, dataOptions.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { budgetOf, taskCommandLine, TaskDefinitionError, type OnnxLensTaskDefinition } from '../../../src/extension/bench/taskDefinition';

const def = (more: Partial<OnnxLensTaskDefinition>): OnnxLensTaskDefinition => ({ type: 'onnx-lens', command: 'bench', ...more });

test('a bench task: paths relative to the workspace folder, preprocessing flags, --json and progress on fd 3', () => {
  const line = taskCommandLine(def({
    model: 'models/cls.int8.onnx', baseline: 'models/cls.onnx', data: 'val', labels: '/abs/y.npy',
    size: '48x192', mean: [0.5, 0.5, 0.5], std: 0.5, layout: 'nchw', bgr: true, grayscale: false, resizeShorter: 64, runs: 20, limit: 100, budget: 0.5,
  }), '/ws');
  assert.deepEqual(line.args, [
    'bench', '/ws/models/cls.int8.onnx', '--data', '/ws/val', '--baseline', '/ws/models/cls.onnx', '--labels', '/abs/y.npy',
    '--size', '48x192', '--resize-shorter', '64', '--layout', 'nchw', '--bgr', '--mean', '0.5,0.5,0.5', '--std', '0.5',
    '--runs', '20', '--limit', '100', '--json', '--progress-fd', '3',
  ]);
  assert.equal(line.model, '/ws/models/cls.int8.onnx');
  assert.equal(line.baseline, '/ws/models/cls.onnx');
  assert.deepEqual(taskCommandLine(def({ model: 'm.onnx', data: 'x.npy', mean: '0.485, 0.456,0.406', size: 224 }), '/ws').args,
    ['bench', '/ws/m.onnx', '--data', '/ws/x.npy', '--size', '224', '--mean', '0.485,0.456,0.406', '--json', '--progress-fd', '3']);
});

test('definitions that cannot run say why', () => {
  const message = (d: OnnxLensTaskDefinition) => {
    try { taskCommandLine(d, '/ws'); } catch (e) { assert.ok(e instanceof TaskDefinitionError); return e.message; }
    return 'no error';
  };
  assert.equal(message(def({ data: 'x.npy' })), 'a bench task needs "model" (a path relative to the workspace folder)');
  assert.equal(message(def({ model: 'm.onnx' })), 'a bench task needs "data" (a path relative to the workspace folder)');
  assert.match(message(def({ command: 'train' as never, model: 'm.onnx' })), /^unknown command 'train'/);
  assert.match(message(def({ model: 'm.onnx', data: 'x.npy', mean: [0.1, 0.2] })), /"mean" must be one number or three/);
  assert.match(message(def({ model: 'm.onnx', data: 'x.npy', layout: 'chw' as never })), /"layout" must be "nchw" or "nhwc"/);
  assert.match(message(def({ model: 'm.onnx', data: 'x.npy', runs: 0 })), /"runs" must be a positive integer/);
  assert.match(message(def({ model: 'm.onnx', data: 'x.npy', budget: -1 })), /"budget" must be a top-1 drop in percentage points/);
});

test('the budget comes from the task, else from the setting', () => {
  assert.equal(budgetOf({ budget: 0.25 }, 1), 0.25);
  assert.equal(budgetOf({}, 1.5), 1.5);
  assert.equal(budgetOf({ budget: 0 }, 1), 0);
});

test('a sensitivity task: mode, bits, per-tensor scales, calibration and evaluation data with their preprocessing', () => {
  const line = taskCommandLine(def({
    command: 'sensitivity', model: 'm.onnx', data: 'val', labels: 'y.npy', calib: 'calib', mode: 'weight', bits: 4, perChannel: false, limit: 100, size: '28x28', grayscale: true,
  }), '/ws');
  assert.deepEqual(line.args, [
    'sensitivity', '/ws/m.onnx', '--data', '/ws/val', '--calib', '/ws/calib', '--labels', '/ws/y.npy', '--size', '28x28', '--grayscale',
    '--mode', 'weight', '--bits', '4', '--no-per-channel', '--limit', '100', '--json', '--progress-fd', '3',
  ]);
  assert.equal(line.command, 'sensitivity');
  assert.equal(line.model, '/ws/m.onnx');
});

test('a fit task: the device from the task, else the setting; the user profiles as --devices; shapes; no progress', () => {
  assert.deepEqual(taskCommandLine(def({ command: 'fit', model: 'm.onnx', device: 'nano33ble', shape: 'x=1,3,48,192' }), '/ws').args,
    ['fit', '/ws/m.onnx', '--device', 'nano33ble', '--shape', 'x=1,3,48,192', '--json']);
  assert.deepEqual(taskCommandLine(def({ command: 'fit', model: 'm.onnx', shape: ['x=1,3,8,8', 'y=1,4'] }), '/ws', { budget: 1, device: 'my-board', devicesFile: '/tmp/d/devices.json' }).args,
    ['fit', '/ws/m.onnx', '--devices', '/tmp/d/devices.json', '--device', 'my-board', '--shape', 'x=1,3,8,8', '--shape', 'y=1,4', '--json']);
});

test('an apply task: the recipe, -o, and with data the per-step measurement flags', () => {
  const line = taskCommandLine(def({ command: 'apply', recipe: 'r/cls.onnxlens.yaml', output: 'out/cls.int8.onnx', data: 'val', labels: 'y.npy', mean: 0.5, std: 0.5 }), '/ws');
  assert.deepEqual(line.args, [
    'apply', '/ws/r/cls.onnxlens.yaml', '-o', '/ws/out/cls.int8.onnx', '--data', '/ws/val', '--labels', '/ws/y.npy', '--mean', '0.5', '--std', '0.5', '--json', '--progress-fd', '3',
  ]);
  assert.equal(line.recipe, '/ws/r/cls.onnxlens.yaml');
  assert.deepEqual(taskCommandLine(def({ command: 'apply', recipe: 'r.onnxlens.yaml' }), '/ws').args, ['apply', '/ws/r.onnxlens.yaml', '--json', '--progress-fd', '3']);
});

test('a plan task: --budget from the task, else the setting; -o the recipe, --model-out the model', () => {
  assert.deepEqual(taskCommandLine(def({ command: 'plan', model: 'm.onnx', data: 'val', labels: 'y.npy', calib: 'c.npy', output: 'm.plan.onnxlens.yaml', modelOutput: 'm.plan.onnx', budget: 0.5 }), '/ws').args, [
    'plan', '/ws/m.onnx', '-o', '/ws/m.plan.onnxlens.yaml', '--model-out', '/ws/m.plan.onnx', '--budget', '0.5', '--data', '/ws/val', '--calib', '/ws/c.npy', '--labels', '/ws/y.npy', '--json', '--progress-fd', '3',
  ]);
  assert.deepEqual(taskCommandLine(def({ command: 'plan', model: 'm.onnx', data: 'val', calib: 'c' }), '/ws', { budget: 1.5 }).args,
    ['plan', '/ws/m.onnx', '--budget', '1.5', '--data', '/ws/val', '--calib', '/ws/c', '--json', '--progress-fd', '3']);
});

test('per command, what it needs and what it does not take', () => {
  const message = (d: Partial<OnnxLensTaskDefinition>, defaults?: { budget: number; device?: string }) => {
    try { taskCommandLine(def(d), '/ws', defaults); } catch (e) { assert.ok(e instanceof TaskDefinitionError); return e.message; }
    return 'no error';
  };
  assert.equal(message({ command: 'sensitivity', model: 'm.onnx' }), 'a sensitivity task needs "data" (a path relative to the workspace folder)');
  assert.equal(message({ command: 'plan', model: 'm.onnx', data: 'v' }), 'a plan task needs "calib" (a path relative to the workspace folder)');
  assert.equal(message({ command: 'apply', model: 'm.onnx' }), 'an apply task needs "recipe" (a path relative to the workspace folder)');
  assert.equal(message({ command: 'apply', recipe: 'r.yaml', model: 'm.onnx' }), 'an apply task does not take "model"');
  assert.equal(message({ command: 'fit', model: 'm.onnx' }), 'a fit task needs "device" (a profile name such as nano33ble), or the setting onnxLens.device');
  assert.equal(message({ command: 'fit', model: 'm.onnx', device: 'nano33ble', data: 'v' }), 'a fit task does not take "data"');
  assert.equal(message({ command: 'fit', model: 'm.onnx', device: 'nano33ble', size: 28 }), 'preprocessing ("size") applies to "data" or "calib", and this fit task has neither');
  assert.equal(message({ command: 'fit', model: 'm.onnx', device: 'nano33ble', shape: 'x:1,3' }), '"shape" must be NAME=DIMS such as "x=1,3,224,224" (or a list of them), got "x:1,3"');
  assert.equal(message({ command: 'bench', model: 'm.onnx', data: 'v', mode: 'weight' }), '"mode" applies to sensitivity tasks, not to bench');
  assert.equal(message({ command: 'sensitivity', model: 'm.onnx', data: 'v', runs: 3 }), '"runs" applies to bench tasks, not to sensitivity');
  assert.equal(message({ command: 'sensitivity', model: 'm.onnx', data: 'v', bits: 2 as never }), '"bits" must be 8 or 4, got 2');
  assert.equal(message({ command: 'sensitivity', model: 'm.onnx', data: 'v', mode: 'dynamic' as never }), '"mode" must be "static" or "weight", got "dynamic"');
  assert.equal(message({ command: 'apply', recipe: 'r.yaml', labels: 'y.npy' }), '"labels" go with "data", which this apply task does not have');
  assert.equal(message({ command: 'bench', model: 'm.onnx', data: 'v', device: 'rpi4' }), '"device" applies to fit tasks, not to bench');
});
