import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/core/errors';
import { readModelSync } from '../../../src/core/onnx/read';
import { tensorValues } from '../../../src/core/onnx/tensor';
import { applyRecipe, applyStep, type RecipeProgress } from '../../../src/core/recipe/apply';
import { cliOptionName } from '../../../src/core/recipe/stepChecks';
import { MNIST_MODEL } from '../../fixtures/mnist';

const weights = (proto: ReturnType<typeof readModelSync>['proto'], name: string) =>
  tensorValues(proto.graph!.initializer.find((t) => t.name === name)!);

test('applyRecipe: each step runs on the previous result; progress rises to 1; the input model is untouched', async () => {
  const model = readModelSync(MNIST_MODEL);
  const conv = model.proto.graph!.node.find((n) => n.name === '/res/a/a.0/Conv')!;
  const original = Float64Array.from(weights(model.proto, conv.input[1]) as ArrayLike<number>);
  const progress: RecipeProgress[] = [];
  const r = await applyRecipe(model, [
    { kind: 'prune', sparsity: 0.5, scope: 'layer', layers: ['name:/res/a/a.0/Conv'] },
    { kind: 'quantize', mode: 'weight', layers: ['op:Gemm'] },
  ], { onProgress: (p) => progress.push(p) });
  assert.deepEqual(r.steps.map((s) => s.kind), ['prune', 'quantize']);
  // Per-layer 50 %: exactly half of that layer's weights are zero (counted here, not taken from the summary).
  const pruned = weights(r.model.proto, conv.input[1]) as ArrayLike<number>;
  const zeros = Array.from(pruned).filter((v) => v === 0).length;
  assert.equal(zeros, Math.round(original.length / 2));
  // Kept weights are the original values, and they are the largest ones.
  const kept = Array.from(pruned).map((v, i) => [v, original[i]]).filter(([v]) => v !== 0);
  assert.ok(kept.every(([v, o]) => v === Math.fround(o)));
  const threshold = Math.min(...kept.map(([, o]) => Math.abs(o)));
  assert.equal(Array.from(original).filter((o) => Math.abs(o) > threshold).length, kept.length - 1);
  // Only the Gemm got int8 weights in step 2; the original proto still holds float weights.
  assert.deepEqual(r.steps[1].kind === 'quantize' && r.steps[1].layers.map((l) => l.op), ['Gemm']);
  assert.deepEqual(Float64Array.from(weights(model.proto, conv.input[1]) as ArrayLike<number>), original);
  const fractions = progress.map((p) => p.fraction);
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b));
  assert.equal(fractions.at(-1), 1);
  assert.deepEqual([...new Set(progress.map((p) => p.step))], [0, 1]);
});

test('an aborted signal stops before any work; option problems name options as the caller spells them', async () => {
  const model = readModelSync(MNIST_MODEL);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(applyStep(model, { kind: 'prune', sparsity: 0.5 }, { signal: controller.signal }), { name: 'AbortError' });
  await assert.rejects(applyStep(model, { kind: 'prune', sparsity: 0.5, roundTo: 8 }), (e: Error) => e instanceof UsageError && /roundTo applies to structured pruning only/.test(e.message));
  await assert.rejects(applyStep(model, { kind: 'prune', sparsity: 0.5, roundTo: 8 }, { optionName: cliOptionName }), /--round-to applies to --structured pruning only/);
  await assert.rejects(applyStep(model, { kind: 'quantize', mode: 'static' }), /mode static needs calibration data/);
});
