// tasks.json definitions of type onnx-lens → the forked CLI's arguments.
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
  assert.equal(message(def({ data: 'x.npy' })), 'the task needs "model" (a path relative to the workspace folder)');
  assert.equal(message(def({ model: 'm.onnx' })), 'the task needs "data" (a path relative to the workspace folder)');
  assert.equal(message(def({ command: 'sensitivity', model: 'm.onnx', data: 'x.npy' })), "'sensitivity' is not yet available as a task in this version of ONNX Lens (available: bench)");
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
