// The exported MNIST CNN run by a second, current runtime — LiteRT.js 2.5.3 (Google's LiteRT WASM build, XNNPACK
// CPU kernels, strict flatbuffer verification) — against node-tflite (TFLite 2.2) on the same inputs. The single-op
// models of export.test.ts go through both runtimes there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { readModelSync } from '../../../src/core/onnx/read';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { exportTflite } from '../../../src/core/tflite/export';
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
