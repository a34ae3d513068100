import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph } from '../../../src/core/onnx/graph';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { floatGaps, quantizeFloatGaps } from '../../../src/core/tflite/fullInteger';
import { arraySource, outputs } from '../quantize/ortRun';

/**
 * x → Q/DQ (scale 0.5, zero point 128: the test inputs are exact) → HardSigmoid (α 0.2, β 0.5) → h; m = x·h;
 * Softmax(m) → s; Reshape(s) → y: four float tensors onnxruntime-style QDQ leaves between int8 ops.
 */
function gappy() {
  return model(graph({
    nodes: [
      node('QuantizeLinear', ['x', 'sx', 'zx'], ['qx']), node('DequantizeLinear', ['qx', 'sx', 'zx'], ['dx']),
      node('HardSigmoid', ['dx'], ['h'], { alpha: { float: 0.2 }, beta: { float: 0.5 } }),
      node('Mul', ['dx', 'h'], ['m']),
      node('Softmax', ['m'], ['s'], { axis: -1 }),
      node('Reshape', ['s', 'shape'], ['y']),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('sx', DataType.FLOAT, [], [0.5]), makeTensor('zx', DataType.UINT8, [], [128]), makeTensor('shape', DataType.INT64, [2], [1, 4])],
  }), { opset: 13 });
}

test('quantizeFloatGaps: [0, 1] for HardSigmoid, the calibrated range for Mul, 1/256 for Softmax and shared through Reshape; onnxruntime runs the result', async () => {
  const m = gappy();
  assert.deepEqual(floatGaps(m), ['h', 'm', 's', 'y']);
  const x = Float32Array.from([-3, -1, 0.5, 2]);
  const { proto, gaps } = await quantizeFloatGaps(m, arraySource(x, [4]));
  assert.deepEqual(gaps, ['h', 'm', 's', 'y']);
  assert.deepEqual(floatGaps(proto), [], 'no float gap left');
  const index = indexGraph(proto.graph!);
  const params = (t: string) => {
    const dq = index.producer.get(t)!;
    assert.equal(dq.opType, 'DequantizeLinear');
    return [Number(tensorValues(index.constants.get(dq.input[1])!)[0]), Number(tensorValues(index.constants.get(dq.input[2])!)[0])];
  };
  assert.deepEqual(params('h'), [Math.fround(1 / 255), 0]);
  // h = clip(0.2x + 0.5, 0, 1) = [0, 0.3, 0.6, 0.9]; m = x·h = [0, −0.3, 0.3, 1.8]: scale 2.1/255, zero point round(0.3/scale) = 36.
  const [scale, zp] = params('m');
  assert.ok(Math.abs(scale - 2.1 / 255) < 1e-6, `${scale}`);
  assert.equal(zp, 36);
  assert.deepEqual(params('s'), [1 / 256, 0]);
  assert.deepEqual(params('y'), [1 / 256, 0]);
  assert.deepEqual(proto.graph!.output.map((v) => v.name), ['y'], 'the graph output keeps its name');

  // Softmax of m, within two quantization steps of 1/256 and one of m's.
  const ms = [0, -0.3, 0.3, 1.8].map(Math.exp);
  const sum = ms.reduce((a, b) => a + b, 0);
  const y = (await outputs(proto, arraySource(x, [4]))).values;
  ms.forEach((e, i) => assert.ok(Math.abs(y[i] - e / sum) < 2 / 256 + 0.01, `${i}: ${y[i]} vs ${e / sum}`));
  assert.deepEqual(floatGaps(gappy()), ['h', 'm', 's', 'y'], 'the input model is left as it was');
});
