// Scheme detection and zero counting for every storage scheme: each model is built in code with stored weight
// values chosen by hand (pruned weights set to the zero-point; literal 0s that are NOT zero when the zero-point
// differs), run in onnxruntime-node, and its analysis compared with the hand-counted figures. Where
// onnxruntime can show which weights dequantize to exactly 0 (DequantizeLinear output, or a one-hot input
// through a matrix product), that count must agree too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import type { LayerStats } from '../../../src/core/analysis/report';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { encodeModel } from '../../../src/core/onnx/write';
import * as Q from '../../builders/quantSchemes';
import { floatInput, runTensors, weightRowsByOrt } from './ortObserved';

type ConvDims = [number, number, number, number];
const CONV: ConvDims = [4, 2, 3, 3]; // 4 output channels of 18 weights; channel c holds indices 18c … 18c+17

/** ±5 … ±9: never equal to any zero-point used below, so every zero is placed by hand. */
const base = (n: number, offset = 0) => Array.from({ length: n }, (_, i) => offset + (i % 2 ? -1 : 1) * (5 + (i % 5)));

function analyzeLayer(proto: ModelProto, name: string): LayerStats {
  const layer = analyzeModel(decodeModel(encodeModel(proto))).layers.find((l) => l.name === name);
  assert.ok(layer, `layer ${name}`);
  return layer;
}

async function runsInOrt(proto: ModelProto, x: number[], expectedDims: number[]): Promise<void> {
  const session = await ort.InferenceSession.create(encodeModel(proto));
  const out = await session.run({ x: floatInput(x) });
  assert.deepEqual(out.y.dims, expectedDims);
  await session.release();
}

const exactZeros = (t: ort.Tensor) => Array.from(t.data as Float32Array).filter((v) => v === 0).length;

test('QDQ per-tensor: int8 weights at the zero-point are zeros, a literal 0 is not', async () => {
  const values = base(72);
  for (let i = 18; i < 36; i++) values[i] = 3; // channel 1 pruned
  values[0] = 3;
  values[1] = 3;
  values[40] = 0; // real value (0 − 3)·scale ≠ 0
  const proto = Q.qdqConv({ values, dims: CONV, scale: 0.01, zeroPoint: 3 });
  const l = analyzeLayer(proto, 'conv');
  assert.equal(l.scheme, 'qdq');
  assert.equal(l.perChannel, false);
  assert.equal(l.bits, 8);
  assert.equal(l.dtype, 'int8');
  assert.equal(l.params, 72 + 4);
  assert.equal(l.weights[0].zeros, 20);
  assert.equal(l.zeros, 20 + 1); // + bias [0, 0.1, 0.2, 0.3]
  assert.equal(l.channelSparsity, 1 / 4);
  assert.equal(l.twoFour, 5 / 16); // 4 full groups per channel; channel 1's four and channel 0's first
  assert.equal(l.weightBytes, 72 + 16 + 4 + 1);
  assert.equal(l.macs, 4 * 4 * 4 * 18);
  const ortWeights = await runTensors(proto, { x: floatInput([1, 2, 4, 4]) }, ['w_dq', 'y']);
  assert.equal(exactZeros(ortWeights.w_dq), 20, 'onnxruntime dequantizes exactly these weights to 0');
  assert.deepEqual(ortWeights.y.dims, [1, 4, 4, 4]);
});

test('QDQ per-channel: each channel compared with its own zero-point (axis 0)', async () => {
  const values = base(72);
  for (let i = 18; i < 36; i++) values[i] = -2; // channel 1 (zero-point −2) pruned
  values[0] = 1;
  values[1] = 1; // channel 0, zero-point 1
  values[40] = 0; // channel 2, zero-point 3: not zero
  values[60] = 0; // channel 3, zero-point 0: zero
  const proto = Q.qdqConv({ values, dims: CONV, scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: [1, -2, 3, 0] });
  const l = analyzeLayer(proto, 'conv');
  assert.equal(l.scheme, 'qdq');
  assert.equal(l.perChannel, true);
  assert.equal(l.axis, 0);
  assert.equal(l.weights[0].zeros, 21);
  assert.equal(l.channelSparsity, 1 / 4);
  assert.equal(l.weightBytes, 72 + 16 + 16 + 4);
  const ortWeights = await runTensors(proto, { x: floatInput([1, 2, 4, 4]) }, ['w_dq']);
  assert.equal(exactZeros(ortWeights.w_dq), 21);
});

test('QOperator QLinearConv: uint8 weights, per-channel zero-points, int32 bias', async () => {
  const values = base(72, 150);
  for (let i = 18; i < 36; i++) values[i] = 120;
  values[0] = 128;
  values[1] = 128;
  values[40] = 0;
  const proto = Q.qlinearConv({ values, dims: CONV, scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: [128, 120, 130, 128] });
  const l = analyzeLayer(proto, 'qconv');
  assert.equal(l.op, 'QLinearConv');
  assert.equal(l.scheme, 'qoperator');
  assert.equal(l.perChannel, true);
  assert.equal(l.axis, 0);
  assert.equal(l.dtype, 'uint8');
  assert.equal(l.weights[0].zeros, 20);
  assert.deepEqual(l.weights.map((w) => [w.role, w.dtype]), [['weight', 'uint8'], ['bias', 'int32']]);
  assert.equal(l.zeros, 20 + 1); // bias [0, 10, 20, 30]
  assert.equal(l.macs, 4 * 4 * 4 * 18);
  await runsInOrt(proto, [1, 2, 4, 4], [1, 4, 4, 4]);
});

test('QOperator QLinearConv: per-channel scales with one shared zero-point', async () => {
  const values = base(72, 150);
  for (let i = 54; i < 72; i++) values[i] = 128;
  const proto = Q.qlinearConv({ values, dims: CONV, scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: 128 });
  const l = analyzeLayer(proto, 'qconv');
  assert.deepEqual([l.perChannel, l.axis, l.weights[0].zeros, l.channelSparsity], [true, 0, 18, 1 / 4]);
  await runsInOrt(proto, [1, 2, 4, 4], [1, 4, 4, 4]);
});

test('QOperator QLinearMatMul: per-column zero-points, column channels and 2:4 down the K axis', async () => {
  const values = base(24, 150); // [K=8, N=3]
  for (let k = 0; k < 8; k++) values[k * 3 + 1] = 120; // column 1 pruned
  values[0] = 128;
  values[3] = 128; // column 0, rows 0 and 1
  const proto = Q.qlinearMatMul({ values, dims: [8, 3], scale: [0.01, 0.02, 0.03], zeroPoint: [128, 120, 130] });
  const l = analyzeLayer(proto, 'qmatmul');
  assert.equal(l.scheme, 'qoperator');
  assert.equal(l.perChannel, true);
  assert.equal(l.axis, 1);
  assert.equal(l.zeros, 10);
  assert.equal(l.channelSparsity, 1 / 3);
  assert.equal(l.twoFour, 3 / 6); // two groups of 4 per column: column 1's two, column 0's first
  assert.equal(l.macs, 8 * 3);
  await runsInOrt(proto, [1, 8], [1, 3]);
});

test('dynamic MatMulInteger: DynamicQuantizeLinear input, uint8 weights at zero-point 128', async () => {
  const values = base(24, 150);
  for (let k = 0; k < 8; k++) values[k * 3 + 2] = 128; // column 2 pruned
  values[0] = 128;
  const proto = Q.dynamicMatMul({ values, dims: [8, 3], scale: 0.01, zeroPoint: 128 });
  const l = analyzeLayer(proto, 'matmul_int');
  assert.equal(l.scheme, 'dynamic');
  assert.equal(l.perChannel, false);
  assert.equal(l.zeros, 9);
  assert.equal(l.channelSparsity, 1 / 3);
  // One-hot rows through onnxruntime read the weight back: exact zeros where the weight sits at its zero-point.
  const zerosSeen = (await weightRowsByOrt(proto, 8)).filter((v) => v === 0).length;
  assert.equal(zerosSeen, 9);
});

test('dynamic ConvInteger: uint8 weights and activations', async () => {
  const values = base(72, 150);
  for (let i = 54; i < 72; i++) values[i] = 128; // channel 3 pruned
  values[5] = 128;
  const proto = Q.dynamicConv({ values, dims: CONV, scale: 0.01, zeroPoint: 128 });
  const l = analyzeLayer(proto, 'conv_int');
  assert.equal(l.op, 'ConvInteger');
  assert.equal(l.scheme, 'dynamic');
  assert.equal(l.zeros, 19);
  assert.equal(l.channelSparsity, 1 / 4);
  assert.equal(l.macs, 4 * 4 * 4 * 18);
  await runsInOrt(proto, [1, 2, 4, 4], [1, 4, 4, 4]);
});

test('weight-only MatMulNBits: 4-bit blocks with per-block zero-points, K not a multiple of the block', async () => {
  const n = 3;
  const k = 40;
  const values = Array.from({ length: n * k }, (_, i) => 9 + (i % 5)); // 9 … 13, never a zero-point
  const zeroPoints = [8, 8, 8, /* row 1 */ 0, 15, 8, /* row 2 */ 8, 8, 8];
  for (let j = 0; j < k; j++) values[2 * k + j] = 8; // row 2 pruned
  values[0] = 8;
  values[1] = 8; // row 0, block 0
  values[k + 16] = 15; // row 1, block 1 (zero-point 15)
  values[k + 17] = 0; // row 1, block 1: a literal 0 that is not zero
  const proto = Q.matmulNBits({ values, n, k, blockSize: 16, scales: [0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3], zeroPoints });
  const l = analyzeLayer(proto, 'matmul_4bit');
  assert.equal(l.scheme, 'weight-only');
  assert.equal(l.bits, 4);
  assert.equal(l.dtype, 'uint4');
  assert.equal(l.blockSize, 16);
  assert.deepEqual(l.weights[0].shape, [3, 40]);
  assert.equal(l.params, 120);
  assert.equal(l.zeros, 43);
  assert.equal(l.channelSparsity, 1 / 3);
  assert.equal(l.twoFour, 11 / 30); // 10 groups per row: all of row 2, row 0's first
  assert.equal(l.macs, 3 * 40);
  assert.equal(l.weightBytes, 3 * 3 * 8 + 9 * 4 + 3 * 2); // packed B, float scales, packed zero-points
  assert.deepEqual(analyzeModel(decodeModel(encodeModel(proto))).model.bitsMix, { 4: 120 });
  const zerosSeen = (await weightRowsByOrt(proto, k)).filter((v) => v === 0).length;
  assert.equal(zerosSeen, 43);
});

test('blockwise QDQ: int4 weights with one zero-point per block of 16 along K (opset 21 block_size)', async () => {
  const k = 32;
  const n = 2;
  const values: number[] = Array.from({ length: k * n }, (_, i) => (i % 2 ? 5 : -6)); // never a zero-point below
  const zeroPoints = [1, -1, /* block 1 */ 2, 0]; // [blocks=2, N=2]
  for (let r = 16; r < 32; r++) values[r * n] = 2; // column 0, block 1 pruned
  values[0] = 1; // column 0, block 0
  values[3] = -1; // row 1, column 1 (block 0)
  values[2 * 16 + 1] = 0; // row 16, column 1 → block 1, zero-point 0: zero
  values[1 * n + 0] = 0; // row 1, column 0 → zero-point 1: not zero
  const proto = Q.blockedQdqMatMul({ values, k, n, blockSize: 16, scales: [0.5, 0.25, 1, 2], zeroPoints });
  const l = analyzeLayer(proto, 'matmul');
  assert.equal(l.scheme, 'qdq');
  assert.equal(l.dtype, 'int4');
  assert.equal(l.bits, 4);
  assert.equal(l.blockSize, 16);
  assert.equal(l.zeros, 16 + 1 + 1 + 1);
  assert.equal(l.macs, k * n);
  const zerosSeen = (await weightRowsByOrt(proto, k)).filter((v) => v === 0).length;
  assert.equal(zerosSeen, 19);
});

for (const [dtype, name, scheme] of [[DataType.FLOAT16, 'float16', 'fp16'], [DataType.BFLOAT16, 'bfloat16', 'bf16']] as const) {
  test(`${scheme}: half-precision weights behind a Cast`, async () => {
    const values = base(72).map((v) => v / 8);
    for (let i = 0; i < 18; i++) values[i] = 0;
    values[30] = -0; // negative zero is zero too
    const proto = Q.halfWeightConv(dtype, values, CONV);
    const l = analyzeLayer(proto, 'conv');
    assert.equal(l.scheme, scheme);
    assert.equal(l.dtype, name);
    assert.equal(l.bits, 16);
    assert.equal(l.weights[0].name, 'w_half');
    assert.equal(l.zeros, 19);
    assert.equal(l.channelSparsity, 1 / 4);
    assert.equal(l.weightBytes, 144);
    await runsInOrt(proto, [1, 2, 4, 4], [1, 4, 4, 4]);
  });
}

test('fp16: float16 end to end (MatMul on float16 tensors)', async () => {
  const values = base(24).map((v) => v / 4);
  values[5] = 0;
  const proto = Q.fp16MatMul(values, [8, 3]);
  const l = analyzeLayer(proto, 'matmul');
  assert.equal(l.scheme, 'fp16');
  assert.equal(l.zeros, 1);
  assert.equal(l.macs, 24);
  const session = await ort.InferenceSession.create(encodeModel(proto));
  const out = await session.run({ x: new ort.Tensor('float16', new Uint16Array(8).fill(0x3c00), [1, 8]) });
  assert.deepEqual(out.y.dims, [1, 3]);
  await session.release();
});
