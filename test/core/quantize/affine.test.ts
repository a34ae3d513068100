import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { dequantizeTensor, fittingRange, quantizeTensor, quantizeValue, scaleDims, scaleZeroPoint } from '../../../src/core/quantize/affine';
import { seededRandom } from '../../../src/core/random';

test('scale and zero point follow the ORT formulas (hand-computed)', () => {
  // uint8 over [-1, 2]: scale 3/255, zero point round(0 + 1 / (3/255)) = 85.
  const p = scaleZeroPoint(-1, 2, 0, 255);
  assert.equal(p.scale, Math.fround(3 / 255));
  assert.equal(p.zeroPoint, 85);
  // The range always includes 0: [0.5, 2] becomes [0, 2].
  assert.deepEqual(scaleZeroPoint(0.5, 2, 0, 255), { scale: Math.fround(2 / 255), zeroPoint: 0 });
  // Symmetric int8 [-127, 127]: a = 1.27 → scale 0.01, zero point 0.
  const [lo, hi] = fittingRange('int8', { symmetric: true });
  assert.deepEqual([lo, hi], [-127, 127]);
  assert.deepEqual(scaleZeroPoint(-0.5, 1.27, lo, hi, true), { scale: Math.fround(2.54 / 254), zeroPoint: 0 });
  // A constant-zero tensor gets scale 1 (ORT: scale < float32 tiny → 1, 0).
  assert.deepEqual(scaleZeroPoint(0, 0, 0, 255), { scale: 1, zeroPoint: 0 });
  assert.deepEqual(fittingRange('int8', { reduceRange: true, symmetric: true }), [-64, 64]);
});

test('rounding is ties-to-even and saturates', () => {
  assert.equal(quantizeValue(2.5, 1, 0, -128, 127), 2);
  assert.equal(quantizeValue(3.5, 1, 0, -128, 127), 4);
  assert.equal(quantizeValue(-2.5, 1, 0, -128, 127), -2);
  assert.equal(quantizeValue(1000, 1, 0, -128, 127), 127);
  assert.equal(quantizeValue(-1000, 1, 10, 0, 255), 0);
});

test('per-channel symmetric int8 weights (hand-computed)', () => {
  // rows = output channels: [1, -2] → scale 2/127; [0.5, 0.25] → scale 0.5/127.
  const q = quantizeTensor([1, -2, 0.5, 0.25], [2, 2], { type: 'int8', symmetric: true, axis: 0 });
  assert.deepEqual([...q.scales], [Math.fround(2 / 127), Math.fround(0.5 / 127)]);
  // 1 / (2/127) = 63.5 → 64 (even); 0.25 / (0.5/127) = 63.5 → 64.
  assert.deepEqual([...q.values], [64, -127, 127, 64]);
  assert.deepEqual([...q.zeroPoints], [0, 0]);
});

test('QuantizeLinear in onnxruntime gives exactly our integers (uint8, per tensor, 10 000 values)', async () => {
  const rnd = seededRandom(5);
  const x = Float32Array.from({ length: 10000 }, () => (rnd() * 2 - 1) * 3);
  // Include exact ties: multiples of half a step.
  const p = scaleZeroPoint(-3, 3, 0, 255);
  for (let i = 0; i < 200; i++) x[i] = Math.fround((i - 100 + 0.5) * p.scale);
  const m = model(graph({
    nodes: [node('QuantizeLinear', ['x', 's', 'z'], ['y'])],
    inputs: [valueInfo('x', DataType.FLOAT, [x.length])],
    outputs: [valueInfo('y', DataType.UINT8, [x.length])],
    initializers: [makeTensor('s', DataType.FLOAT, [], [p.scale]), makeTensor('z', DataType.UINT8, [], [p.zeroPoint])],
  }), { opset: 13 });
  const s = await ort.InferenceSession.create(encodeModel(m));
  const y = (await s.run({ x: new ort.Tensor('float32', x, [x.length]) })).y.data as Uint8Array;
  let mismatches = 0;
  for (let i = 0; i < x.length; i++) if (y[i] !== quantizeValue(x[i], p.scale, p.zeroPoint, 0, 255)) mismatches++;
  assert.equal(mismatches, 0);
});

test('block-wise int4 weights dequantize in onnxruntime (opset 21) to our values', async () => {
  const rnd = seededRandom(9);
  const dims = [4, 64];
  const w = Float32Array.from({ length: 256 }, () => rnd() * 2 - 1);
  const q = quantizeTensor(w, dims, { type: 'int4', symmetric: true, axis: 1, blockSize: 16 });
  assert.deepEqual(scaleDims(q, dims), [4, 4]);
  const m = model(graph({
    nodes: [node('DequantizeLinear', ['q', 's'], ['y'], { axis: 1, block_size: 16 })],
    inputs: [], outputs: [valueInfo('y', DataType.FLOAT, dims)],
    initializers: [makeTensor('q', DataType.INT4, dims, q.values), makeTensor('s', DataType.FLOAT, scaleDims(q, dims), q.scales)],
  }), { opset: 21, irVersion: 10 });
  const y = (await (await ort.InferenceSession.create(encodeModel(m))).run({})).y.data as Float32Array;
  const ours = dequantizeTensor(q, dims);
  let err = 0, worst = 0;
  for (let i = 0; i < y.length; i++) { err = Math.max(err, Math.abs(y[i] - ours[i])); worst = Math.max(worst, Math.abs(y[i] - w[i])); }
  assert.ok(err < 1e-6, `ORT and our dequantization differ by ${err}`);
  // Rounding error is at most half a step; a step is ≤ 1/7 (|w| ≤ 1, 7 levels per side).
  assert.ok(worst <= 0.5 / 7 + 1e-6, `int4 error ${worst}`);
});
