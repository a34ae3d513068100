// The exported .tflite files run by a second, current runtime — LiteRT.js 2.5.3 (Google's LiteRT WASM build, XNNPACK
// CPU kernels, strict flatbuffer verification) — against node-tflite (TFLite 2.2) on the same inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { readModelSync } from '../../../src/core/onnx/read';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { seededRandom } from '../../../src/core/random';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { exportTflite } from '../../../src/core/tflite/export';
import { QdqBuilder, singleOpQdq } from '../../builders/qdqOps';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, mnistSamples } from '../../fixtures/mnist';
import { arraySource } from '../quantize/ortRun';
import { runLiteRt } from './litertNode';

function runNodeTflite(bytes: Uint8Array, samples: Float32Array[]): Float32Array[] {
  const interpreter = new Interpreter(bytes);
  interpreter.allocateTensors();
  return samples.map((x) => {
    const y = new Float32Array(interpreter.outputs[0].dims.reduce((a, b) => a * b, 1));
    interpreter.inputs[0].copyFrom(x);
    interpreter.invoke();
    interpreter.outputs[0].copyTo(y);
    return y;
  });
}

/** The largest difference between the two runtimes' outputs, in steps of the model's int8 output. */
async function runtimesApart(q: ModelProto, samples: Float32Array[]): Promise<{ steps: number; ops: string[] }> {
  const r = exportTflite(q, { io: 'float' });
  const lite = await runLiteRt(r.bytes, r.inputs[0].shape, samples);
  const old = runNodeTflite(r.bytes, samples);
  let steps = 0;
  lite.forEach((y, s) => { for (let k = 0; k < y.length; k++) steps = Math.max(steps, Math.abs(y[k] - old[s][k]) / r.outputs[0].scale); });
  assert.equal(lite[0].length, old[0].length);
  return { steps, ops: r.ops };
}

const samples = (seed: number, n: number, size: number, lo: number, hi: number) => {
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => lo + (hi - lo) * rnd()));
};

test('MNIST CNN (--io float): LiteRT 2.5.3 loads the .tflite and gives node-tflite\'s top-1 on 200 test digits', async () => {
  const calib = mnistSamples('calib', 128);
  const q = await quantizeStatic(readModelSync(MNIST_MODEL).proto, arraySource(calib.pixels.map((p) => (p - MNIST_MEAN) / MNIST_STD), [1, 28, 28]),
    { perChannel: true, activationType: 'uint8', target: 'portable' });
  const data = mnistSamples('test', 200);
  // one channel: NCHW and NHWC are the same bytes
  const x = Array.from({ length: data.n }, (_, s) => Float32Array.from(data.pixels.subarray(s * 784, (s + 1) * 784), (p) => (p - MNIST_MEAN) / MNIST_STD));
  const r = exportTflite(q, { io: 'float' });
  const lite = await runLiteRt(r.bytes, r.inputs[0].shape, x);
  const old = runNodeTflite(r.bytes, x);
  let same = 0, steps = 0;
  const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));
  for (let s = 0; s < data.n; s++) {
    same += argmax(lite[s]) === argmax(old[s]) ? 1 : 0;
    for (let k = 0; k < 10; k++) steps = Math.max(steps, Math.abs(lite[s][k] - old[s][k]) / r.outputs[0].scale);
  }
  // LiteRT verifies the flatbuffer: the same file with its root table offset pointing past the end is refused.
  const broken = r.bytes.slice();
  new DataView(broken.buffer).setUint32(0, broken.length + 64, true);
  await assert.rejects(runLiteRt(broken, r.inputs[0].shape, x.slice(0, 1)));
  console.log(`MNIST on LiteRT vs node-tflite: top-1 equal on ${same}/${data.n}, max difference ${steps.toFixed(2)} output steps`);
  assert.ok(same / data.n >= 0.99, `${same}/${data.n}`);
});

/** A grouped Conv (8 channels, group 2) quantized by our static quantizer. */
async function groupedConv(): Promise<ModelProto> {
  const rnd = seededRandom(22);
  const float = model(graph({
    nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { pads: [1, 1, 1, 1], group: 2 }, 'conv')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 8, 6, 6])], outputs: [valueInfo('y', DataType.FLOAT, [1, 8, 6, 6])],
    initializers: [makeTensor('w', DataType.FLOAT, [8, 4, 3, 3], Float32Array.from({ length: 288 }, () => rnd() - 0.5)),
      makeTensor('b', DataType.FLOAT, [8], Float32Array.from({ length: 8 }, () => rnd() - 0.5))],
  }), { opset: 13 });
  const calib = Float32Array.from({ length: 16 * 288 }, () => rnd() * 2 - 1);
  return quantizeStatic(float, arraySource(calib, [8, 6, 6]), { perChannel: true, activationType: 'uint8', target: 'portable' });
}

test('single-op models on LiteRT 2.5.3 within 2 output steps of node-tflite', async () => {
  const cases: [string, ModelProto, number[]][] = [
    ['Softmax', singleOpQdq('Softmax', [1, 10], [1, 10], { scale: 8 / 255, zeroPoint: 0 }, { scale: 1 / 256, zeroPoint: -128 }, { axis: -1 }), [1, 10]],
    ['AveragePool', singleOpQdq('AveragePool', [1, 3, 8, 8], [1, 3, 4, 4], { scale: 4 / 255, zeroPoint: -3 }, { scale: 4 / 255, zeroPoint: -3 },
      { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }), [1, 8, 8, 3]],
    ['HardSwish', singleOpQdq('HardSwish', [1, 4, 5, 5], [1, 4, 5, 5], { scale: 10 / 255, zeroPoint: 0 }, { scale: 6 / 255, zeroPoint: -80 }, {}, 14), [1, 5, 5, 4]],
    ['HardSigmoid', singleOpQdq('HardSigmoid', [1, 4, 5, 5], [1, 4, 5, 5], { scale: 12 / 255, zeroPoint: 0 }, { scale: 1 / 255, zeroPoint: -128 },
      { alpha: { float: 0.2 }, beta: { float: 0.5 } }), [1, 5, 5, 4]],
    ['Mul (broadcast)', (() => {
      const b = new QdqBuilder();
      const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 0 });
      const gate = b.quantized(b.op('GlobalAveragePool', [x], 'pooled'), { scale: 1 / 255, zeroPoint: 0 });
      return b.model([1, 4, 5, 5], b.quantized(b.op('Mul', [x, gate], 'y'), { scale: 2 / 255, zeroPoint: 5 }), [1, 4, 5, 5]);
    })(), [1, 5, 5, 4]],
    ['Concat', (() => {
      const p = { scale: 4 / 255, zeroPoint: 7 };
      const b = new QdqBuilder();
      const x = b.quantized('x', p);
      const pooled = b.quantized(b.op('MaxPool', [x], 'pooled', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), p);
      return b.model([1, 3, 5, 5], b.quantized(b.op('Concat', [x, pooled], 'y', { axis: 1 }), p), [1, 6, 5, 5]);
    })(), [1, 5, 5, 3]],
    ['Sigmoid (LOGISTIC + QUANTIZE)', singleOpQdq('Sigmoid', [1, 4, 5, 5], [1, 4, 5, 5], { scale: 12 / 255, zeroPoint: 0 }, { scale: 0.6 / 255, zeroPoint: -70 }), [1, 5, 5, 4]],
    ['Clip(-1, 1) (MAXIMUM, MINIMUM, QUANTIZE)', (() => {
      const b = new QdqBuilder();
      const x = b.quantized('x', { scale: 6 / 255, zeroPoint: 0 });
      return b.model([1, 4, 5, 5], b.quantized(b.op('Clip', [x, b.constant('lo', -1), b.constant('hi', 1)], 'y'), { scale: 2 / 255, zeroPoint: 0 }), [1, 4, 5, 5]);
    })(), [1, 5, 5, 4]],
    ['Add of [1,4,1,1] (broadcast)', (() => {
      const b = new QdqBuilder();
      const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 0 });
      const pooled = b.quantized(b.op('GlobalAveragePool', [x], 'pooled'), { scale: 2 / 255, zeroPoint: 3 });
      return b.model([1, 4, 5, 5], b.quantized(b.op('Add', [x, pooled], 'y'), { scale: 6 / 255, zeroPoint: -10 }), [1, 4, 5, 5]);
    })(), [1, 5, 5, 4]],
    ['Concat of differently quantized inputs (QUANTIZE)', (() => {
      const b = new QdqBuilder();
      const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 7 });
      const pooled = b.quantized(b.op('MaxPool', [x], 'pooled', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), { scale: 3 / 255, zeroPoint: -20 });
      return b.model([1, 3, 5, 5], b.quantized(b.op('Concat', [x, pooled], 'y', { axis: 1 }), { scale: 5 / 255, zeroPoint: 0 }), [1, 6, 5, 5]);
    })(), [1, 5, 5, 3]],
    ['grouped Conv, group 2 (SPLIT, CONV_2D, CONCATENATION)', await groupedConv(), [1, 6, 6, 8]],
  ];
  const failures: string[] = [];
  for (const [name, q, shape] of cases) {
    const { steps, ops } = await runtimesApart(q, samples(21, 8, shape.reduce((a, b) => a * b, 1), -3, 3));
    console.log(`${name} (${ops.join(' ')}) on LiteRT vs node-tflite: max difference ${steps.toFixed(2)} output steps`);
    if (!(steps <= 2)) failures.push(`${name}: ${steps} steps`);
  }
  assert.deepEqual(failures, []);
});
