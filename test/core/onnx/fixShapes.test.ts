import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/core/errors';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { fixShapes, shapeHint, symbolicInputs } from '../../../src/core/onnx/fixShapes';
import type { ModelProto, ValueInfoProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { arraySource, outputs } from '../quantize/ortRun';

const dimsOf = (v: ValueInfoProto) => (v.type?.value.case === 'tensorType' ? v.type.value.value.shape?.dim.map((d) => Number(d.value.value)) : undefined);

/**
 * x [N, C, H, W] → y = Reshape(x, Concat(Cast(Slice(Shape(x), 0, 1)), Unsqueeze(H·W from Gather/Mul), [−1]))
 * as paddle2onnx writes flattens: the shape of y is only known once H and W are.
 */
function symbolicFlatten(): ModelProto {
  return model(graph({
    nodes: [
      node('Shape', ['x'], ['shape']),
      node('Slice', ['shape', 'zero', 'one'], ['batch64']),
      node('Cast', ['batch64'], ['batch32'], { to: DataType.INT32 }),
      node('Cast', ['batch32'], ['batch'], { to: DataType.INT64 }),
      node('Gather', ['shape', 'two'], ['h'], { axis: 0 }),
      node('Gather', ['shape', 'three'], ['w'], { axis: 0 }),
      node('Mul', ['h', 'w'], ['hw']),
      node('Unsqueeze', ['hw', 'axes'], ['hw1']),
      node('Concat', ['batch', 'hw1', 'minusOne'], ['target'], { axis: 0 }),
      node('Reshape', ['x', 'target'], ['y']),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 2, 'H', 'W'])],
    outputs: [valueInfo('y', DataType.FLOAT, undefined)],
    initializers: [
      makeTensor('zero', DataType.INT64, [1], [0]), makeTensor('one', DataType.INT64, [1], [1]),
      makeTensor('two', DataType.INT64, [], [2]), makeTensor('three', DataType.INT64, [], [3]),
      makeTensor('axes', DataType.INT64, [1], [0]), makeTensor('minusOne', DataType.INT64, [1], [-1]),
    ],
  }), { opset: 13 });
}

test('fixShapes: --shape fixes the input, the Shape → Slice/Gather → Cast → Mul → Unsqueeze → Concat chain becomes one constant, and onnxruntime computes the same outputs', async () => {
  const original = symbolicFlatten();
  assert.deepEqual(symbolicInputs(original), [{ name: 'x', dims: ['N', 2, 'H', 'W'] }]);
  const r = fixShapes(original, { x: [1, 2, 3, 4] });
  const g = r.proto.graph!;
  assert.deepEqual(g.node.map((n) => n.opType), ['Reshape'], 'only the Reshape is left');
  assert.equal(r.folded, 9, 'Shape, Slice, 2 Cast, 2 Gather, Mul, Unsqueeze and Concat each compute a known value');
  const target = g.initializer.find((t) => t.name === 'target')!;
  // Hand-computed: [batch 1, H·W = 12, −1].
  assert.deepEqual(Array.from(tensorValues(target), Number), [1, 12, -1]);
  assert.deepEqual(g.initializer.map((t) => t.name), ['target'], 'constants only the folded chain read are dropped');
  const dims = dimsOf(g.input[0]);
  assert.deepEqual(dims, [1, 2, 3, 4]);
  assert.deepEqual(dimsOf(g.output[0]), [1, 12, 2]);
  assert.equal(symbolicInputs(r.proto).length, 0);

  const x = Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => Math.sin(i));
  const [a, b] = [await outputs(original, arraySource(x, [2, 3, 4])), await outputs(r.proto, arraySource(x, [2, 3, 4]))];
  assert.equal(a.width, 24);
  assert.deepEqual(Array.from(b.values), Array.from(a.values));
  assert.equal(original.graph!.node.length, 10, 'the input model is left as it was');
});

test('fixShapes: a symbolic batch alone becomes 1; symbolic H/W without --shape, a shape of the wrong rank or size and an unknown input name are UsageErrors naming the file', () => {
  const batchOnly = model(graph({
    nodes: [node('Relu', ['x'], ['y'])],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3])], outputs: [valueInfo('y', DataType.FLOAT, ['N', 3])],
  }), { opset: 13 });
  const fixed = fixShapes(batchOnly, {}).proto.graph!;
  assert.deepEqual(dimsOf(fixed.input[0]), [1, 3]);
  assert.deepEqual(dimsOf(fixed.output[0]), [1, 3]);

  const m = symbolicFlatten();
  const cases: [Record<string, number[]>, RegExp][] = [
    [{}, /^m\.onnx: input 'x' has symbolic dims \[N, 2, H, W\]: give its size with --shape x=1,2,H,W/],
    [{ x: [1, 2, 3] }, /--shape x=1,2,3 does not fit input 'x' of shape \[N, 2, H, W\]/],
    [{ x: [1, 3, 3, 4] }, /does not fit/],
    [{ image: [1, 2, 3, 4] }, /--shape names 'image', which is not an input of the model \(inputs: x\)/],
  ];
  for (const [shapes, message] of cases) {
    assert.throws(() => fixShapes(m, shapes, { file: 'm.onnx' }), (e) => e instanceof UsageError && message.test(e.message));
  }
  assert.equal(shapeHint('x', ['batch', 3, 'height', 'width']), '--shape x=1,3,H,W');
});
