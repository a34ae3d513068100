import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/core/eval/datasets';
import { openSession, runModel } from '../../src/core/eval/runner';
import { DataType } from '../../src/core/onnx/dtypes';
import { readModel } from '../../src/core/onnx/read';
import { makeTensor, tensorValues } from '../../src/core/onnx/tensor';
import { writeModel } from '../../src/core/onnx/write';
import { cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';

/** The MNIST CNN with the classifier's row for digit 0 set to zero: that logit becomes the bias b0. */
async function withoutDigitZeroWeights(dir: string): Promise<{ file: string; bias0: number }> {
  const model = await readModel(MNIST_MODEL);
  const inits = model.proto.graph!.initializer;
  const k = inits.findIndex((t) => t.name === 'fc.weight');
  const w = Float32Array.from(tensorValues(inits[k], model) as Float32Array);
  assert.equal(w.length, 640); // [10, 64] with transB = 1: row 0 is the first 64 values
  w.fill(0, 0, 64);
  inits[k] = makeTensor('fc.weight', DataType.FLOAT, [10, 64], w);
  const bias0 = (tensorValues(inits.find((t) => t.name === 'fc.bias')!, model) as Float32Array)[0];
  const file = path.join(dir, 'no-zero.onnx');
  writeModel(model.proto, file);
  return { file, bias0 };
}

test('compare: per-layer params/sparsity, and output agreement and difference on data', async () => {
  const dir = tempDir();
  const { file, bias0 } = await withoutDigitZeroWeights(dir);
  const split = writeMnistNpy(dir, 'test', 300);
  const r = cli('compare', MNIST_MODEL, file, '--data', split.data, '--labels', split.labels, '--json');
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.a.params, c.b.params);
  const changed = c.layers.filter((l: { changed: boolean }) => l.changed);
  assert.deepEqual(changed.map((l: { name: string }) => l.name), ['/fc/Gemm']);
  // Gemm params = 640 weights + 10 biases; 64 of them are now zero (the trained weights had none).
  assert.equal(changed[0].a.sparsity, 0);
  assert.ok(Math.abs(changed[0].b.sparsity - 64 / 650) < 1e-12);
  assert.equal(c.layers.length, 13);

  // Expected outputs from the ORIGINAL model: only logit 0 changes, to b0; predictions change where
  // the original predicted 0, or where b0 beats the original top logit.
  const original = await openSession(MNIST_MODEL);
  const out = await runModel(original, await openDataset(split.data));
  let maxDiff = 0;
  let same = 0;
  for (let i = 0; i < out.n; i++) {
    const row = out.values.subarray(i * 10, i * 10 + 10);
    maxDiff = Math.max(maxDiff, Math.abs(row[0] - bias0));
    const argmax = (xs: ArrayLike<number>) => { let best = 0; for (let j = 1; j < xs.length; j++) if (xs[j] > xs[best]) best = j; return best; };
    if (argmax(row) === argmax([bias0, ...row.subarray(1)])) same++;
  }
  assert.equal(c.outputs.n, 300);
  assert.ok(Math.abs(c.outputs.maxAbsDiff - maxDiff) < 1e-4, `${c.outputs.maxAbsDiff} vs ${maxDiff}`);
  assert.equal(c.outputs.agreement, same / 300);
  assert.ok(c.outputs.agreement < 1);
  assert.ok(c.outputs.top1.a > c.outputs.top1.b);

  const text = cli('compare', MNIST_MODEL, file);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /\* +\/fc\/Gemm +Gemm +650 +0\.0% → 9\.8%/);
  assert.match(text.stdout, /1 of 13 layers differ/);
});

test('compare errors name the file', () => {
  const r = cli('compare', MNIST_MODEL, path.join(tempDir(), 'missing.onnx'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^onnx-lens: .*missing\.onnx: file not found\n$/);
});
