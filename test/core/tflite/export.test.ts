// The exported .tflite run by a real TFLite runtime (node-tflite, TFLite 2.2) against onnxruntime running the
// same ONNX int8 model; every single-op model also by LiteRT 2.5.3 (current TFLite) against node-tflite.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { UnsupportedOperator } from '../../../src/core/errors';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { readModelSync } from '../../../src/core/onnx/read';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { exportTflite, type EdgeTensor } from '../../../src/core/tflite/export';
import { seededRandom } from '../../../src/core/random';
import { QdqBuilder, singleOpQdq } from '../../builders/qdqOps';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, mnistSamples } from '../../fixtures/mnist';
import { arraySource, outputs } from '../quantize/ortRun';
import { runLiteRt } from './litertNode';

const quantizeInput = (x: number, p: EdgeTensor) => Math.min(127, Math.max(-128, Math.round(x / p.scale) + p.zeroPoint));

/**
 * Runs the .tflite on n samples of `data` (NCHW float, transposed here to NHWC); outputs as float (dequantized here
 * for int8 edges, by the model's DEQUANTIZE for float edges).
 */
function runTflite(bytes: Uint8Array, data: Float32Array, nchw: number[], n: number, input: EdgeTensor, output: EdgeTensor): Float32Array {
  const interpreter = new Interpreter(bytes);
  interpreter.allocateTensors();
  const [c, h, w] = nchw;
  const outSize = output.shape.reduce((a, b) => a * b, 1);
  const result = new Float32Array(n * outSize);
  const floatIo = input.type === 'float32';
  const x = floatIo ? new Float32Array(c * h * w) : new Int8Array(c * h * w);
  const y = floatIo ? new Float32Array(outSize) : new Int8Array(outSize);
  for (let s = 0; s < n; s++) {
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) {
      const v = data[s * c * h * w + ch * h * w + i];
      x[i * c + ch] = floatIo ? v : quantizeInput(v, input);
    }
    interpreter.inputs[0].copyFrom(x);
    interpreter.invoke();
    interpreter.outputs[0].copyTo(y);
    for (let k = 0; k < outSize; k++) result[s * outSize + k] = floatIo ? y[k] : (y[k] - output.zeroPoint) * output.scale;
  }
  return result;
}

const argmax = (v: Float32Array, off: number, width: number) => {
  let best = 0;
  for (let k = 1; k < width; k++) if (v[off + k] > v[off + best]) best = k;
  return best;
};

async function mnistInt8(): Promise<ModelProto> {
  const calib = mnistSamples('calib', 128);
  const x = calib.pixels.map((p) => (p - MNIST_MEAN) / MNIST_STD);
  return quantizeStatic(readModelSync(MNIST_MODEL).proto, arraySource(x, [1, 28, 28]), { perChannel: true, activationType: 'uint8', target: 'portable' });
}

// TFLite 2.2 takes ~7 ms per digit here: every test digit for the default --io float, 500 for --io int8 (same core).
for (const [io, digits] of [['float', Infinity], ['int8', 500]] as const) test(`MNIST CNN int8 QDQ → .tflite --io ${io}: node-tflite and onnxruntime agree on top-1 for ≥ 99 % of ${digits === Infinity ? 'all' : digits} test digits`, async () => {
  const q = await mnistInt8();
  const r = exportTflite(q, { io });
  assert.deepEqual(r.inputs.map((i) => i.shape), [[1, 28, 28, 1]]);
  assert.deepEqual(r.outputs.map((o) => o.shape), [[1, 10]]);
  const interpreter = new Interpreter(r.bytes);
  interpreter.allocateTensors();
  const tfliteType = io === 'float' ? 'Float32' : 'Int8';
  assert.deepEqual([interpreter.inputs[0].type, interpreter.outputs[0].type], [tfliteType, tfliteType]);
  assert.deepEqual(interpreter.inputs[0].dims, [1, 28, 28, 1]);
  assert.deepEqual(new TextDecoder().decode(r.bytes.subarray(4, 8)), 'TFL3');
  assert.equal(r.bytes.byteOffset, 0);
  assert.equal(r.bytes.buffer.byteLength, r.bytes.length, 'the array owns its buffer (node-tflite reads .buffer whole)');

  const data = mnistSamples('test', digits);
  const x = data.pixels.map((p) => (p - MNIST_MEAN) / MNIST_STD);
  const ref = await outputs(q, arraySource(x, [1, 28, 28]), 64);
  const got = runTflite(r.bytes, x, [1, 28, 28], data.n, r.inputs[0], r.outputs[0]);
  let same = 0, correctOnnx = 0, correctTflite = 0, maxDiff = 0, maxRef = 0;
  for (let s = 0; s < data.n; s++) {
    const a = argmax(ref.values, s * 10, 10), b = argmax(got, s * 10, 10);
    same += a === b ? 1 : 0;
    correctOnnx += a === data.labels[s] ? 1 : 0;
    correctTflite += b === data.labels[s] ? 1 : 0;
    for (let k = 0; k < 10; k++) {
      maxDiff = Math.max(maxDiff, Math.abs(ref.values[s * 10 + k] - got[s * 10 + k]));
      maxRef = Math.max(maxRef, Math.abs(ref.values[s * 10 + k]));
    }
  }
  const pct = (v: number) => `${((100 * v) / data.n).toFixed(2)} %`;
  console.log(`MNIST .tflite --io ${io} (${r.bytes.length} B, ops ${r.ops.join(' ')}) on ${data.n} test digits: top-1 agreement with onnxruntime ${pct(same)}, `
    + `accuracy onnxruntime int8 ${pct(correctOnnx)} / TFLite ${pct(correctTflite)}, max |Δ logit| ${maxDiff.toFixed(3)} (max |logit| ${maxRef.toFixed(2)}, output step ${r.outputs[0].scale.toFixed(4)})`);
  assert.ok(same / data.n >= 0.99, `agreement ${same / data.n}`);
});

const conv = (rnd: () => number, name: string, input: string, output: string, outCh: number, inCh: number, attrs: Record<string, number[]>) => ({
  node: node('Conv', [input, `${name}.w`, `${name}.b`], [output], attrs, name),
  init: [makeTensor(`${name}.w`, DataType.FLOAT, [outCh, inCh, 3, 3], Float32Array.from({ length: outCh * inCh * 9 }, () => rnd() - 0.5)),
    makeTensor(`${name}.b`, DataType.FLOAT, [outCh], Float32Array.from({ length: outCh }, () => rnd() - 0.5))],
});

/** Quantizes `float` with our quantizer, exports it, runs both; the largest difference in output quantization steps. */
async function stepsApart(float: ModelProto, inShape: number[]): Promise<number> {
  const rnd = seededRandom(5);
  const size = inShape.reduce((a, b) => a * b, 1);
  const calib = Float32Array.from({ length: 32 * size }, () => rnd() * 2 - 1);
  const q = await quantizeStatic(float, arraySource(calib, inShape), { perChannel: true, activationType: 'uint8', target: 'portable' });
  return qdqStepsApart(q, inShape, calib.slice(0, 8 * size));
}

/** Exports the int8 QDQ model `q`, runs it and onnxruntime on `x` (NCHW samples); the largest difference in output steps. */
async function qdqStepsApart(q: ModelProto, inShape: number[], x: Float32Array): Promise<number> {
  const r = exportTflite(q, { io: 'int8' });
  const n = x.length / inShape.reduce((a, b) => a * b, 1);
  const ref = await outputs(q, arraySource(x, inShape), 8);
  const got = runTflite(r.bytes, x, inShape.length === 3 ? inShape : [inShape[0], 1, 1], n, r.inputs[0], r.outputs[0]);
  const outShape = r.outputs[0].shape;
  // TFLite's rank-4 output is NHWC, onnxruntime's NCHW.
  const [h, w, c] = outShape.length === 4 ? outShape.slice(1) : [1, 1, outShape[1]];
  const outSize = h * w * c;
  let maxSteps = 0;
  for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) {
    maxSteps = Math.max(maxSteps, Math.abs(ref.values[s * outSize + ch * h * w + i] - got[s * outSize + i * c + ch]) / r.outputs[0].scale);
  }
  await liteRtAgrees(q, inShape.length === 3 ? inShape : [inShape[0], 1, 1], x, n);
  return maxSteps;
}

/**
 * The same model exported with float edges, run by LiteRT 2.5.3 (current TFLite, strict flatbuffer checks, XNNPACK
 * kernels; its JS API has no int8 tensors) and by node-tflite: within 2 output steps of each other.
 */
async function liteRtAgrees(q: ModelProto, [c, h, w]: number[], x: Float32Array, n: number): Promise<void> {
  const f = exportTflite(q, { io: 'float' });
  const samples = Array.from({ length: n }, (_, s) => {
    const v = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) v[i * c + ch] = x[s * c * h * w + ch * h * w + i];
    return v;
  });
  const lite = await runLiteRt(f.bytes, f.inputs[0].shape, samples);
  const old = runTflite(f.bytes, x, [c, h, w], n, f.inputs[0], f.outputs[0]);
  const outSize = lite[0].length;
  let steps = 0;
  for (let s = 0; s < n; s++) for (let k = 0; k < outSize; k++) steps = Math.max(steps, Math.abs(lite[s][k] - old[s * outSize + k]) / f.outputs[0].scale);
  console.log(`  LiteRT 2.5.3 vs node-tflite (--io float, ${f.ops.join(' ')}): max difference ${steps.toFixed(2)} output steps`);
  assert.ok(steps <= 2, `LiteRT vs node-tflite: max ${steps} steps`);
}

const uniform = (seed: number, n: number, lo: number, hi: number) => {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rnd());
};

test('Softmax (output scale 1/256, zero point −128): TFLite within 2 quantization steps of onnxruntime', async () => {
  const q = singleOpQdq('Softmax', [1, 10], [1, 10], { scale: 8 / 255, zeroPoint: 0 }, { scale: 1 / 256, zeroPoint: -128 }, { axis: -1 });
  assert.ok(exportTflite(q, { io: 'int8' }).ops.includes('SOFTMAX'));
  const steps = await qdqStepsApart(q, [10], uniform(11, 80, -4, 4));
  console.log(`Softmax: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('AveragePool 3×3 stride 2 with SAME pads (count_include_pad 0): TFLite within 2 quantization steps of onnxruntime', async () => {
  const p = { scale: 4 / 255, zeroPoint: -3 };
  const q = singleOpQdq('AveragePool', [1, 3, 8, 8], [1, 3, 4, 4], p, p, { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] });
  assert.ok(exportTflite(q, { io: 'int8' }).ops.includes('AVERAGE_POOL_2D'));
  const steps = await qdqStepsApart(q, [3, 8, 8], uniform(12, 8 * 192, -2, 2));
  console.log(`AveragePool: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('Mul of [N,C,H,W] by [N,C,1,1] (squeeze-excitation, broadcast in NHWC): TFLite within 2 quantization steps of onnxruntime', async () => {
  const b = new QdqBuilder();
  const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 0 });
  const gate = b.quantized(b.op('GlobalAveragePool', [x], 'pooled'), { scale: 1 / 255, zeroPoint: 0 });
  const y = b.quantized(b.op('Mul', [x, gate], 'y'), { scale: 2 / 255, zeroPoint: 5 });
  const q = b.model([1, 4, 5, 5], y, [1, 4, 5, 5]);
  assert.ok(exportTflite(q, { io: 'int8' }).ops.includes('MUL'));
  const steps = await qdqStepsApart(q, [4, 5, 5], uniform(13, 8 * 100, -2, 2));
  console.log(`Mul (broadcast): max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('single Conv with stride 2, pads 1 (an explicit PAD) and a fused Relu: TFLite within 2 quantization steps of onnxruntime', async () => {
  const c = conv(seededRandom(3), 'conv', 'x', 'c', 4, 3, { pads: [1, 1, 1, 1], strides: [2, 2] });
  const float = model(graph({
    nodes: [c.node, node('Relu', ['c'], ['y'], {}, 'relu')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 8, 8])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4, 4, 4])], initializers: c.init,
  }), { opset: 13 });
  const steps = await stepsApart(float, [3, 8, 8]);
  console.log(`single Conv: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('Conv → MaxPool → Flatten of a 4×4 map → Gemm (weight columns permuted CHW → HWC): within 2 steps of onnxruntime', async () => {
  const rnd = seededRandom(8);
  const c = conv(rnd, 'conv', 'x', 'c', 4, 3, { pads: [1, 1, 1, 1] });
  const float = model(graph({
    nodes: [c.node, node('Relu', ['c'], ['r']), node('MaxPool', ['r'], ['p'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'),
      node('Flatten', ['p'], ['f'], { axis: 1 }, 'flatten'), node('Gemm', ['f', 'fc.w', 'fc.b'], ['y'], { transB: 1 }, 'fc')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 8, 8])], outputs: [valueInfo('y', DataType.FLOAT, [1, 5])],
    initializers: [...c.init, makeTensor('fc.w', DataType.FLOAT, [5, 64], Float32Array.from({ length: 320 }, () => rnd() - 0.5)),
      makeTensor('fc.b', DataType.FLOAT, [5], [0.1, -0.2, 0.3, 0, 0.05])],
  }), { opset: 13 });
  const steps = await stepsApart(float, [3, 8, 8]);
  console.log(`Conv → MaxPool → Flatten → Gemm: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('Concat along channels with equal input and output parameters → CONCATENATION on the NHWC axis 3: within 2 steps of onnxruntime', async () => {
  const p = { scale: 4 / 255, zeroPoint: 7 };
  const b = new QdqBuilder();
  const x = b.quantized('x', p);
  const pooled = b.quantized(b.op('MaxPool', [x], 'pooled', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), p);
  const y = b.quantized(b.op('Concat', [x, pooled], 'y', { axis: 1 }), p);
  const q = b.model([1, 3, 5, 5], y, [1, 6, 5, 5]);
  assert.ok(exportTflite(q, { io: 'int8' }).ops.includes('CONCATENATION'));
  const steps = await qdqStepsApart(q, [3, 5, 5], uniform(14, 8 * 75, -2, 2));
  console.log(`Concat: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('HardSwish, and the Add → Clip(0, 6) → Mul → Div form exporters write, → HARD_SWISH: within 2 steps of onnxruntime', async () => {
  const input = { scale: 10 / 255, zeroPoint: 0 }, output = { scale: 6 / 255, zeroPoint: -80 };
  const single = singleOpQdq('HardSwish', [1, 4, 5, 5], [1, 4, 5, 5], input, output, {}, 14);
  const b = new QdqBuilder();
  const x = b.quantized('x', input);
  const clipped = b.op('Clip', [b.op('Add', [x, b.constant('three', 3)], 'shifted'), b.constant('zero', 0), b.constant('six', 6)], 'clipped');
  const y = b.quantized(b.op('Div', [b.op('Mul', [x, clipped], 'gated'), 'six'], 'y'), output);
  const decomposed = b.model([1, 4, 5, 5], y, [1, 4, 5, 5]);
  const x8 = uniform(15, 8 * 100, -5, 5);
  for (const [name, q] of [['HardSwish', single], ['Add → Clip → Mul → Div', decomposed]] as const) {
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ['HARD_SWISH']);
    const steps = await qdqStepsApart(q, [4, 5, 5], x8);
    console.log(`${name}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `${name}: max ${steps} steps`);
  }
});

test('HardSigmoid (α = 1/6 as MobileNetV3, α = 0.2 as ONNX default and PaddleOCR) rewritten as MUL, ADD + RELU6, MUL: within 2 steps of onnxruntime', async () => {
  const input = { scale: 12 / 255, zeroPoint: 0 }, output = { scale: 1 / 255, zeroPoint: -128 };
  const x = uniform(16, 8 * 100, -6, 6);
  for (const [alpha, ops] of [[1 / 6, ['ADD', 'MUL']], [0.2, ['MUL', 'ADD']]] as const) {
    const q = singleOpQdq('HardSigmoid', [1, 4, 5, 5], [1, 4, 5, 5], input, output, { alpha: { float: alpha }, beta: { float: 0.5 } });
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [4, 5, 5], x);
    console.log(`HardSigmoid α = ${alpha.toFixed(3)}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `α ${alpha}: max ${steps} steps`);
  }
});

test('Conv → Clip(0, 6) left in a QDQ model (output range wider than [0, 6]) → CONV_2D with fused RELU6: within 2 quantization steps of onnxruntime', async () => {
  const c = conv(seededRandom(4), 'conv', 'x', 'y', 4, 3, { pads: [1, 1, 1, 1] });
  for (const t of c.init) if (t.name === 'conv.w') t.rawData = new Uint8Array(Float32Array.from(new Float32Array(t.rawData.slice().buffer), (v) => 4 * v).buffer);
  const float = model(graph({
    nodes: [c.node], inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 6, 6])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4, 6, 6])], initializers: c.init,
  }), { opset: 13 });
  const rnd = seededRandom(6);
  const calib = Float32Array.from({ length: 16 * 108 }, () => rnd() * 2 - 1);
  const q = await quantizeStatic(float, arraySource(calib, [3, 6, 6]), { perChannel: true, activationType: 'uint8', target: 'portable' });
  // Clip between the Conv and its QuantizeLinear, as other tools leave it.
  const convNode = q.graph!.node.find((n) => n.opType === 'Conv')!;
  const clipped = convNode.output[0];
  convNode.output[0] = `${clipped}.preclip`;
  q.graph!.initializer.push(makeTensor('six', DataType.FLOAT, [], [6]), makeTensor('zero', DataType.FLOAT, [], [0]));
  q.graph!.node.push(node('Clip', [`${clipped}.preclip`, 'zero', 'six'], [clipped], {}, 'relu6'));
  const r = exportTflite(q, { io: 'int8' });
  const range = [(-128 - r.outputs[0].zeroPoint) * r.outputs[0].scale, (127 - r.outputs[0].zeroPoint) * r.outputs[0].scale];
  assert.ok(range[0] < -1 && range[1] > 7, `output range ${range}`);
  const steps = await qdqStepsApart(q, [3, 6, 6], calib.slice(0, 8 * 108));
  console.log(`Conv + Clip(0, 6) → fused RELU6: max difference ${steps.toFixed(2)} quantization steps (output range ${range.map((v) => v.toFixed(2)).join('..')})`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('an unsupported op is one error naming the node', () => {
  const m = model(graph({
    nodes: [node('QuantizeLinear', ['x', 's'], ['q']), node('DequantizeLinear', ['q', 's'], ['d']), node('Sin', ['d'], ['y'], {}, 'the_sine')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('s', DataType.FLOAT, [], [0.1])],
  }), { opset: 13 });
  assert.throws(() => exportTflite(m, { io: 'int8' }), (e: unknown) => e instanceof UnsupportedOperator && /the_sine: Sin cannot be exported/.test((e as Error).message));
});

test('Sigmoid → LOGISTIC (output 1/256, −128), and a QUANTIZE after it for other ONNX output parameters: within 2 steps of onnxruntime', async () => {
  const input = { scale: 12 / 255, zeroPoint: 0 };
  const x = uniform(17, 8 * 100, -6, 6);
  for (const [output, ops] of [[{ scale: 1 / 256, zeroPoint: -128 }, ['LOGISTIC']], [{ scale: 0.6 / 255, zeroPoint: -70 }, ['LOGISTIC', 'QUANTIZE']]] as const) {
    const q = singleOpQdq('Sigmoid', [1, 4, 5, 5], [1, 4, 5, 5], input, output);
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [4, 5, 5], x);
    console.log(`Sigmoid with output scale ${output.scale.toFixed(5)}, zero point ${output.zeroPoint}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `output ${JSON.stringify(output)}: max ${steps} steps`);
  }
});

test('MatMul [1, 16] × constant [16, 12] → Relu → MatMul × [12, 8] → FULLY_CONNECTED (per-tensor weights as [O, I]): within 2 steps of onnxruntime', async () => {
  const rnd = seededRandom(9);
  const weight = (name: string, i: number, o: number) => makeTensor(name, DataType.FLOAT, [i, o], Float32Array.from({ length: i * o }, () => rnd() - 0.5));
  // Two MatMuls: our quantizer calibrates a MatMul's input, and only the second one's input is not the graph input.
  const float = model(graph({
    nodes: [node('MatMul', ['x', 'w1'], ['m'], {}, 'matmul1'), node('Relu', ['m'], ['r'], {}, 'relu'), node('MatMul', ['r', 'w2'], ['y'], {}, 'matmul2')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 16])], outputs: [valueInfo('y', DataType.FLOAT, [1, 8])],
    initializers: [weight('w1', 16, 12), weight('w2', 12, 8)],
  }), { opset: 13 });
  const rndX = seededRandom(10);
  const calib = Float32Array.from({ length: 32 * 16 }, () => rndX() * 2 - 1);
  const q = await quantizeStatic(float, arraySource(calib, [16]), { perChannel: true, activationType: 'uint8', target: 'portable' });
  const r = exportTflite(q, { io: 'int8' });
  assert.deepEqual(r.ops, ['FULLY_CONNECTED']);
  assert.deepEqual(r.outputs[0].shape, [1, 8]);
  const steps = await qdqStepsApart(q, [16], calib.slice(0, 8 * 16));
  console.log(`MatMul → Relu → MatMul: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('grouped Conv (group 2; group 4 with stride 2 and an explicit PAD) of 8 channels → SPLIT, CONV_2D per group, CONCATENATION: within 2 steps of onnxruntime', async () => {
  for (const [group, stride, ops] of [[2, 1, ['SPLIT', 'CONV_2D', 'CONCATENATION']], [4, 2, ['PAD', 'SPLIT', 'CONV_2D', 'CONCATENATION']]] as const) {
    const rnd = seededRandom(20 + group);
    const side = 6 / stride;
    const float = model(graph({
      nodes: [node('Conv', ['x', 'w', 'b'], ['c'], { pads: [1, 1, 1, 1], strides: [stride, stride], group }, 'conv'), node('Relu', ['c'], ['y'], {}, 'relu')],
      inputs: [valueInfo('x', DataType.FLOAT, [1, 8, 6, 6])], outputs: [valueInfo('y', DataType.FLOAT, [1, 8, side, side])],
      initializers: [makeTensor('w', DataType.FLOAT, [8, 8 / group, 3, 3], Float32Array.from({ length: 72 * 8 / group }, () => rnd() - 0.5)),
        makeTensor('b', DataType.FLOAT, [8], Float32Array.from({ length: 8 }, () => rnd() - 0.5))],
    }), { opset: 13 });
    const rndX = seededRandom(30);
    const calib = Float32Array.from({ length: 32 * 288 }, () => rndX() * 2 - 1);
    const q = await quantizeStatic(float, arraySource(calib, [8, 6, 6]), { perChannel: true, activationType: 'uint8', target: 'portable' });
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [8, 6, 6], calib.slice(0, 8 * 288));
    console.log(`grouped Conv, group ${group}, stride ${stride}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `group ${group}: max ${steps} steps`);
  }
});

test('Concat of two Convs quantized with different parameters: each input requantized (QUANTIZE) to the output\'s, within 2 steps of onnxruntime', async () => {
  const rnd = seededRandom(40);
  const a = conv(rnd, 'a', 'x', 'ca', 3, 3, { pads: [1, 1, 1, 1] });
  const b = conv(rnd, 'b', 'x', 'cb', 2, 3, { pads: [1, 1, 1, 1] });
  // b's outputs three times larger: its calibrated range, so its scale, differs from a's and from the Concat's
  for (const t of b.init) if (t.name === 'b.w') t.rawData = new Uint8Array(Float32Array.from(new Float32Array(t.rawData.slice().buffer), (v) => 3 * v).buffer);
  const float = model(graph({
    nodes: [a.node, b.node, node('Concat', ['ca', 'cb'], ['y'], { axis: 1 }, 'concat')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 6, 6])], outputs: [valueInfo('y', DataType.FLOAT, [1, 5, 6, 6])], initializers: [...a.init, ...b.init],
  }), { opset: 13 });
  const rndX = seededRandom(41);
  const calib = Float32Array.from({ length: 32 * 108 }, () => rndX() * 2 - 1);
  const q = await quantizeStatic(float, arraySource(calib, [3, 6, 6]), { perChannel: true, activationType: 'uint8', target: 'portable' });
  const r = exportTflite(q, { io: 'int8' });
  assert.deepEqual(r.ops, ['CONV_2D', 'QUANTIZE', 'CONCATENATION']);
  const steps = await qdqStepsApart(q, [3, 6, 6], calib.slice(0, 8 * 108));
  console.log(`Concat of differently quantized inputs: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

/** A quantized constant as the exporter meets it: DequantizeLinear of an int8 initializer. */
function quantizedConstant(b: QdqBuilder, name: string, dims: number[], values: number[], scale: number, zeroPoint: number): string {
  b.initializers.push(makeTensor(`${name}.q`, DataType.INT8, dims, Int8Array.from(values)), makeTensor(`${name}.scale`, DataType.FLOAT, [], [scale]),
    makeTensor(`${name}.zp`, DataType.INT8, [], [zeroPoint]));
  b.nodes.push(node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zp`], [name]));
  return name;
}

test('broadcast Add and Mul: [1,C,H,W] + [1,C,1,1] activation, + constant [1,C,1,1], + constant [W], × constant [1,C,1,1]: within 2 steps of onnxruntime', async () => {
  const x8 = uniform(18, 8 * 100, -2, 2);
  const build = (second: (b: QdqBuilder, x: string) => string, op: 'Add' | 'Mul') => {
    const b = new QdqBuilder();
    const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 0 });
    return b.model([1, 4, 5, 5], b.quantized(b.op(op, [x, second(b, x)], 'y'), { scale: 6 / 255, zeroPoint: -10 }), [1, 4, 5, 5]);
  };
  const cases: [string, ModelProto][] = [
    ['Add [1,4,1,1] activation', build((b, x) => b.quantized(b.op('GlobalAveragePool', [x], 'pooled'), { scale: 2 / 255, zeroPoint: 3 }), 'Add')],
    ['Add constant [1,4,1,1]', build((b) => quantizedConstant(b, 'c', [1, 4, 1, 1], [-100, -20, 40, 127], 1 / 127, 0), 'Add')],
    ['Add constant [5]', build((b) => quantizedConstant(b, 'c', [5], [-127, -60, 0, 50, 120], 1 / 127, 5), 'Add')],
    ['Mul constant [1,4,1,1]', build((b) => quantizedConstant(b, 'c', [1, 4, 1, 1], [-100, -20, 40, 127], 1.5 / 127, 0), 'Mul')],
  ];
  for (const [name, q] of cases) {
    const steps = await qdqStepsApart(q, [4, 5, 5], x8);
    console.log(`${name}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `${name}: max ${steps} steps`);
  }
});

test('Clip(−1, 1) between quantized tensors → MAXIMUM, MINIMUM (and QUANTIZE for other output parameters): within 2 steps of onnxruntime', async () => {
  const x8 = uniform(19, 8 * 100, -3, 3);
  for (const [output, ops] of [[{ scale: 6 / 255, zeroPoint: 0 }, ['MAXIMUM', 'MINIMUM']], [{ scale: 2 / 255, zeroPoint: 0 }, ['MAXIMUM', 'MINIMUM', 'QUANTIZE']]] as const) {
    const b = new QdqBuilder();
    const x = b.quantized('x', { scale: 6 / 255, zeroPoint: 0 });
    const q = b.model([1, 4, 5, 5], b.quantized(b.op('Clip', [x, b.constant('lo', -1), b.constant('hi', 1)], 'y'), output), [1, 4, 5, 5]);
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [4, 5, 5], x8);
    console.log(`Clip(-1, 1), output scale ${output.scale.toFixed(4)}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `${JSON.stringify(output)}: max ${steps} steps`);
  }
});

test('MaxPool whose output parameters differ from its input\'s → MAX_POOL_2D with the input\'s, then QUANTIZE: within 2 steps of onnxruntime', async () => {
  const b = new QdqBuilder();
  const x = b.quantized('x', { scale: 4 / 255, zeroPoint: 7 });
  const pooled = b.quantized(b.op('MaxPool', [x], 'y', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), { scale: 3 / 255, zeroPoint: -20 });
  const q = b.model([1, 3, 5, 5], pooled, [1, 3, 5, 5]);
  assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ['MAX_POOL_2D', 'QUANTIZE']);
  const steps = await qdqStepsApart(q, [3, 5, 5], uniform(23, 8 * 75, -2, 2));
  console.log(`MaxPool with requantized output: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('AveragePool and Reshape whose output parameters differ from their input\'s → the op with the input\'s, then QUANTIZE: within 2 steps of onnxruntime', async () => {
  const avg = singleOpQdq('AveragePool', [1, 3, 6, 6], [1, 3, 3, 3], { scale: 4 / 255, zeroPoint: -3 }, { scale: 3 / 255, zeroPoint: 10 }, { kernel_shape: [2, 2], strides: [2, 2] });
  const b = new QdqBuilder();
  const x = b.quantized('x', { scale: 4 / 255, zeroPoint: -3 });
  const flat = b.model([1, 3, 1, 1], b.quantized(b.op('Flatten', [x], 'y', { axis: 1 }), { scale: 5 / 255, zeroPoint: 20 }), [1, 3]);
  for (const [name, q, shape, ops] of [['AveragePool', avg, [3, 6, 6], ['AVERAGE_POOL_2D', 'QUANTIZE']], ['Flatten', flat, [3, 1, 1], ['RESHAPE', 'QUANTIZE']]] as const) {
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [...shape], uniform(24, 8 * shape[0] * shape[1] * shape[2], -2, 2));
    console.log(`${name} with requantized output: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `${name}: max ${steps} steps`);
  }
});

test('classifier head as our quantizer leaves it (MatMul + Add fused to a Gemm with a float output → Flatten → Softmax → Reshape): FULLY_CONNECTED at its reachable range, SOFTMAX; within 2 steps of onnxruntime', async () => {
  const rnd = seededRandom(25);
  const c = conv(rnd, 'conv', 'x', 'c', 4, 3, { pads: [1, 1, 1, 1] });
  const float = model(graph({
    nodes: [c.node, node('Relu', ['c'], ['r']), node('GlobalAveragePool', ['r'], ['p']), node('Flatten', ['p'], ['f'], { axis: 1 }),
      node('MatMul', ['f', 'w'], ['m'], {}, 'fc'), node('Add', ['m', 'b'], ['a'], {}, 'bias'), node('Softmax', ['a'], ['y'], { axis: 1 }, 'softmax')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 3, 8, 8])], outputs: [valueInfo('y', DataType.FLOAT, [1, 2])],
    initializers: [...c.init, makeTensor('w', DataType.FLOAT, [4, 2], Float32Array.from({ length: 8 }, () => 2 * rnd() - 1)), makeTensor('b', DataType.FLOAT, [2], [0.1, -0.1])],
  }), { opset: 11 });
  const calib = Float32Array.from({ length: 32 * 192 }, () => rnd() * 2 - 1);
  const q = await quantizeStatic(float, arraySource(calib, [3, 8, 8]), { perChannel: true, activationType: 'uint8', target: 'portable' });
  assert.ok(!q.graph!.node.some((n) => n.opType === 'QuantizeLinear' && n.input[0] === 'a'), 'the head is float in the QDQ model');
  assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ['CONV_2D', 'MEAN', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
  const steps = await qdqStepsApart(q, [3, 8, 8], calib.slice(0, 8 * 192));
  console.log(`classifier head with a float Softmax: max difference ${steps.toFixed(2)} quantization steps`);
  assert.ok(steps <= 2, `max ${steps} steps`);
});

test('Pad (constant) → PAD with the zero point, PADV2 for another value, QUANTIZE after for other output parameters: within 2 steps of onnxruntime', async () => {
  const p = { scale: 4 / 255, zeroPoint: 7 };
  const x8 = uniform(26, 8 * 60, -2, 2);
  const cases = [['value 0', 0, p, ['PAD']], ['value 0.5', 0.5, p, ['PADV2']], ['value 0, other output parameters', 0, { scale: 5 / 255, zeroPoint: -9 }, ['PAD', 'QUANTIZE']]] as const;
  for (const [name, value, output, ops] of cases) {
    const b = new QdqBuilder();
    const x = b.quantized('x', p);
    b.initializers.push(makeTensor('pads', DataType.INT64, [8], [0, 0, 1, 2, 0, 0, 2, 1]));
    const q = b.model([1, 3, 4, 5], b.quantized(b.op('Pad', [x, 'pads', b.constant('value', value)], 'y', { mode: 'constant' }), output), [1, 3, 7, 8]);
    assert.deepEqual(exportTflite(q, { io: 'int8' }).ops, ops);
    const steps = await qdqStepsApart(q, [3, 4, 5], x8);
    console.log(`Pad, ${name}: max difference ${steps.toFixed(2)} quantization steps`);
    assert.ok(steps <= 2, `${name}: max ${steps} steps`);
  }
});
