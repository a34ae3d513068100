// Peak activation memory by liveness, worked out by hand for a branch-and-join graph, in file order and when the
// file's node order is not topological.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activationMemory, schedule } from '../../../src/core/analysis/memory';
import { graph, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph } from '../../../src/core/onnx/graph';
import { inferShapes } from '../../../src/core/onnx/shapes';

/** x → Relu a, x → Sigmoid b, Add(a, b) → c, Relu(c) → y; every tensor is 1000 float32 = 4000 bytes. */
const nodes = () => [
  node('Relu', ['x'], ['a'], {}, 'relu'),
  node('Sigmoid', ['x'], ['b'], {}, 'sigmoid'),
  node('Add', ['a', 'b'], ['c'], {}, 'add'),
  node('Relu', ['c'], ['y'], {}, 'out'),
];

function peak(order: ReturnType<typeof nodes>) {
  const g = graph({ nodes: order, inputs: [valueInfo('x', DataType.FLOAT, [1, 1000])], outputs: [valueInfo('y', DataType.FLOAT, [1, 1000])] });
  const index = indexGraph(g);
  return activationMemory(schedule(index), index, inferShapes(g, {}, index));
}

test('memory: the peak is x, a and b live while Sigmoid runs (and a, b, c while Add runs)', () => {
  const m = peak(nodes());
  assert.equal(m.peakBytes, 12_000);
  assert.equal(m.peakNode?.name, 'sigmoid');
  assert.equal(m.unknown, 0);
});

test('memory: a node list out of topological order is scheduled first', () => {
  const [relu, sigmoid, add, out] = nodes();
  assert.equal(peak([out, add, relu, sigmoid]).peakBytes, 12_000);
});
