// Weight histograms: bins worked out by hand for float and quantized weights (values shown dequantized,
// exact zeros counted apart), and dequantized ranges checked against the values onnxruntime dequantizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weightHistogram } from '../../../src/core/analysis/histogram';
import { UsageError } from '../../../src/core/errors';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, type Model } from '../../../src/core/onnx/read';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import * as Q from '../../builders/quantSchemes';
import { floatInput, runTensors, weightRowsByOrt } from './ortObserved';

const load = (proto: ModelProto): Model => decodeModel(encodeModel(proto));

function floatMatMul(values: number[]): ModelProto {
  return model(graph({
    nodes: [node('MatMul', ['x', 'w'], ['y'], {}, 'fc')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 2])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('w', DataType.FLOAT, [2, 4], values)],
  }));
}

test('histogram: float weights — edges, counts, zeros apart, zero bin', () => {
  const h = weightHistogram(load(floatMatMul([-1, 0, 0, 0.5, 1, 1, 2, -0])), 'fc', 3);
  assert.deepEqual(h.edges, [-1, 0, 1, 2]);
  assert.deepEqual(h.counts, [1, 1, 3]); // −1 | 0.5 | 1, 1, 2 (last bin includes its right edge)
  assert.equal(h.zeroCount, 3);
  assert.equal(h.zeroBin, 1);
  assert.equal(h.min, -1);
  assert.equal(h.max, 2);
  assert.equal(h.dtype, 'float32');
});

test('histogram: QDQ int8 weights are dequantized, values at the zero-point are the zeros', () => {
  // real = (q − 3) · 0.5 over 72 weights: q = 3 (zero) ×18, q = 1 → −1 ×18, q = 5 → 1 ×18, q = 9 → 3 ×18.
  const values = Array.from({ length: 72 }, (_, i) => [3, 1, 5, 9][Math.floor(i / 18)]);
  const h = weightHistogram(load(Q.qdqConv({ values, dims: [4, 2, 3, 3], scale: 0.5, zeroPoint: 3 })), 'conv', 4);
  assert.deepEqual(h.edges, [-1, 0, 1, 2, 3]);
  assert.deepEqual(h.counts, [18, 0, 18, 18]);
  assert.equal(h.zeroCount, 18);
  assert.equal(h.zeroBin, 1);
  assert.equal(h.dtype, 'int8');
});

test('histogram: per-channel QDQ range and zeros match what onnxruntime dequantizes', async () => {
  const values = Array.from({ length: 72 }, (_, i) => ((i * 7) % 23) - 11);
  const proto = Q.qdqConv({ values, dims: [4, 2, 3, 3], scale: [0.01, 0.02, 0.03, 0.04], zeroPoint: [1, -2, 3, 0] });
  const h = weightHistogram(load(proto), 'conv', 16);
  const ortValues = Array.from((await runTensors(proto, { x: floatInput([1, 2, 4, 4]) }, ['w_dq'])).w_dq.data as Float32Array);
  assert.ok(Math.abs(h.min - Math.min(...ortValues)) < 1e-6);
  assert.ok(Math.abs(h.max - Math.max(...ortValues)) < 1e-6);
  assert.equal(h.zeroCount, ortValues.filter((v) => v === 0).length);
  assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.zeroCount, 72);
});

test('histogram: MatMulNBits 4-bit blocks dequantized as onnxruntime does', async () => {
  const k = 32;
  const values = Array.from({ length: 2 * k }, (_, i) => i % 16);
  const proto = Q.matmulNBits({ values, n: 2, k, blockSize: 16, scales: [0.5, 0.25, 1, 2], zeroPoints: [8, 0, 15, 3] });
  const h = weightHistogram(load(proto), 'matmul_4bit', 8);
  const ortValues = await weightRowsByOrt(proto, k);
  assert.equal(h.min, Math.min(...ortValues));
  assert.equal(h.max, Math.max(...ortValues));
  assert.equal(h.zeroCount, ortValues.filter((v) => v === 0).length);
  assert.equal(h.dtype, 'uint4');
});

test('histogram: blockwise int4 QDQ uses each block\'s scale and zero-point, as onnxruntime does', async () => {
  const k = 32;
  const values = Array.from({ length: k * 2 }, (_, i) => (i % 16) - 8);
  const proto = Q.blockedQdqMatMul({ values, k, n: 2, blockSize: 16, scales: [0.5, 0.25, 1, 2], zeroPoints: [1, -1, 2, 0] });
  const h = weightHistogram(load(proto), 'matmul', 8);
  const ortValues = await weightRowsByOrt(proto, k);
  assert.equal(h.min, Math.min(...ortValues));
  assert.equal(h.max, Math.max(...ortValues));
  assert.equal(h.zeroCount, ortValues.filter((v) => v === 0).length);
  assert.equal(h.dtype, 'int4');
});

test('histogram: an unknown layer is a usage error', () => {
  assert.throws(() => weightHistogram(load(floatMatMul([1, 2, 3, 4, 5, 6, 7, 8])), 'nope'), UsageError);
});
