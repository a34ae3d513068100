import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { foldConvAffine } from '../../../src/core/quantize/convAffine';
import { seededRandom } from '../../../src/core/random';
import { arraySource, outputs } from './ortRun';

const rnd = seededRandom(12);
const tensor = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rnd() - 0.5));

/** Conv(bias?) → Mul(scale, ·) → Add(·, shift) → Relu, as PP-LCNetV3's learnable affine block is exported. */
function affineNet(scaleDims: number[], shiftDims: number[], bias: boolean): ModelProto {
  return model(graph({
    nodes: [
      node('Conv', ['x', 'w', ...(bias ? ['b'] : [])], ['c'], { pads: [1, 1, 1, 1] }, 'conv'),
      node('Mul', ['scale', 'c'], ['m'], {}, 'lab_mul'),
      node('Add', ['m', 'shift'], ['a'], {}, 'lab_add'),
      node('Relu', ['a'], ['y'], {}, 'relu'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 6, 6])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 4, 6, 6])],
    initializers: [tensor('w', [4, 3, 3, 3]), tensor('b', [4]), tensor('scale', scaleDims), tensor('shift', shiftDims)].filter((t) => bias || t.name !== 'b'),
  }), { opset: 13 });
}

const data = arraySource(Float32Array.from({ length: 8 * 3 * 36 }, () => rnd() * 2 - 1), [3, 6, 6]);

for (const [scaleDims, shiftDims, bias] of [[[1], [1], true], [[4, 1, 1], [1, 4, 1, 1], false], [[], [4, 1, 1], true]] as const) {
  test(`Conv${bias ? '+bias' : ''} → Mul [${scaleDims}] → Add [${shiftDims}] folds into the Conv with the same outputs`, async () => {
    const float = affineNet([...scaleDims], [...shiftDims], bias);
    const folded = foldConvAffine(float);
    assert.deepEqual(folded.graph!.node.map((n) => n.opType), ['Conv', 'Relu']);
    assert.equal(folded.graph!.node[0].name, 'conv');
    assert.equal(folded.graph!.node[0].input.length, 3, 'the Conv has a bias now');
    assert.deepEqual(folded.graph!.initializer.map((t) => t.name).filter((n) => ['scale', 'shift', 'w', 'b'].includes(n)), [], 'old constants dropped');
    const ref = await outputs(float, data);
    const got = await outputs(folded, data);
    let err = 0;
    for (let i = 0; i < ref.values.length; i++) err = Math.max(err, Math.abs(ref.values[i] - got.values[i]));
    assert.ok(err < 1e-5, `max |Δ| ${err}`);
  });
}

test('constants that vary along another axis, or a Conv output read twice, are left alone', () => {
  const spatial = affineNet([1, 6, 1], [1], true);
  assert.equal(foldConvAffine(spatial), spatial, 'a [1,6,1] scale varies along H: nothing folds');
  const twice = affineNet([1], [1], true);
  twice.graph!.output.push(valueInfo('c', DataType.FLOAT, ['N', 4, 6, 6]));
  assert.equal(foldConvAffine(twice), twice);
});
