// The exported MNIST CNN and PaddleOCR classifier run by a second, current runtime — LiteRT.js 2.5.3 (Google's LiteRT WASM build, XNNPACK
// CPU kernels, strict flatbuffer verification) — against node-tflite (TFLite 2.2) on the same inputs. The single-op
// models of export.test.ts go through both runtimes there. Also the PaddleOCR text-direction classifier.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { openDataset, type Preprocess } from '../../../src/core/eval/datasets';
import { writeTextDirectionSet } from '../../../src/core/eval/textDirectionSet';
import { fixShapes } from '../../../src/core/onnx/fixShapes';
import { readModelSync } from '../../../src/core/onnx/read';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { exportTflite } from '../../../src/core/tflite/export';
import { quantizeFloatGaps } from '../../../src/core/tflite/fullInteger';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, mnistSamples } from '../../fixtures/mnist';
import { fromRoot } from '../../fixtures/repoRoot';
import { tempDir } from '../../fixtures/tempDir';
import { arraySource, outputs } from '../quantize/ortRun';
import { runLiteRt } from './litertNode';

const CLS = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

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

test('PaddleOCR text-direction classifier (shapes fixed, int8 QDQ, float gaps quantized, --io float): LiteRT gives node-tflite\'s top-1 on ≥ 99 % of 300 text lines', async () => {
  const dir = tempDir();
  const [calibDir, heldDir] = [path.join(dir, 'calib'), path.join(dir, 'held')];
  await writeTextDirectionSet(calibDir, { count: 32, seed: 22 });
  await writeTextDirectionSet(heldDir, { count: 300, seed: 23 });
  const preprocess: Preprocess = { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  const calib = await openDataset(calibDir, { preprocess });
  const fixed = fixShapes(readModelSync(CLS).proto, { x: [1, 3, 48, 192] }).proto;
  const q = await quantizeStatic(fixed, calib, { perChannel: true, activationType: 'uint8', target: 'portable' });
  const full = (await quantizeFloatGaps(q, calib)).proto;
  const r = exportTflite(full, { io: 'float' });
  const data = await openDataset(heldDir, { preprocess });
  const [c, h, w] = data.sampleShape;
  const x: Float32Array[] = [];
  for (let i = 0; i < data.n; i++) {
    const sample = await data.batch(i, 1);
    const v = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) v[p * c + ch] = sample[ch * h * w + p];
    x.push(v);
  }
  const lite = await runLiteRt(r.bytes, r.inputs[0].shape, x);
  const old = runNodeTflite(r.bytes, x);
  const ort = await outputs(full, data);
  const reference = Array.from({ length: data.n }, (_, s) => ort.values.subarray(s * ort.width, (s + 1) * ort.width));
  const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));
  const compare = (a: Float32Array[], b: Float32Array[]) => {
    let same = 0, steps = 0;
    for (let s = 0; s < data.n; s++) {
      same += argmax(a[s]) === argmax(b[s]) ? 1 : 0;
      for (let k = 0; k < a[s].length; k++) steps = Math.max(steps, Math.abs(a[s][k] - b[s][k]) / r.outputs[0].scale);
    }
    return { same, text: `top-1 equal on ${same}/${data.n}, max difference ${steps.toFixed(2)} output steps` };
  };
  const [liteOld, liteOrt, oldOrt] = [compare(lite, old), compare(lite, reference), compare(old, reference)];
  console.log(`PaddleOCR cls (${r.bytes.length} B, ops ${r.ops.join(' ')}) on ${data.n} text lines: LiteRT vs node-tflite ${liteOld.text}; `
    + `LiteRT vs onnxruntime ${liteOrt.text}; node-tflite vs onnxruntime ${oldOrt.text}`);
  assert.ok(liteOld.same / data.n >= 0.99, `LiteRT vs node-tflite: ${liteOld.same}/${data.n}`);
});
