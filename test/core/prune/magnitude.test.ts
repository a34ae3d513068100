import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { attr, getAttr, graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { magnitudePrune } from '../../../src/core/prune/magnitude';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { tempDir } from '../../fixtures/mnist';

const load = (proto: ModelProto) => decodeModel(encodeModel(proto));

/** Zero counts per weight tensor, read back from the written file (independent of the pruner's own report). */
function zerosOnDisk(file: string): Map<string, { n: number; zeros: number; values: Float32Array }> {
  const m = readModelSync(file);
  const out = new Map<string, { n: number; zeros: number; values: Float32Array }>();
  for (const t of m.proto.graph!.initializer) {
    if (!t.name.endsWith('.weight')) continue;
    const values = Float32Array.from(tensorValues(t, m));
    out.set(t.name, { n: values.length, zeros: values.filter((v) => v === 0).length, values });
  }
  return out;
}

async function outputs(proto: ModelProto, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(proto));
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  return r[s.outputNames[0]].data as Float32Array;
}

const net = () => load(convNet({ channels: [8, 16], residual: true, depthwise: true, seed: 5 }));

test('layer scope zeroes exactly round(s·n) weights of every layer, always the smallest magnitudes', () => {
  const dir = tempDir();
  const file = path.join(dir, 'p.onnx');
  writeModel(magnitudePrune(net(), { sparsity: 0.3, scope: 'layer' }).proto, file);
  const original = zerosOnDisk(writeTemp(dir, net().proto));
  const pruned = zerosOnDisk(file);
  assert.equal(pruned.size, 8);
  for (const [name, { n, zeros, values }] of pruned) {
    assert.equal(zeros, Math.round(0.3 * n), `${name}: ${zeros} zeros of ${n}`);
    const before = original.get(name)!.values;
    let maxPruned = 0, minKept = Infinity;
    values.forEach((v, i) => { if (v === 0) maxPruned = Math.max(maxPruned, Math.abs(before[i])); else { minKept = Math.min(minKept, Math.abs(v)); assert.equal(v, before[i]); } });
    assert.ok(maxPruned <= minKept, `${name}: pruned |w| up to ${maxPruned}, kept from ${minKept}`);
  }
});

function writeTemp(dir: string, proto: ModelProto): string {
  const file = path.join(dir, `m${fs.readdirSync(dir).length}.onnx`);
  writeModel(proto, file);
  return file;
}

test('global scope hits the exact total count, LAMP (default) and plain', () => {
  const dir = tempDir();
  for (const ranking of ['lamp', 'plain'] as const) {
    for (const sparsity of [0.5, 0.7, 0.9]) {
      const file = writeTemp(dir, magnitudePrune(net(), { sparsity, scope: 'global', ranking }).proto);
      const counts = [...zerosOnDisk(file).values()];
      const n = counts.reduce((a, c) => a + c.n, 0);
      assert.equal(counts.reduce((a, c) => a + c.zeros, 0), Math.round(sparsity * n), `${ranking} total at ${sparsity}`);
    }
  }
});

test('plain global magnitude wipes out a layer with small weights; LAMP gives it the same mask as unscaled', () => {
  const proto = convNet({ channels: [8, 16], seed: 2, bn: false });
  const w = proto.graph!.initializer.find((t) => t.name === 'conv2.weight')!;
  const scaled = makeTensor(w.name, DataType.FLOAT, w.dims.map(Number), Float32Array.from(tensorValues(w), (v) => v * 0.001));
  const unscaled = load(convNet({ channels: [8, 16], seed: 2, bn: false }));
  proto.graph!.initializer[proto.graph!.initializer.indexOf(w)] = scaled;
  const plain = magnitudePrune(load(proto), { sparsity: 0.5, scope: 'global', ranking: 'plain' });
  const lamp = magnitudePrune(load(proto), { sparsity: 0.5, scope: 'global' });
  const s = (r: typeof plain) => r.layers.find((l) => l.name === 'conv2')!.sparsity;
  assert.equal(s(plain), 1, 'plain ranking removes every weight of the small-scale layer');
  // LAMP scores do not change when a layer is scaled, so every layer keeps the weights it keeps unscaled.
  const reference = magnitudePrune(unscaled, { sparsity: 0.5, scope: 'global' });
  lamp.layers.forEach((l, i) => assert.deepEqual(l.mask, reference.layers[i].mask, l.name));
  assert.ok(s(lamp) < 0.9, `LAMP: ${s(lamp)}`);
});

test('equal magnitudes are pruned in element order (deterministic ties)', () => {
  const values = [1, -1, 2, 1, -2, 1, 3, 1];
  const g = graph({
    nodes: [node('MatMul', ['x', 'w'], ['y'], {}, 'mm')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('w', DataType.FLOAT, [2, 4], values)],
  });
  const r = magnitudePrune(load(model(g)), { sparsity: 0.5, scope: 'layer' });
  const pruned = tensorValues(r.proto.graph!.initializer[0]);
  // Four of the five ±1 entries go, the first four in storage order.
  assert.deepEqual([...pruned], [0, 0, 2, 0, -2, 0, 3, 1]);
});

test('weights held in Constant nodes are pruned in place, and ORT runs the result', async () => {
  const proto = convNet({ channels: [8], seed: 3, bn: false });
  const g = proto.graph!;
  const constants = g.initializer.map((t) => node('Constant', [], [t.name], {}, `const_${t.name}`));
  constants.forEach((c, i) => c.attribute.push(attr('value', g.initializer[i])));
  g.node.unshift(...constants);
  g.initializer = [];
  const r = magnitudePrune(load(proto), { sparsity: 0.6, scope: 'layer', layers: ['op:Conv'] });
  assert.equal(r.proto.graph!.initializer.length, 0);
  const w = getAttr(r.proto.graph!.node.find((n) => n.name === 'const_conv1.weight')!, 'value')!.t!;
  const values = tensorValues(w);
  assert.equal(values.filter((v) => v === 0).length, Math.round(0.6 * values.length));
  const fc = getAttr(r.proto.graph!.node.find((n) => n.name === 'const_fc1.weight')!, 'value')!.t!;
  assert.equal(tensorValues(fc).filter((v) => v === 0).length, 0, 'the Gemm was not selected');
  const x = Float32Array.from({ length: 2 * 3 * 32 * 32 }, seededRandom(1));
  const out = await outputs(r.proto, x, [2, 3, 32, 32]);
  assert.equal(out.length, 20);
  assert.ok(out.every(Number.isFinite));
});

test('pruned models run in onnxruntime; 0 % is bit-identical and outputs drift with sparsity', async () => {
  const original = net();
  const rnd = seededRandom(9);
  const x = Float32Array.from({ length: 64 * 3 * 32 * 32 }, () => rnd() * 2 - 1);
  const ref = await outputs(original.proto, x, [64, 3, 32, 32]);
  const rows: string[] = [];
  let previous = 0;
  for (const sparsity of [0, 0.2, 0.5, 0.8]) {
    const out = await outputs(magnitudePrune(original, { sparsity, scope: 'global' }).proto, x, [64, 3, 32, 32]);
    let maxAbs = 0, agree = 0;
    for (let i = 0; i < 64; i++) {
      const a = ref.subarray(i * 10, i * 10 + 10), b = out.subarray(i * 10, i * 10 + 10);
      if (a.indexOf(Math.max(...a)) === b.indexOf(Math.max(...b))) agree++;
      for (let k = 0; k < 10; k++) maxAbs = Math.max(maxAbs, Math.abs(a[k] - b[k]));
    }
    rows.push(`sparsity ${sparsity}: agreement ${(agree / 64).toFixed(3)}, max |Δlogit| ${maxAbs.toExponential(2)}`);
    if (sparsity === 0) assert.equal(maxAbs, 0);
    else assert.ok(maxAbs > previous, 'more sparsity moves the outputs further');
    previous = maxAbs;
  }
  console.log(rows.join('\n'));
});

test('bad sparsity and unknown selectors are usage errors', () => {
  assert.throws(() => magnitudePrune(net(), { sparsity: 1 }), /sparsity must be in \[0, 1\)/);
  assert.throws(() => magnitudePrune(net(), { sparsity: 0.5, layers: ['nope'] }), /selector 'nope' matches no layer/);
});
