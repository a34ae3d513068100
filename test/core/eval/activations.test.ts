import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivationProbe, batchPlan, captureActivations, feedsFor } from '../../../src/core/eval/activations';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { arraySource } from '../quantize/ortRun';

// h = x · W (W = [[1, -1], [2, 0.5]]), r = Relu(h), y = r + 1
const tiny = (batch: number | string) => model(graph({
  nodes: [node('MatMul', ['x', 'W'], ['h']), node('Relu', ['h'], ['r']), node('Add', ['r', 'one'], ['y'])],
  inputs: [valueInfo('x', DataType.FLOAT, [batch, 2])],
  outputs: [valueInfo('y', DataType.FLOAT, [batch, 2])],
  initializers: [makeTensor('W', DataType.FLOAT, [2, 2], [1, -1, 2, 0.5]), makeTensor('one', DataType.FLOAT, [], [1])],
}), { opset: 13 });

test('inner tensors come back per batch with their dims (hand-computed values)', async () => {
  const x = Float32Array.of(1, 2, -1, 1, 0.5, -2);
  const seen: { start: number; h: number[]; r: number[]; x: number[]; dims: number[] }[] = [];
  const n = await captureActivations(tiny('N'), ['h', 'r', 'x'], arraySource(x, [2]), (t, start) => {
    seen.push({ start, h: [...t.get('h')!.data], r: [...t.get('r')!.data], x: [...t.get('x')!.data], dims: t.get('h')!.dims });
  }, { batchSize: 2 });
  assert.equal(n, 3);
  assert.deepEqual(seen.map((s) => s.start), [0, 2]);
  // rows: [1,2]·W = [5, 0]; [-1,1]·W = [1, 1.5]; [0.5,-2]·W = [-3.5, -1.5]
  assert.deepEqual(seen[0].h, [5, 0, 1, 1.5]);
  assert.deepEqual(seen[0].dims, [2, 2]);
  assert.deepEqual(seen[1].h, [-3.5, -1.5]);
  assert.deepEqual(seen[1].r, [0, 0]);
  assert.deepEqual(seen[0].x, [1, 2, -1, 1]);
});

test('a fixed batch dimension is respected and graph outputs can be captured too', async () => {
  const probe = await ActivationProbe.open(tiny(1), ['y', 'h']);
  assert.equal(probe.fixedBatch, 1);
  assert.deepEqual(batchPlan({ n: 3, sampleShape: [2], batch: async () => new Float32Array() }, probe.fixedBatch, { batchSize: 8 }), [[0, 1], [1, 1], [2, 1]]);
  const out = await probe.run(Float32Array.of(1, 2), [1, 2]);
  assert.deepEqual([...out.get('y')!.data], [6, 1]);
  assert.deepEqual([...out.get('h')!.data], [5, 0]);
  await probe.close();
});

test('capturing only the graph input runs nothing and returns the fed batch (a lone layer reading the input)', async () => {
  const x = Float32Array.of(1, 2, -1, 1);
  const seen: number[][] = [];
  const n = await captureActivations(tiny('N'), ['x'], arraySource(x, [2]), (t) => { seen.push([...t.get('x')!.data]); }, { batchSize: 2 });
  assert.equal(n, 2);
  assert.deepEqual(seen, [[1, 2, -1, 1]]);
});

test('an unknown tensor name is a usage error, not a crash', async () => {
  await assert.rejects(ActivationProbe.open(tiny('N'), ['nope']), /no node produces tensor 'nope'/);
});

test('only the nodes a captured tensor depends on run: a branch that fails at run time is left out', async () => {
  // z = Reshape(r, [5]) cannot succeed for any batch (r has 2·N elements, N = 2 here), so capturing h or r
  // works only if that branch is cut away. W and the shape are also listed among the graph inputs, as
  // opset-9 exports do; the unused one must leave the inputs with its initializer.
  const g = graph({
    nodes: [node('MatMul', ['x', 'W'], ['h']), node('Relu', ['h'], ['r']), node('Reshape', ['r', 'shape'], ['z'])],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 2]), valueInfo('W', DataType.FLOAT, [2, 2]), valueInfo('shape', DataType.INT64, [1])],
    outputs: [valueInfo('z', DataType.FLOAT, [5])],
    initializers: [makeTensor('W', DataType.FLOAT, [2, 2], [1, -1, 2, 0.5]), makeTensor('shape', DataType.INT64, [1], [5])],
  });
  const full = await ActivationProbe.open(model(g, { opset: 13 }), ['z']);
  await assert.rejects(full.run(Float32Array.of(1, 2, -1, 1), [2, 2]), 'the branch really fails when run');
  await full.close();
  const probe = await ActivationProbe.open(model(g, { opset: 13 }), ['h', 'r']);
  const out = await probe.run(Float32Array.of(1, 2, -1, 1), [2, 2]);
  assert.deepEqual([...out.get('h')!.data], [5, 0, 1, 1.5]);
  assert.deepEqual([...out.get('r')!.data], [5, 0, 1, 1.5]);
  await probe.close();
});

test('a capture can start from inner tensors: feedsFor finds them and runFrom feeds them', async () => {
  // y = Relu(x · W) + 1: given h, r and y need only h; given nothing but x, they need x.
  const proto = tiny('N');
  assert.deepEqual(feedsFor(proto, ['y'], new Set(['x', 'h'])), ['h']);
  assert.deepEqual(feedsFor(proto, ['y'], new Set(['x'])), ['x']);
  assert.deepEqual(feedsFor(proto, ['h'], new Set(['x', 'h'])), ['h']);
  const probe = await ActivationProbe.open(proto, ['r', 'y'], { from: ['h'] });
  const out = await probe.runFrom(new Map([['h', { data: Float32Array.of(5, -2, -1, 1.5), dims: [2, 2] }]]));
  assert.deepEqual([...out.get('r')!.data], [5, 0, 0, 1.5]);
  assert.deepEqual([...out.get('y')!.data], [6, 1, 1, 2.5]);
  await probe.close();
});
