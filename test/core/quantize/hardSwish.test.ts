import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { opsetVersion } from '../../../src/core/onnx/read';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { fuseHardSwish } from '../../../src/core/quantize/hardSwish';
import { seededRandom } from '../../../src/core/random';
import { arraySource, outputs } from './ortRun';

const scalar = (name: string, v: number) => makeTensor(name, DataType.FLOAT, [], [v]);

/** Conv → x·Clip(x+3, 0, hi)/6 → Conv, written out as Paddle2ONNX does (opset 13, so Clip takes inputs). */
function writtenOut(hi = 6, lastOp: 'Div' | 'Mul' = 'Div'): ModelProto {
  const rnd = seededRandom(9);
  const w = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rnd() - 0.5));
  return model(graph({
    nodes: [
      node('Conv', ['x', 'w1'], ['a'], { pads: [1, 1, 1, 1] }, 'conv1'),
      node('Add', ['a', 'three'], ['a3'], {}, 'add'),
      node('Clip', ['a3', 'zero', 'hi'], ['r6'], {}, 'clip'),
      node('Mul', ['r6', 'a'], ['m'], {}, 'mul'),
      lastOp === 'Div' ? node('Div', ['m', 'six'], ['hs'], {}, 'div') : node('Mul', ['sixth', 'm'], ['hs'], {}, 'scale'),
      node('Conv', ['hs', 'w2'], ['y'], {}, 'conv2'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 4, 8, 8])],
    initializers: [w('w1', [6, 3, 3, 3]), w('w2', [4, 6, 1, 1]), scalar('three', 3), scalar('zero', 0), scalar('hi', hi), lastOp === 'Div' ? scalar('six', 6) : scalar('sixth', 1 / 6)],
  }), { opset: 13 });
}

const data = () => {
  const rnd = seededRandom(2);
  return arraySource(Float32Array.from({ length: 8 * 3 * 64 }, () => (rnd() - 0.5) * 16), [3, 8, 8]);
};

for (const lastOp of ['Div', 'Mul'] as const) {
  test(`Add → Clip(0, 6) → Mul → ${lastOp} becomes one HardSwish (opset 14) with the same outputs`, async () => {
    const float = writtenOut(6, lastOp);
    const fused = fuseHardSwish(float);
    const ops = fused.graph!.node.map((n) => n.opType);
    assert.deepEqual(ops, ['Conv', 'HardSwish', 'Conv']);
    assert.equal(opsetVersion(fused), 14);
    assert.deepEqual(fused.graph!.initializer.map((t) => t.name).sort(), ['w1', 'w2'], 'the pattern constants are gone');
    const ref = await outputs(float, data());
    const got = await outputs(fused, data());
    let err = 0;
    for (let i = 0; i < ref.values.length; i++) err = Math.max(err, Math.abs(ref.values[i] - got.values[i]));
    assert.ok(err < 1e-5, `max |Δ| ${err}`);
  });
}

test('a Clip to another range is not hard-swish and stays as it is', () => {
  const float = writtenOut(5);
  assert.equal(fuseHardSwish(float), float);
});

test('a model that cannot be raised to opset 14 (an operator the upgrade does not know) is left as it is', () => {
  const float = writtenOut();
  float.graph!.node.push(node('GRU', ['y', 'gw', 'gr'], ['h'], {}, 'gru'));
  assert.equal(fuseHardSwish(float), float);
});
