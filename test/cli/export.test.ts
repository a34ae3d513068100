import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { openDataset, type Dataset, type Preprocess } from '../../src/core/eval/datasets';
import { agreement, topKAccuracy } from '../../src/core/eval/metrics';
import type { Outputs } from '../../src/core/eval/runner';
import { writeTextDirectionSet } from '../../src/core/eval/textDirectionSet';
import { fixShapes } from '../../src/core/onnx/fixShapes';
import { readModelSync } from '../../src/core/onnx/read';
import { quantizeFloatGaps } from '../../src/core/tflite/fullInteger';
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import { makeTensor } from '../../src/core/onnx/tensor';
import { writeModel } from '../../src/core/onnx/write';
import { outputs } from '../core/quantize/ortRun';
import { cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';

const CLS = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const CLS_PREPROCESS = ['--mean', '0.5', '--std', '0.5'];

/** A --io float .tflite (float32 NHWC in) run by node-tflite on every sample of `data` (NCHW). */
async function runTflite(file: string, data: Dataset): Promise<Outputs> {
  const interpreter = new Interpreter(new Uint8Array(fs.readFileSync(file)));
  interpreter.allocateTensors();
  const [c, h, w] = data.sampleShape;
  const width = interpreter.outputs[0].byteSize / 4;
  const values = new Float32Array(data.n * width);
  const x = new Float32Array(c * h * w);
  const y = new Float32Array(width);
  for (let i = 0; i < data.n; i++) {
    const sample = await data.batch(i, 1);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) x[p * c + ch] = sample[ch * h * w + p];
    interpreter.inputs[0].copyFrom(x);
    interpreter.invoke();
    interpreter.outputs[0].copyTo(y);
    values.set(y, i * width);
  }
  return { n: data.n, width, values };
}

/** The --c-array header's length line and array size agree with the .tflite. */
function checkHeader(header: string, name: string, tflite: string): void {
  const text = fs.readFileSync(header, 'utf8');
  assert.match(text, new RegExp(`^alignas\\(16\\) const unsigned char ${name}\\[\\] = \\{$`, 'm'));
  assert.match(text, new RegExp(`^const unsigned int ${name}_len = ${fs.statSync(tflite).size};$`, 'm'));
  assert.equal(text.match(/0x[0-9a-f]{2}/g)!.length, fs.statSync(tflite).size);
}

test('export --io int8 --json and the default --io float: the quantized MNIST CNN as a .tflite that TFLite loads, with its int8 edges reported', () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 64);
  const int8 = path.join(dir, 'int8.onnx');
  const q = cli('quantize', MNIST_MODEL, '-o', int8, '--mode', 'static', '--target', 'portable', '--calib', calib.data);
  assert.equal(q.status, 0, q.stderr);
  const out = path.join(dir, 'mnist.tflite');
  const r = cli('export', int8, '-o', out, '--io', 'int8', '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.tfliteBytes, fs.statSync(out).size);
  assert.deepEqual(s.inputs.map((t: { shape: number[] }) => t.shape), [[1, 28, 28, 1]]);
  assert.ok(s.inputs[0].zeroPoint >= -128 && s.inputs[0].zeroPoint <= 127 && s.inputs[0].scale > 0);
  assert.deepEqual(s.outputs.map((t: { shape: number[] }) => t.shape), [[1, 10]]);
  assert.ok(s.ops.includes('CONV_2D') && s.ops.includes('DEPTHWISE_CONV_2D') && s.ops.includes('FULLY_CONNECTED'));
  console.log(`sizes: fp32 ONNX ${fs.statSync(MNIST_MODEL).size} B, int8 ONNX ${s.onnxBytes} B, .tflite ${s.tfliteBytes} B`);

  const interpreter = new Interpreter(new Uint8Array(fs.readFileSync(out)));
  interpreter.allocateTensors();
  assert.equal(interpreter.inputs[0].type, 'Int8');
  assert.deepEqual(interpreter.inputs[0].dims, [1, 28, 28, 1]);
  assert.equal(interpreter.outputs[0].type, 'Int8');

  const text = cli('export', int8, '-o', path.join(dir, 'text.tflite'), '--io', 'int8');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^input  input \[1,28,28,1\] int8, scale [\d.e-]+, zero point -?\d+$/m);
  assert.match(text.stdout, /^output logits \[1,10\] int8, scale [\d.e-]+, zero point -?\d+$/m);

  // The default --io float: float32 NHWC in, float32 out, QUANTIZE/DEQUANTIZE at the edges.
  const floatOut = path.join(dir, 'float.tflite');
  const f = cli('export', int8, '-o', floatOut);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stdout, /^input  input \[1,28,28,1\] float32 \(int8 inside\), scale [\d.e-]+, zero point -?\d+$/m);
  const floatModel = new Interpreter(new Uint8Array(fs.readFileSync(floatOut)));
  floatModel.allocateTensors();
  assert.deepEqual([floatModel.inputs[0].type, floatModel.inputs[0].dims, floatModel.outputs[0].type], ['Float32', [1, 28, 28, 1], 'Float32']);
});

test('export: an unsupported op (also in a float model, before calibration), a float model without --calib and a missing output folder are one line, exit 1, nothing written', () => {
  const dir = tempDir();
  const sine = path.join(dir, 'sine.onnx');
  writeModel(model(graph({
    nodes: [node('QuantizeLinear', ['x', 's'], ['q']), node('DequantizeLinear', ['q', 's'], ['d']), node('Sin', ['d'], ['y'], {}, 'the_sine')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('s', DataType.FLOAT, [], [0.1])],
  }), { opset: 13 }), sine);
  const out = path.join(dir, 'out.tflite');
  const cases: [string[], RegExp][] = [
    [[sine, '-o', out, '--io', 'int8'], /sine\.onnx: the_sine: Sin cannot be exported to TFLite yet/],
    [[MNIST_MODEL, '-o', out, '--io', 'int8'], /mnist-cnn\.onnx: a float model needs --calib DATA .* or give a static int8 QDQ model/],
    // A float model with ops that have no conversion is refused before it would be calibrated, every op named.
    [[CLS.replace('ch_ppocr_mobile_v2.0_cls_infer.onnx', 'ch_PP-OCRv4_det_infer.onnx'), '-o', out, '--calib', 'never-read'], /det_infer\.onnx: p2o\.Resize\.0: Resize cannot be exported to TFLite yet \(and 7 more: Resize ×5, ConvTranspose ×2\)\n/],
    [[sine, '-o', path.join(dir, 'missing', 'out.tflite'), '--io', 'int8'], /the output folder does not exist/],
  ];
  for (const [args, message] of cases) {
    const r = cli('export', ...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'sine.onnx'), [], 'nothing written');
  }
});

test('export a float model with --calib and --c-array: the MNIST CNN quantized (arm64 target) and exported; node-tflite agrees with onnxruntime on the fp32 model for ≥ 98 % of 300 test digits', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 128);
  const held = writeMnistNpy(dir, 'test', 300);
  const [out, header] = [path.join(dir, 'mnist.tflite'), path.join(dir, 'mnist-cnn.h')];
  const r = cli('export', MNIST_MODEL, '-o', out, '--calib', calib.data, '--c-array', header, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.quantized.target, 'arm64');
  assert.equal(s.cArray.name, 'mnist_cnn');
  for (const call of ['AddConv2D()', 'AddDepthwiseConv2D()', 'AddFullyConnected()', 'AddQuantize()', 'AddDequantize()']) assert.ok(s.cArray.resolver.includes(call), call);
  assert.ok(s.cArray.arena.activations > 28 * 28 && s.cArray.arena.total > s.cArray.arena.activations);
  checkHeader(header, 'mnist_cnn', out);

  const data = await openDataset(held.data, { labels: held.labels });
  const [tflite, fp32] = [await runTflite(out, data), await outputs(MNIST_MODEL, data)];
  const agree = agreement(tflite, fp32);
  console.log(`MNIST fp32 → .tflite: top-1 ${(100 * topKAccuracy(tflite, held.labelValues, 1)).toFixed(2)} % vs fp32 ${(100 * topKAccuracy(fp32, held.labelValues, 1)).toFixed(2)} %, agreement ${(100 * agree).toFixed(2)} %`);
  assert.ok(agree >= 0.98, `agreement ${agree}`);
});

test('export the PaddleOCR classifier (symbolic H/W, paddle2onnx shape subgraph): --shape is asked for; with it the float model exports after --calib, and its portable int8 QDQ model agrees with node-tflite on ≥ 99 % of 300 held-out text lines', async () => {
  const dir = tempDir();
  const [calib, held] = [path.join(dir, 'calib'), path.join(dir, 'held')];
  await writeTextDirectionSet(calib, { count: 64, seed: 22 });
  await writeTextDirectionSet(held, { count: 300, seed: 23 });
  const out = path.join(dir, 'cls.tflite');

  const noShape = cli('export', CLS, '-o', out, '--calib', calib, ...CLS_PREPROCESS);
  assert.equal(noShape.status, 1, noShape.stderr);
  assert.equal(noShape.stderr.trim().split('\n').length, 1, noShape.stderr);
  assert.match(noShape.stderr, /ch_ppocr_mobile_v2\.0_cls_infer\.onnx: input 'x' has symbolic dims .*--shape x=1,3,H,W/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['calib', 'held'], 'nothing written');

  const header = path.join(dir, 'cls.h');
  const r = cli('export', CLS, '-o', out, '--calib', calib, ...CLS_PREPROCESS, '--shape', 'x=1,3,48,192', '--c-array', header, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.inputs.map((t: { shape: number[] }) => t.shape), [[1, 48, 192, 3]]);
  assert.deepEqual(s.outputs.map((t: { shape: number[] }) => t.shape), [[1, 2]]);
  assert.ok(s.foldedNodes > 0, 'the Shape → Slice → Cast → Concat → Reshape chain is folded');
  assert.ok(s.requantizedFloatTensors.length > 0, 'HardSigmoid/Mul/HardSwish/Softmax outputs quantized for TFLite');
  assert.ok(['HARD_SWISH', 'MUL', 'SOFTMAX', 'FULLY_CONNECTED'].every((op) => s.ops.includes(op)), s.ops.join());
  checkHeader(header, 'cls', out);

  // The onnxruntime reference: the classifier quantized with --target portable (exact on any x86 CPU), with the float
  // tensors onnxruntime leaves between its int8 kernels quantized as export does it (same calibration data): the
  // ONNX int8 model the .tflite is equivalent to.
  const int8 = path.join(dir, 'cls.int8.onnx');
  const q = cli('quantize', CLS, '-o', int8, '--mode', 'static', '--target', 'portable', '--calib', calib, ...CLS_PREPROCESS);
  assert.equal(q.status, 0, q.stderr);
  const fromInt8 = path.join(dir, 'cls.int8.tflite');
  const gaps = cli('export', int8, '-o', fromInt8, '--shape', 'x=1,3,48,192');
  assert.equal(gaps.status, 1, gaps.stderr);
  assert.equal(gaps.stderr.trim().split('\n').length, 1, gaps.stderr);
  assert.match(gaps.stderr, /cls\.int8\.onnx: .*is not quantized .*; with --calib DATA export quantizes such float tensors for TFLite/);
  assert.ok(!fs.existsSync(fromInt8), 'nothing written');
  const e = cli('export', int8, '-o', fromInt8, '--calib', calib, ...CLS_PREPROCESS, '--shape', 'x=1,3,48,192');
  assert.equal(e.status, 0, e.stderr);
  const preprocess: Preprocess = { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  const fixed = fixShapes(readModelSync(int8).proto, { x: [1, 3, 48, 192] }).proto;
  const equivalent = (await quantizeFloatGaps(fixed, await openDataset(calib, { preprocess }))).proto;
  const data = await openDataset(held, { preprocess });
  const [tflite, onnx, oneStep] = [await runTflite(fromInt8, data), await outputs(equivalent, data), await runTflite(out, data)];
  const top1 = (o: Outputs) => (100 * topKAccuracy(o, data.labels!, 1)).toFixed(2);
  console.log(`PaddleOCR cls on ${data.n} text lines: int8 ONNX ${top1(onnx)} %, .tflite of it ${top1(tflite)} % (agreement ${(100 * agreement(tflite, onnx)).toFixed(2)} %), .tflite from fp32 + --calib ${top1(oneStep)} %`);
  assert.ok(agreement(tflite, onnx) >= 0.99, `agreement ${agreement(tflite, onnx)}`);
  assert.ok(topKAccuracy(oneStep, data.labels!, 1) >= 0.97, `one-step export top-1 ${top1(oneStep)} %`);
});

test('export: a non-writable output path and a bad --c-array path are one line, exit 1, nothing written', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 16);
  const root = process.getuid?.() === 0;
  const before = fs.readdirSync(dir).sort();
  let target: string;
  if (root) {
    // Root writes into a chmod 0555 folder anyway: a path whose parent is a regular file is not writable for anyone.
    target = path.join(calib.data, 'out.tflite');
  } else {
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro, { mode: 0o555 });
    before.push('ro');
    before.sort();
    target = path.join(ro, 'out.tflite');
  }
  const cases: [string[], RegExp][] = [
    [[MNIST_MODEL, '-o', target, '--calib', calib.data], root ? /out\.tflite: the output folder does not exist/ : /out\.tflite: cannot write the output \(EACCES\)/],
    [[MNIST_MODEL, '-o', path.join(dir, 'ok.tflite'), '--calib', calib.data, '--c-array', path.join(dir, 'missing', 'm.h')], /m\.h: the output folder does not exist/],
  ];
  for (const [args, message] of cases) {
    const r = cli('export', ...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(dir).sort(), before, 'nothing written');
    if (!root) assert.deepEqual(fs.readdirSync(path.join(dir, 'ro')), []);
  }
});
