import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { openDataset } from '../../../src/core/eval/datasets';
import { agreement, maxAbsDiff, topKAccuracy } from '../../../src/core/eval/metrics';
import { openSession, runModel } from '../../../src/core/eval/runner';
import { valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { readModel } from '../../../src/core/onnx/read';
import { writeModel } from '../../../src/core/onnx/write';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, tempDir, writeMnistNpy, writeMnistPngs } from '../../fixtures/mnist';

test('the trained MNIST CNN classifies the held-out test split (.npy + int64 labels) at ≥ 97 % top-1', async () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test');
  const model = await openSession(MNIST_MODEL);
  assert.deepEqual(model.inputShape, ['N', 1, 28, 28]);
  const data = await openDataset(split.data, { labels: split.labels, inputShape: model.inputShape });
  assert.equal(data.n, split.n);
  assert.deepEqual([...data.labels!], [...split.labelValues]);
  let calls = 0;
  const out = await runModel(model, data, { batchSize: 128, onProgress: (done, total) => { calls++; assert.ok(done <= total); } });
  assert.equal(out.width, 10);
  assert.equal(calls, Math.ceil(split.n / 128));
  const top1 = topKAccuracy(out, data.labels!, 1);
  assert.ok(top1 >= 0.97, `top-1 ${top1}`);
  assert.ok(topKAccuracy(out, data.labels!, 5) >= top1);
});

test('PNG class folders decode to the same inputs as the .npy form, up to 8-bit rounding', async () => {
  const dir = tempDir();
  const npy = writeMnistNpy(dir, 'calib', 200);
  const pngs = await writeMnistPngs(dir, 'calib', 200);
  const model = await openSession(MNIST_MODEL);
  const fromNpy = await openDataset(npy.data, { labels: npy.labels, inputShape: model.inputShape });
  const fromPng = await openDataset(pngs.folder, { inputShape: model.inputShape, preprocess: { mean: [MNIST_MEAN], std: [MNIST_STD] } });
  assert.deepEqual(fromPng.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(fromPng.n, 200);
  // PNG samples are grouped by class folder; compare each with its own .npy row (same label order within a class).
  const byClass = [...npy.labelValues.keys()].sort((a, b) => npy.labelValues[a] - npy.labelValues[b]);
  const png = await fromPng.batch(0, 200);
  const raw = await fromNpy.batch(0, 200);
  let maxDiff = 0;
  byClass.forEach((row, k) => {
    assert.equal(fromPng.labels![k], npy.labelValues[row]);
    for (let j = 0; j < 784; j++) maxDiff = Math.max(maxDiff, Math.abs(png[k * 784 + j] - raw[row * 784 + j]));
  });
  // the mnist package stores pixel/255 with three decimals; PNG pixels are round(255·x): ≤ 0.5/255 apart before /std
  assert.ok(maxDiff <= 0.51 / 255 / MNIST_STD, `max input difference ${maxDiff}`);

  const outPng = await runModel(model, fromPng);
  const outNpy = await runModel(model, fromNpy);
  const reordered = { ...outNpy, values: Float32Array.from(byClass.flatMap((row) => [...outNpy.values.subarray(row * 10, row * 10 + 10)])) };
  assert.ok(agreement(outPng, reordered) >= 0.99);
  assert.ok(maxAbsDiff(outPng, reordered) < 0.5);
});

test('batch size does not change the outputs; an abort stops the run', async () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 50);
  const model = await openSession(MNIST_MODEL, { intraOpThreads: 1 });
  const data = await openDataset(split.data, { inputShape: model.inputShape });
  const one = await runModel(model, data, { batchSize: 1 });
  const many = await runModel(model, data, { batchSize: 32 });
  assert.ok(maxAbsDiff(one, many) < 1e-4);
  const ac = new AbortController();
  await assert.rejects(runModel(model, data, { batchSize: 10, signal: ac.signal, onProgress: (done) => done >= 20 && ac.abort() }), { name: 'AbortError' });
});

test('a model with a fixed batch of 4 runs 10 samples (last batch padded) with the same outputs', async () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 10);
  const model = await readModel(MNIST_MODEL);
  const g = model.proto.graph!;
  g.input[0] = valueInfo('input', DataType.FLOAT, [4, 1, 28, 28]);
  g.output[0] = valueInfo('logits', DataType.FLOAT, [4, 10]);
  const fixed = path.join(dir, 'batch4.onnx');
  writeModel(model.proto, fixed);
  const a = await openSession(fixed);
  assert.deepEqual(a.inputShape, [4, 1, 28, 28]);
  const b = await openSession(MNIST_MODEL);
  const outA = await runModel(a, await openDataset(split.data, { inputShape: a.inputShape }), { batchSize: 32 });
  const outB = await runModel(b, await openDataset(split.data, { inputShape: b.inputShape }));
  assert.equal(outA.n, 10);
  assert.ok(maxAbsDiff(outA, outB) < 1e-4);
});
