import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivationProbe, batchPlan, captureActivations } from '../../../src/core/eval/activations';
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

test('an unknown tensor name is a usage error, not a crash', async () => {
  await assert.rejects(ActivationProbe.open(tiny('N'), ['nope']), /no node produces tensor 'nope'/);
});
