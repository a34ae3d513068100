import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataset } from '../../../src/core/eval/datasets';
import { topKAccuracy } from '../../../src/core/eval/metrics';
import { readModel } from '../../../src/core/onnx/read';
import { encodeModel } from '../../../src/core/onnx/write';
import { planCompression, planSteps } from '../../../src/core/plan/plan';
import { parseRecipe } from '../../../src/core/recipe/parse';
import { stringifyRecipe } from '../../../src/core/recipe/stringify';
import { DOWN, fragileModel } from '../../builders/fragileMnist';
import { tempDir, writeMnistNpy } from '../../fixtures/mnist';
import { outputs } from '../quantize/ortRun';

test('planSteps: static int8 excluding float and int4 layers by exact name, then int4 weights; all float is no step', () => {
  const choices = new Map([['a', 'int8'], ['b,c', 'float'], ['d', 'int4']] as const);
  assert.deepEqual(planSteps(choices, { calibSamples: 64 }), [
    { kind: 'quantize', mode: 'static', calibSamples: 64, exclude: ['name:b,c', 'name:d'] },
    { kind: 'quantize', mode: 'weight', bits: 4, layers: ['name:d'] },
  ]);
  assert.deepEqual(planSteps(new Map([['a', 'int8']]), {}).map((s) => ('exclude' in s ? s.exclude : 'none')), ['none']);
  assert.deepEqual(planSteps(new Map([['a', 'float'], ['b', 'float']]), {}), []);
});

test('plan: a layer that int8 destroys stays float, the rest is quantized, and the measured drop meets the budget', async () => {
  const dir = tempDir();
  const { file } = fragileModel(dir);
  const calib = writeMnistNpy(dir, 'calib', 64);
  const split = writeMnistNpy(dir, 'test', 150);
  const data = await openDataset(split.data, { labels: split.labels });
  const model = await readModel(file);
  const budget = 1;
  const { result, proto } = await planCompression(model, data, {
    budget, calibration: { data: calib.data, preprocess: {} }, int4Tries: 2, latencyRuns: 5,
  });
  console.log(result.layers.map((l) => `${l.name} ${l.deltaTop1?.toFixed(2)} pp → ${l.choice}`).join('\n'));
  console.log(result.trials.map((t) => `${t.action}: ${t.deltaTop1.toFixed(2)} pp, ${t.bytes} bytes${t.kept ? ' (kept)' : ''}`).join('\n'));

  assert.equal(result.n, 150);
  assert.equal(result.layers.length, 7, 'six Convs and the Gemm');
  assert.equal(result.layers[0].name, DOWN, 'most sensitive first');
  assert.equal(result.layers[0].choice, 'float');
  assert.ok(result.layers.slice(1).every((l) => l.choice !== 'float'), 'one layer back to float is enough');
  assert.ok(result.uniformInt8.deltaTop1 < -30, `uniform int8 breaks: ${result.uniformInt8.deltaTop1}`);
  assert.deepEqual(result.trials[0], { action: 'uniform int8', ...result.uniformInt8, kept: false });
  assert.ok(result.withinBudget);
  assert.ok(result.measured.deltaTop1 >= -budget, `measured ${result.measured.deltaTop1}`);
  assert.ok(result.measured.bytes < result.original.bytes);
  // The measured model is the planned one: the search measured the same steps.
  assert.deepEqual([result.measured.top1, result.measured.bytes], [result.planned.top1, result.planned.bytes]);
  // Sensitivity (the original and 7 variants), the original on the planning data, each trial, the final plan.
  assert.equal(result.evaluations, 1 + 7 + 1 + result.trials.length + 1);
  // Uniform int8 missed the budget, so per-layer latency was profiled to break ties (its values are not asserted).
  assert.ok(result.layers.some((l) => typeof l.int8CostMs === 'number'), JSON.stringify(result.layers));

  // The steps: static int8 leaving DOWN (and any int4 layer) out by exact name, int4 weights for the int4 layers.
  const [int8, int4] = result.steps;
  assert.equal(int8.kind === 'quantize' && int8.mode, 'static');
  const int4Layers = result.layers.filter((l) => l.choice === 'int4').map((l) => `name:${l.name}`);
  assert.deepEqual([...(int8.exclude ?? [])].sort(), [`name:${DOWN}`, ...int4Layers].sort());
  if (int4Layers.length > 0) assert.deepEqual(int4, { kind: 'quantize', mode: 'weight', bits: 4, layers: int4Layers });
  else assert.equal(int4, undefined);
  // As a recipe the steps survive writing and reading.
  const text = stringifyRecipe({ model: 'fragile.onnx', calibration: { data: 'calib_x.npy' }, steps: result.steps });
  assert.deepEqual(parseRecipe(text).recipe?.steps, result.steps);

  // The model returned, run by onnxruntime here: the measured top-1.
  const out = await outputs(proto, data);
  assert.equal(topKAccuracy(out, split.labelValues, 1), result.measured.top1);
  assert.equal(encodeModel(proto).length, result.measured.bytes);
});
