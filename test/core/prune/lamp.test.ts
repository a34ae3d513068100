import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync, type Model } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { topKAccuracy } from '../../../src/core/eval/metrics';
import { openSession, runModel } from '../../../src/core/eval/runner';
import { lampScores } from '../../../src/core/prune/lamp';
import { magnitudePrune } from '../../../src/core/prune/magnitude';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, mnistSamples, tempDir } from '../../fixtures/mnist';
import { fromRoot } from '../../fixtures/repoRoot';

const load = (proto: ModelProto) => decodeModel(encodeModel(proto));

test('LAMP scores by hand: w²/Σ of the squares not smaller, ties in element order, zeros score 0', () => {
  // w = [1, −3, 2, 2, 0]: w² = [1, 9, 4, 4, 0]; ascending order 0 (index 4), 1, 4 (index 2), 4 (index 3), 9.
  // Tails: 18 from the 1, 17 from the first 4, 13 from the second 4, 9 from the 9.
  const s = lampScores(Float64Array.from([1, -3, 2, 2, 0], (w) => w * w));
  const expected = [1 / 18, 9 / 9, 4 / 17, 4 / 13, 0];
  expected.forEach((e, i) => assert.ok(Math.abs(s[i] - e) < 1e-15, `score ${i}: ${s[i]} vs ${e}`));
  // Scaling a layer leaves its scores unchanged.
  const scaled = lampScores(Float64Array.from([1, -3, 2, 2, 0], (w) => (1000 * w) ** 2));
  scaled.forEach((v, i) => assert.ok(Math.abs(v - s[i]) < 1e-15));
});

/** Two MatMul layers x·A·B with the given weights, A and B both [2, 2]. */
function twoLayers(a: number[], b: number[]): Model {
  const g = graph({
    nodes: [node('MatMul', ['x', 'A'], ['h'], {}, 'a'), node('MatMul', ['h', 'B'], ['y'], {}, 'b')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 2])],
    initializers: [makeTensor('A', DataType.FLOAT, [2, 2], a), makeTensor('B', DataType.FLOAT, [2, 2], b)],
  });
  return load(model(g));
}

test('global LAMP keeps a small-scale layer that plain global magnitude empties (hand-computed)', () => {
  // A = [0.1, 0.2, 0.3, 0.4]: w² 0.01, 0.04, 0.09, 0.16 (Σ 0.30) → scores 0.01/0.30 = 0.033, 0.04/0.29 = 0.138,
  // 0.09/0.25 = 0.36, 1. B = [1, 1, 1, 10]: w² 1, 1, 1, 100 (Σ 103) → 1/103, 1/102, 1/101, 1.
  // 50 % of 8 = 4: LAMP removes B's three ones and A's 0.1; plain removes all of A (every |a| < 1).
  const m = twoLayers([0.1, 0.2, 0.3, 0.4], [1, 1, 1, 10]);
  const values = (r: ReturnType<typeof magnitudePrune>) => r.proto.graph!.initializer.map((t) => [...tensorValues(t)].map((v) => Number(v.toFixed(6))));
  assert.deepEqual(values(magnitudePrune(m, { sparsity: 0.5 })), [[0, 0.2, 0.3, 0.4], [0, 0, 0, 10]]);
  assert.deepEqual(values(magnitudePrune(m, { sparsity: 0.5, ranking: 'plain' })), [[0, 0, 0, 0], [1, 1, 1, 10]]);
  // l1 LAMP: |a| 0.1/1.0, 0.2/0.9, 0.3/0.7, 1; |b| 1/13, 1/12, 1/11, 1 → the same four go at 50 %; at 25 % (2 of 8)
  // the two smallest scores are b's 1/13 and 1/12.
  assert.deepEqual(values(magnitudePrune(m, { sparsity: 0.25, norm: 'l1' })), [[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 10]]);
});

test('global LAMP zeroes exactly round(s·n) weights, also with many equal magnitudes', () => {
  // Quantised-looking weights: only three distinct magnitudes, so global thresholds fall inside runs of ties.
  const a = Array.from({ length: 64 }, (_, i) => [0.5, -1, 2][i % 3]);
  const b = Array.from({ length: 64 }, (_, i) => [3, -1, 0.25, 0][i % 4]);
  const g = graph({
    nodes: [node('MatMul', ['x', 'A'], ['h'], {}, 'a'), node('MatMul', ['h', 'B'], ['y'], {}, 'b')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 8])], outputs: [valueInfo('y', DataType.FLOAT, [1, 8])],
    initializers: [makeTensor('A', DataType.FLOAT, [8, 8], a), makeTensor('B', DataType.FLOAT, [8, 8], b)],
  });
  const m = load(model(g));
  for (const sparsity of [0.1, 0.3, 0.5, 0.7, 0.9, 0.99]) {
    for (const ranking of ['lamp', 'plain'] as const) {
      const r = magnitudePrune(m, { sparsity, ranking });
      const zeros = r.proto.graph!.initializer.reduce((n, t) => n + [...tensorValues(t)].filter((v) => v === 0).length, 0);
      assert.equal(zeros, Math.max(Math.round(sparsity * 128), 16), `${ranking} at ${sparsity}`); // B holds 16 zeros already
      assert.equal(r.layers.reduce((n, l) => n + l.mask.filter((k) => k === 0).length, 0), Math.round(sparsity * 128));
    }
  }
});

test('LAMP ranks a Conv followed by BatchNormalization by its folded weights W[c]·γ_c/√(σ²_c+ε)', () => {
  // Two output channels with identical weights; BN scales channel 1 by 0.01: its weights act 100× smaller, so
  // at 50 % LAMP removes channel 1 entirely (plain magnitude cannot tell the channels apart and removes by order).
  const w = [1, 2, 3, 4, 1, 2, 3, 4];
  const g = graph({
    nodes: [
      node('Conv', ['x', 'W'], ['c'], {}, 'conv'),
      node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['bn'], {}, 'bn'),
      node('MatMul', ['bn2', 'M'], ['y'], {}, 'mm'),
      node('Reshape', ['bn', 'shape'], ['bn2'], {}, 'flat'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 1, 2, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 2])],
    initializers: [
      makeTensor('W', DataType.FLOAT, [2, 1, 2, 2], w),
      makeTensor('gamma', DataType.FLOAT, [2], [1, 0.01]), makeTensor('beta', DataType.FLOAT, [2], [0, 0]),
      makeTensor('mean', DataType.FLOAT, [2], [0, 0]), makeTensor('var', DataType.FLOAT, [2], [1, 1]),
      makeTensor('shape', DataType.INT64, [2], [1, 2]), makeTensor('M', DataType.FLOAT, [2, 2], [1, 1, 1, 1]),
    ],
  });
  const r = magnitudePrune(load(model(g)), { sparsity: 0.5, layers: ['conv'] });
  assert.deepEqual([...tensorValues(r.proto.graph!.initializer[0])], [1, 2, 3, 4, 0, 0, 0, 0]);
});

/** Held-out MNIST digits (the fixtures' test split), normalised, as a data set. */
function mnistTest() {
  const s = mnistSamples('test');
  const x = s.pixels.map((p) => (p - MNIST_MEAN) / MNIST_STD);
  return { n: s.n, sampleShape: [1, 28, 28], labels: s.labels, batch: async (start: number, count: number) => x.subarray(start * 784, (start + count) * 784) };
}

test('trained models at 50 %: global LAMP (the default) is at least as accurate as plain global magnitude on held-out digits', async () => {
  const dir = tempDir();
  const data = mnistTest();
  const top1 = async (proto: ModelProto, name: string) => {
    const file = path.join(dir, `${name}.onnx`);
    writeModel(proto, file);
    return topKAccuracy(await runModel(await openSession(file, { intraOpThreads: 1 }), data, { batchSize: 256 }), data.labels, 1);
  };
  const rows: string[] = [];
  for (const file of [MNIST_MODEL, fromRoot('test', 'fixtures', 'mnist-mobilenet.onnx')]) {
    const m = readModelSync(file);
    const name = path.basename(file, '.onnx');
    const fp32 = await top1(m.proto, `${name}-fp32`);
    const plain = await top1(magnitudePrune(m, { sparsity: 0.5, ranking: 'plain' }).proto, `${name}-plain`);
    const lamp = await top1(magnitudePrune(m, { sparsity: 0.5 }).proto, `${name}-lamp`);
    rows.push(`${name}: fp32 ${(100 * fp32).toFixed(2)} %, 50 % plain ${(100 * plain).toFixed(2)} %, LAMP ${(100 * lamp).toFixed(2)} % (${data.n} test digits)`);
    assert.ok(lamp >= plain, rows.at(-1));
  }
  console.log(rows.join('\n'));
});
