// The exporter's op list (support.ts) against the exporter itself: every op type is probed with exportTflite on a
// one-op int8 QDQ model, so the list fails this test as soon as a converter is added to or removed from export.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { node } from '../../../src/core/onnx/build';
import { exportTflite } from '../../../src/core/tflite/export';
import { CONTEXTUAL_OPS, EXPORTABLE_OPS, isExportableOp, PREPROCESSED_OPS, unexportableNodes } from '../../../src/core/tflite/support';
import { singleOpQdq } from '../../builders/qdqOps';

const p = { scale: 0.05, zeroPoint: 0 };

/** The exporter's answer for a one-op model: undefined when it has no converter for `op`, else what it did. */
function probe(op: string): 'no converter' | 'converted or refused otherwise' {
  const q = singleOpQdq(op, [1, 4, 4, 4], [1, 4, 4, 4], p, p);
  try {
    exportTflite(q, { io: 'int8' });
  } catch (e) {
    if (e instanceof Error && e.message.includes(`${op} cannot be exported to TFLite yet`)) return 'no converter';
  }
  return 'converted or refused otherwise';
}

// The ops image classifiers use (and a few they do not): the list must say of each what the exporter does.
const PROBED = [
  ...EXPORTABLE_OPS,
  'Sigmoid', 'Tanh', 'Pad', 'MatMul', 'Transpose', 'Sub', 'Resize', 'LeakyRelu', 'ConvTranspose', 'Split', 'ReduceMean',
  'Squeeze', 'Unsqueeze', 'Slice', 'Gather', 'Shape', 'Cast', 'BatchNormalization', 'Erf', 'Sqrt', 'Pow', 'GlobalMaxPool',
  'LRN', 'Dropout', 'Identity', 'Elu', 'PRelu', 'Exp', 'Log', 'Max', 'Min', 'ArgMax', 'TopK', 'Einsum', 'Where', 'Expand',
];

for (const op of new Set(PROBED)) {
  test(`${op}: support.ts says ${EXPORTABLE_OPS.has(op) ? 'exportable' : 'not exportable'}, as exportTflite does`, () => {
    assert.equal(probe(op), EXPORTABLE_OPS.has(op) ? 'converted or refused otherwise' : 'no converter');
  });
}

test('Add and Mul one-op models convert outright: the probe reaches a working converter', () => {
  for (const op of ['Add', 'Mul']) {
    const q = singleOpQdq(op, [1, 4, 4, 4], [1, 4, 4, 4], p, p);
    q.graph!.node[2].input = ['x.dq', 'x.dq'];
    assert.equal(new TextDecoder().decode(exportTflite(q, { io: 'int8' }).bytes.subarray(4, 8)), 'TFL3', op);
  }
});

test('unexportableNodes names the nodes without a converter, in graph order, custom domains prefixed', () => {
  const nodes = [
    node('QuantizeLinear', ['x', 's', 'z'], ['xq']),
    node('DequantizeLinear', ['xq', 's', 'z'], ['xd']),
    node('Conv', ['xd', 'w'], ['c'], {}, 'conv'),
    node('Relu', ['c'], ['r']),
    node('Resize', ['r'], ['u'], {}, 'up'),
    node('Conv', ['u', 'w'], ['c2'], {}, 'msconv', 'com.microsoft'),
    node('Softmax', ['c2'], ['y']),
  ];
  assert.deepEqual(unexportableNodes({ node: nodes }), [{ index: 4, op: 'Resize' }, { index: 5, op: 'com.microsoft.Conv' }]);
  assert.equal(isExportableOp({ opType: 'Relu', domain: '' }), true);
  assert.equal(isExportableOp({ opType: 'Resize', domain: 'ai.onnx' }), false);
  for (const op of CONTEXTUAL_OPS) assert.equal(EXPORTABLE_OPS.has(op), false, `${op} is listed once`);
});

test('unexportableNodes leaves out what the export removes first: shape subgraphs (folded once shapes are fixed), BatchNormalization, Identity, Dropout', () => {
  const nodes = [
    node('Conv', ['x', 'w'], ['c'], {}, 'conv'),
    node('BatchNormalization', ['c', 'g', 'b', 'm', 'v'], ['bn'], {}, 'bn'),
    node('Identity', ['bn'], ['id']),
    node('Shape', ['id'], ['shape']),
    node('Gather', ['shape', 'zero'], ['n']),
    node('Unsqueeze', ['n', 'axes'], ['n1']),
    node('Concat', ['n1', 'minusOne'], ['target'], { axis: 0 }),
    node('Reshape', ['id', 'target'], ['flat'], {}, 'flatten'),
    // Gather on activations is computation, not a shape: it stays marked.
    node('Gather', ['flat', 'zero'], ['g'], {}, 'pick'),
  ];
  const initializer = ['w', 'g', 'b', 'm', 'v', 'zero', 'axes', 'minusOne'].map((name) => ({ name }));
  assert.deepEqual(unexportableNodes({ node: nodes, initializer }), [{ index: 8, op: 'Gather' }]);
  for (const op of PREPROCESSED_OPS) assert.equal(EXPORTABLE_OPS.has(op), false, `${op}: the exporter has no converter, the quantizer removes it`);
});
