import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { attrInt, graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorDims, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { structuredPrune } from '../../../src/core/prune/structured';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { fromRoot } from '../../fixtures/repoRoot';

const load = (proto: ModelProto) => decodeModel(encodeModel(proto));

/** Random weights where the listed channel slices are exactly zero: weights[name] = [dims, values]. */
class Weights {
  readonly tensors = new Map<string, { dims: number[]; values: Float32Array }>();
  private rnd = seededRandom(11);
  add(name: string, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.tensors.set(name, { dims, values: Float32Array.from({ length: n }, () => this.rnd() - 0.5) });
    return name;
  }
  /** Zeroes index `c` of axis `axis` (features [c·stride, (c+1)·stride) when stride > 1). */
  zero(name: string, axis: number, channels: number[], stride = 1): void {
    const { dims, values } = this.tensors.get(name)!;
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    for (let o = 0; o < outer; o++) for (const c of channels) for (let s = 0; s < stride; s++) for (let i = 0; i < inner; i++) values[(o * dims[axis] + c * stride + s) * inner + i] = 0;
  }
  initializers() { return [...this.tensors].map(([name, t]) => makeTensor(name, DataType.FLOAT, t.dims, t.values)); }
}

const conv = (x: string, w: string, b: string, out: string, attrs: Record<string, number | number[]> = {}) =>
  node('Conv', [x, w, b], [out], { pads: [1, 1, 1, 1], ...attrs }, out);

/**
 * x[N,3,8,8] → c1(8) → relu r1 → c2(8) → relu r2 → Add(r1, r2) → { depthwise dw(8), 1×1 c3(8) } → Concat(16)
 * → MaxPool 2 → c4 1×1 (6) → relu → Flatten (6·4·4 = 96) → Gemm(10).
 * Channel groups: {c1, c2, add, dw, concat[0:8]} ∪ {c3, concat[8:16]} (joined by the Concat; 16 channels)
 * and {c4, flatten} (6 channels, 16 features each). Zeroed: group-1 channels 1, 5; c3 channels 2, 6; c4 channels 0, 3.
 */
function builderNet(): ModelProto {
  const w = new Weights();
  w.add('W1', [8, 3, 3, 3]); w.add('b1', [8]); w.add('W2', [8, 8, 3, 3]); w.add('b2', [8]);
  w.add('Wd', [8, 1, 3, 3]); w.add('bd', [8]); w.add('W3', [8, 8, 1, 1]); w.add('b3', [8]);
  w.add('W4', [6, 16, 1, 1]); w.add('b4', [6]); w.add('Wf', [10, 96]); w.add('bf', [10]);
  for (const [name, axis] of [['W1', 0], ['b1', 0], ['W2', 0], ['b2', 0], ['W2', 1], ['Wd', 0], ['bd', 0], ['W3', 1], ['W4', 1]] as const) w.zero(name, axis, [1, 5]);
  for (const [name, axis] of [['W3', 0], ['b3', 0]] as const) w.zero(name, axis, [2, 6]);
  w.zero('W4', 1, [10, 14]);
  for (const [name, axis] of [['W4', 0], ['b4', 0]] as const) w.zero(name, axis, [0, 3]);
  w.zero('Wf', 1, [0, 3], 16);
  const g = graph({
    nodes: [
      conv('x', 'W1', 'b1', 'c1'), node('Relu', ['c1'], ['r1'], {}, 'relu1'),
      conv('r1', 'W2', 'b2', 'c2'), node('Relu', ['c2'], ['r2'], {}, 'relu2'),
      node('Add', ['r1', 'r2'], ['add'], {}, 'add'),
      conv('add', 'Wd', 'bd', 'dw', { group: 8 }),
      conv('add', 'W3', 'b3', 'c3', { pads: [0, 0, 0, 0] }),
      node('Concat', ['dw', 'c3'], ['cat'], { axis: 1 }, 'cat'),
      node('MaxPool', ['cat'], ['pool'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'),
      conv('pool', 'W4', 'b4', 'c4', { pads: [0, 0, 0, 0] }), node('Relu', ['c4'], ['r4'], {}, 'relu4'),
      node('Flatten', ['r4'], ['flat'], { axis: 1 }, 'flat'),
      node('Gemm', ['flat', 'Wf', 'bf'], ['logits'], { transB: 1 }, 'fc'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])],
    outputs: [valueInfo('logits', DataType.FLOAT, ['N', 10])],
    initializers: w.initializers(),
    valueInfo: [valueInfo('cat', DataType.FLOAT, ['N', 16, 8, 8])],
  });
  return model(g, { opset: 13 });
}

async function run(proto: ModelProto, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(proto));
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) });
  return r[s.outputNames[0]].data as Float32Array;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('residual Add + Concat + depthwise + Flatten→Gemm: hand-computed shapes, and removing all-zero channels changes no output', async () => {
  const original = load(builderNet());
  const r = structuredPrune(original, { sparsity: 0.25 });
  const g = r.proto.graph!;
  const dims = (name: string) => {
    const t = g.initializer.find((i) => i.name === name)!;
    return tensorDims(t);
  };
  assert.deepEqual(dims('W1'), [6, 3, 3, 3]);
  assert.deepEqual(dims('b1'), [6]);
  assert.deepEqual(dims('W2'), [6, 6, 3, 3]);
  assert.deepEqual(dims('Wd'), [6, 1, 3, 3]);
  assert.equal(attrInt(g.node.find((n) => n.name === 'dw')!, 'group', 0), 6);
  assert.deepEqual(dims('W3'), [6, 6, 1, 1]);
  assert.deepEqual(dims('W4'), [4, 12, 1, 1]);
  assert.deepEqual(dims('b4'), [4]);
  assert.deepEqual(dims('Wf'), [10, 64]);
  assert.deepEqual(dims('bf'), [10], 'the classifier outputs are never pruned');
  assert.equal(g.valueInfo.length, 0, 'the stale [N,16,8,8] shape of the concat was dropped');
  // Kept rows are the original non-zero ones, unchanged.
  const before = tensorValues(original.proto.graph!.initializer.find((t) => t.name === 'W1')!);
  const after = tensorValues(g.initializer.find((t) => t.name === 'W1')!);
  [0, 2, 3, 4, 6, 7].forEach((c, k) => assert.deepEqual([...after.subarray(k * 27, k * 27 + 27)], [...before.subarray(c * 27, c * 27 + 27)]));
  assert.deepEqual(r.refit.map((l) => l.name).sort(), ['c2', 'c3', 'c4', 'dw', 'fc']);
  assert.deepEqual(r.refit.find((l) => l.name === 'c4')!.outChannels, [1, 2, 4, 5]);

  const rnd = seededRandom(4);
  const x = Float32Array.from({ length: 16 * 3 * 8 * 8 }, () => rnd() * 2 - 1);
  const ref = await run(original.proto, x, [16, 3, 8, 8]);
  const out = await run(r.proto, x, [16, 3, 8, 8]);
  const diff = maxAbsDiff(ref, out);
  console.log(`zero-channel structured pruning: params ${r.paramsBefore} → ${r.paramsAfter}, max |Δlogit| ${diff.toExponential(2)}`);
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
});

test('Split along channels gets new split sizes', async () => {
  const w = new Weights();
  w.add('W1', [8, 3, 3, 3]); w.add('b1', [8]); w.add('Wa', [4, 4, 3, 3]); w.add('ba', [4]);
  w.add('W2', [5, 8, 3, 3]); w.add('b2', [5]); w.add('Wf', [10, 5]); w.add('bf', [10]);
  w.zero('W1', 0, [1, 6]); w.zero('b1', 0, [1, 6]); w.zero('Wa', 1, [1]); w.zero('W2', 1, [6]);
  const g = graph({
    nodes: [
      conv('x', 'W1', 'b1', 'c1'),
      node('Split', ['c1', 'sizes'], ['s0', 's1'], { axis: 1 }, 'split'),
      conv('s0', 'Wa', 'ba', 'a'), node('Relu', ['s1'], ['b'], {}, 'relu'),
      node('Concat', ['a', 'b'], ['cat'], { axis: 1 }, 'cat'),
      conv('cat', 'W2', 'b2', 'c2'), node('GlobalAveragePool', ['c2'], ['gap'], {}, 'gap'),
      node('Flatten', ['gap'], ['flat'], { axis: 1 }, 'flat'), node('Gemm', ['flat', 'Wf', 'bf'], ['logits'], { transB: 1 }, 'fc'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])], outputs: [valueInfo('logits', DataType.FLOAT, ['N', 10])],
    initializers: [...w.initializers(), makeTensor('sizes', DataType.INT64, [2], [4, 4])],
  });
  const original = load(model(g, { opset: 13 }));
  // One group of 12 channels: c1 (split into s0 | s1) and a, joined by the concat (cat = a | relu(s1));
  // c2's 5 channels are a second group, excluded. 12 · 1/6 = 2 channels go: c1's zeroed 1 and 6.
  const r = structuredPrune(original, { sparsity: 1 / 6, exclude: ['c2'] });
  const sizes = r.proto.graph!.initializer.find((t) => t.name === r.proto.graph!.node.find((n) => n.name === 'split')!.input[1])!;
  assert.deepEqual([...tensorValues(sizes)], [3, 3]);
  const x = Float32Array.from({ length: 4 * 3 * 8 * 8 }, seededRandom(2));
  const diff = maxAbsDiff(await run(original.proto, x, [4, 3, 8, 8]), await run(r.proto, x, [4, 3, 8, 8]));
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
});

test('--round-to keeps channel counts at multiples of 8 (rounded up); graph outputs and grouped convs are never pruned', async () => {
  const original = load(convNet({ channels: [16, 32], seed: 8 }));
  const r = structuredPrune(original, { sparsity: 0.3, roundTo: 8 });
  const w = (name: string) => tensorDims(r.proto.graph!.initializer.find((t) => t.name === name)!);
  // 16 · 0.7 = 11.2 → 16 (unchanged); 32 · 0.7 = 22.4 → 24.
  assert.deepEqual(w('conv1.weight'), [16, 3, 3, 3]);
  assert.deepEqual(w('conv4.weight').slice(0, 2), [24, 16]);
  assert.deepEqual(w('conv5.weight').slice(0, 2), [24, 24]);
  assert.deepEqual(w('fc1.weight'), [10, 24]);
  const blocked = r.groups.find((gr) => gr.producers.includes('fc1'))!;
  assert.match(blocked.blocked!, /graph output/);

  const grouped = convNet({ channels: [8], seed: 1 });
  const c = grouped.graph!.node.find((n) => n.name === 'conv3')!; // the stage's inner 3×3 conv, 8 → 8
  c.attribute.find((a) => a.name === 'group')!.i = 2n;
  const t = grouped.graph!.initializer.find((i) => i.name === 'conv3.weight')!;
  grouped.graph!.initializer[grouped.graph!.initializer.indexOf(t)] = makeTensor(t.name, DataType.FLOAT, [8, 4, 3, 3], tensorValues(t).slice(0, 8 * 4 * 9));
  const rg = structuredPrune(load(grouped), { sparsity: 0.5 });
  // conv2's channels feed the grouped conv3, so that group is kept whole.
  assert.match(rg.groups.find((gr) => gr.producers.includes('conv2'))!.blocked!, /conv3 \(Conv\): grouped convolution/);
  assert.ok(rg.groups.some((gr) => gr.producers.includes('conv1') && gr.kept === 4), 'the stem group is still pruned');
  const x = Float32Array.from({ length: 2 * 3 * 32 * 32 }, seededRandom(5));
  assert.equal((await run(rg.proto, x, [2, 3, 32, 32])).length, 20);
  assert.equal((await run(r.proto, x, [2, 3, 32, 32])).length, 20);
});

test('the real PaddleOCR MobileNetV3 classifier (Constant-node weights, SE blocks, hard-swish) prunes, shrinks and runs', async () => {
  const original = readModelSync(fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const r = structuredPrune(original, { sparsity: 0.3 });
  const pruned = r.groups.filter((gr) => gr.kept < gr.channels);
  assert.ok(pruned.length >= 20, `${pruned.length} groups pruned`);
  assert.ok(r.paramsAfter < 0.7 * r.paramsBefore, `${r.paramsBefore} → ${r.paramsAfter}`);
  // The classifier head is behind Shape/Reshape/MatMul/Softmax: its group is kept, with the reason.
  assert.ok(r.groups.some((gr) => gr.blocked?.includes('Softmax')));
  const x = Float32Array.from({ length: 4 * 3 * 48 * 192 }, seededRandom(3)).map((v) => v * 2 - 1);
  const [a, b] = [await run(original.proto, x, [4, 3, 48, 192]), await run(r.proto, x, [4, 3, 48, 192])];
  assert.equal(b.length, 8);
  const sums = [0, 1, 2, 3].map((i) => b[2 * i] + b[2 * i + 1]);
  sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, 'still a softmax over two classes'));
  console.log(`PaddleOCR cls 30 % structured (no data): params ${r.paramsBefore} → ${r.paramsAfter}, max |Δprob| vs original ${maxAbsDiff(a, b).toFixed(3)}`);
});

test('Reshape-as-flatten → MatMul: the literal feature count and the MatMul rows follow the removed channels', async () => {
  const w = new Weights();
  w.add('W1', [8, 3, 3, 3]); w.add('b1', [8]); w.add('Wm', [128, 10]); w.add('bm', [10]);
  for (const [name, axis] of [['W1', 0], ['b1', 0]] as const) w.zero(name, axis, [2, 5]);
  w.zero('Wm', 0, [2, 5], 16);
  const g = graph({
    nodes: [
      conv('x', 'W1', 'b1', 'c1'), node('Relu', ['c1'], ['r1'], {}, 'relu'),
      node('Reshape', ['r1', 'shape'], ['flat'], {}, 'flatten'),
      node('MatMul', ['flat', 'Wm'], ['mm'], {}, 'fc'), node('Add', ['mm', 'bm'], ['logits'], {}, 'bias'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 4, 4])], outputs: [valueInfo('logits', DataType.FLOAT, ['N', 10])],
    initializers: [...w.initializers(), makeTensor('shape', DataType.INT64, [2], [-1, 128])],
  });
  const original = load(model(g, { opset: 13 }));
  // 8 · 0.25 = 2 channels go: the zeroed 2 and 5, i.e. features 32..47 and 80..95 of the 8 · 4 · 4 = 128.
  const r = structuredPrune(original, { sparsity: 0.25 });
  const t = (name: string) => r.proto.graph!.initializer.find((i) => i.name === name)!;
  assert.deepEqual([...tensorValues(t('shape'))], [-1, 96]);
  assert.deepEqual(tensorDims(t('W1')), [6, 3, 3, 3]);
  assert.deepEqual(tensorDims(t('Wm')), [96, 10]);
  const x = Float32Array.from({ length: 4 * 3 * 4 * 4 }, seededRandom(6)).map((v) => v * 2 - 1);
  const diff = maxAbsDiff(await run(original.proto, x, [4, 3, 4, 4]), await run(r.proto, x, [4, 3, 4, 4]));
  assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
});

test('global structured ranking is scale-free per group, so a layer with tiny weights is not wiped out', () => {
  const proto = convNet({ channels: [16, 32], bn: false, seed: 3 });
  const scaled = convNet({ channels: [16, 32], bn: false, seed: 3 });
  const w = scaled.graph!.initializer.find((t) => t.name === 'conv2.weight')!;
  scaled.graph!.initializer[scaled.graph!.initializer.indexOf(w)] = makeTensor(w.name, DataType.FLOAT, w.dims.map(Number), Float32Array.from(tensorValues(w), (v) => v * 1e-3));
  const kept = (p: ModelProto) => structuredPrune(load(p), { sparsity: 0.5, scope: 'global' }).groups.map((g) => [g.producers.join('+'), g.channels, g.kept] as const);
  const [a, b] = [kept(proto), kept(scaled)];
  assert.ok(b.some(([name, c, k]) => name.includes('conv2') && k < c), `conv2's group is pruned: ${JSON.stringify(b)}`);
  assert.deepEqual(b, a, 'scaling one conv by 1e-3 changes no group\'s kept count');
  for (const [name, channels, k] of b) assert.ok(k >= Math.ceil(0.1 * channels), `${name}: ${k} of ${channels} kept`);
});
