import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import { topKAccuracy } from '../../../src/core/eval/metrics';
import { openSession, runModel } from '../../../src/core/eval/runner';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { searchBlocks } from '../../../src/core/prune/blockSearch';
import { activationVariances, structuredPrune } from '../../../src/core/prune/structured';
import { reconstructLayers } from '../../../src/core/recover/reconstruct';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { MNIST_MODEL, mnistDatasets, tempDir } from '../../fixtures/mnist';

const load = (proto: ModelProto) => decodeModel(encodeModel(proto));

/** Zeroes index `c` of `axis` for every listed channel of the initializer `name`. */
function zero(proto: ModelProto, name: string, axis: number, channels: number[]): void {
  const init = proto.graph!.initializer;
  const t = init.find((i) => i.name === name)!;
  const dims = t.dims.map(Number);
  const values = Float32Array.from(tensorValues(t));
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  for (let o = 0; o < outer; o++) for (const c of channels) values.fill(0, (o * dims[axis] + c) * inner, (o * dims[axis] + c + 1) * inner);
  init[init.indexOf(t)] = makeTensor(name, DataType.FLOAT, dims, values);
}

test('the first block removed is the one whose channels carry nothing (dead channels of one group)', async () => {
  const proto = convNet({ channels: [16, 16], bn: false, seed: 4 });
  // conv4 (the second stage's strided conv) gets 8 dead output channels that conv5 does not read either.
  const dead = [0, 1, 2, 3, 4, 5, 6, 7];
  zero(proto, 'conv4.weight', 0, dead);
  zero(proto, 'conv4.bias', 0, dead);
  zero(proto, 'conv5.weight', 1, dead);
  const rnd = seededRandom(9);
  const x = Float32Array.from({ length: 32 * 3 * 32 * 32 }, () => rnd() * 2 - 1);
  const calib = { n: 32, sampleShape: [3, 32, 32], batch: async (start: number, count: number) => x.slice(start * 3072, (start + count) * 3072) };
  const r = await searchBlocks(load(proto), calib, { macsReduction: 0.01, block: 8, samples: 32 });
  assert.equal(r.steps.length, 1, JSON.stringify(r.steps));
  assert.equal(r.steps[0].group, 'conv4');
  assert.equal(r.keep.get('conv4'), 8);
  // Only the ridge-damped refit of conv5 moves the output at all.
  assert.ok(r.steps[0].outputMse < 1e-3, `output MSE ${r.steps[0].outputMse}`);
  assert.ok([...r.keep].every(([name, k]) => name === 'conv4' || k === 16), 'no other group lost a channel');
});

test('MNIST CNN: a search for −30 % MACs in blocks of 16 keeps top-1 within 1 pp after reconstruction', async () => {
  const dir = tempDir();
  const original = readModelSync(MNIST_MODEL);
  const { testSet, calib } = await mnistDatasets(dir);
  const activationVariance = await activationVariances(original, calib);
  const found = await searchBlocks(original, calib, { macsReduction: 0.3, block: 16, activationVariance });
  const r = structuredPrune(original, { sparsity: 0, keep: found.keep, activationVariance });
  await reconstructLayers(original, { proto: r.proto }, r.refit, calib);
  const file = path.join(dir, 'searched.onnx');
  writeModel(r.proto, file);

  const macs = (m: ReturnType<typeof readModelSync>) => analyzeModel(m).model.macs;
  const [before, after] = [macs(original), macs(readModelSync(file))];
  const run = async (f: string) => runModel(await openSession(f, { intraOpThreads: 1 }), testSet, { batchSize: 256 });
  const [fp32, pruned] = [topKAccuracy(await run(MNIST_MODEL), testSet.labels!, 1), topKAccuracy(await run(file), testSet.labels!, 1)];
  console.log(`block search −30 % MACs /16: ${r.groups.map((g) => `${g.channels}→${g.kept}`).join(', ')}; MACs ${before} → ${after}; top-1 ${(100 * fp32).toFixed(2)} % → ${(100 * pruned).toFixed(2)} %`);
  assert.ok(after <= 0.7 * before, `MACs ${before} → ${after}`);
  assert.equal(after, found.steps.at(-1)!.macs, 'the last step\'s MACs are those of the written model');
  assert.ok(r.groups.filter((g) => !g.blocked).every((g) => g.kept % 16 === 0), 'whole blocks of 16');
  assert.ok(fp32 - pruned <= 0.01, `top-1 ${fp32} → ${pruned}`);
});
