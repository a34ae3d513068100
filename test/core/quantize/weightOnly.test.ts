import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { opsetVersion } from '../../../src/core/onnx/read';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { quantizeWeightOnly, weightCandidates } from '../../../src/core/quantize/weightOnly';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { arraySource, compareOutputs, outputs } from './ortRun';

const images = (n: number, seed: number) => {
  const rnd = seededRandom(seed);
  return arraySource(Float32Array.from({ length: n * 3 * 32 * 32 }, () => rnd() * 2 - 1), [3, 32, 32]);
};

test('weight-only int8 per-channel: Conv/Gemm weights behind DequantizeLinear, outputs close to fp32', async () => {
  const float = convNet({ channels: [8, 16], residual: true, depthwise: true, bn: true, seed: 5 });
  const chosen = weightCandidates(float);
  assert.equal(chosen.length, float.graph!.node.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').length);
  const { proto, layers } = quantizeWeightOnly(float, chosen, { bits: 8, perChannel: true });
  assert.equal(layers.length, chosen.length);
  assert.ok(layers.every((l) => l.format === 'DequantizeLinear'));
  const weights = proto.graph!.initializer.filter((t) => t.dataType === DataType.INT8);
  assert.equal(weights.length, chosen.length);
  assert.equal(proto.graph!.initializer.filter((t) => t.name.endsWith('.weight')).length, 0, 'float weights removed');
  const data = images(32, 2);
  const c = compareOutputs(await outputs(float, data), await outputs(proto, data));
  console.log(`weight-only int8: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} of ${c.maxAbsReference.toFixed(3)}; ${encodeModel(float).length} → ${encodeModel(proto).length} bytes`);
  assert.ok(c.agreement >= 0.95 && c.maxAbsError < 0.03 * c.maxAbsReference);
  // Each weight shrinks from 4 bytes to 1 per element; each layer gains a DequantizeLinear node and scales (< 200 bytes).
  const weightBytes = chosen.reduce((a, n) => a + float.graph!.initializer.find((t) => t.name === n.input[1])!.rawData.length, 0);
  assert.ok(encodeModel(float).length - encodeModel(proto).length > 0.75 * weightBytes - 200 * chosen.length);
});

test('weight-only int4: Conv per-channel via opset-21 DequantizeLinear, MatMul via MatMulNBits', async () => {
  const rnd = seededRandom(6);
  const k = 64, cols = 10;
  // x [N, 4, 8, 8] → Conv 3×3 (4→16) → GlobalAveragePool → Flatten → MatMul [16·… no: 16 → 64 via Conv 1×1] → MatMul [64, 10]
  const w1 = makeTensor('w1', DataType.FLOAT, [16, 4, 3, 3], Float32Array.from({ length: 576 }, () => (rnd() - 0.5) * 0.5));
  const w2 = makeTensor('w2', DataType.FLOAT, [k, 16, 1, 1], Float32Array.from({ length: k * 16 }, () => (rnd() - 0.5) * 0.5));
  const w3 = makeTensor('w3', DataType.FLOAT, [k, cols], Float32Array.from({ length: k * cols }, () => (rnd() - 0.5) * 0.5));
  const float = model(graph({
    nodes: [
      node('Conv', ['x', 'w1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1'), node('Relu', ['c1'], ['r1']),
      node('Conv', ['r1', 'w2'], ['c2'], {}, 'conv2'), node('GlobalAveragePool', ['c2'], ['g']),
      node('Flatten', ['g'], ['f']), node('MatMul', ['f', 'w3'], ['y'], {}, 'fc'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 4, 8, 8])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', cols])],
    initializers: [w1, w2, w3],
  }), { opset: 13 });
  const { proto, layers } = quantizeWeightOnly(float, weightCandidates(float), { bits: 4, perChannel: true, blockSize: 16 });
  assert.equal(opsetVersion(proto), 21);
  assert.deepEqual(layers.map((l) => l.format), ['DequantizeLinear', 'DequantizeLinear', 'MatMulNBits']);
  assert.equal(proto.graph!.node.find((n) => n.name === 'fc')!.opType, 'MatMulNBits');
  assert.equal(proto.graph!.initializer.filter((t) => t.dataType === DataType.INT4).length, 2);
  const data = arraySource(Float32Array.from({ length: 16 * 256 }, () => rnd() * 2 - 1), [4, 8, 8]);
  const ref = await outputs(float, data);
  const got = await outputs(proto, data);
  const c = compareOutputs(ref, got);
  console.log(`weight-only int4: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} of ${c.maxAbsReference.toFixed(3)}`);
  // 4-bit weights: a few percent of the output scale, not garbage.
  assert.ok(c.maxAbsError < 0.25 * c.maxAbsReference, `max error ${c.maxAbsError}`);
  assert.ok(c.agreement >= 0.75);
});

test('weight-only int4 block-wise Conv/Gemm (--block-size): scales per 16 input channels, onnxruntime runs it', async () => {
  const float = convNet({ channels: [16, 32], residual: true, bn: false, seed: 8 });
  const chosen = weightCandidates(float);
  const { proto } = quantizeWeightOnly(float, chosen, { bits: 4, perChannel: true, blockSize: 16 });
  const dqs = proto.graph!.node.filter((n) => n.opType === 'DequantizeLinear');
  assert.equal(dqs.length, chosen.length);
  // A [32, 32, 3, 3] Conv weight cut into blocks of 16 input channels has scales [32, 2, 3, 3].
  const conv = proto.graph!.node.find((n) => n.opType === 'Conv' && n.name === 'conv5')!;
  const dq = dqs.find((d) => d.output[0] === conv.input[1])!;
  const scale = proto.graph!.initializer.find((t) => t.name === dq.input[1])!;
  assert.deepEqual(scale.dims.map(Number), [32, 2, 3, 3]);
  const rnd = seededRandom(3);
  const data = arraySource(Float32Array.from({ length: 16 * 3 * 32 * 32 }, () => rnd() * 2 - 1), [3, 32, 32]);
  const c = compareOutputs(await outputs(float, data), await outputs(proto, data));
  console.log(`weight-only int4 block-wise: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} of ${c.maxAbsReference.toFixed(3)}`);
  assert.ok(c.maxAbsError < 0.25 * c.maxAbsReference);
});

test('unnamed nodes are found again after the opset upgrade inserts nodes before them', async () => {
  // x [N, 2, 4] → Softmax(axis 1) → MatMul(W [4, 3]), all unnamed, opset 11. Upgrading to 13 (per-channel)
  // puts Shape and Flatten before the Softmax and a Reshape after it, so the MatMul is no longer node 1.
  const rnd = seededRandom(9);
  const float = model(graph({
    nodes: [node('Softmax', ['x'], ['p'], { axis: 1 }), node('MatMul', ['p', 'W'], ['y'])],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 2, 4])], outputs: [valueInfo('y', DataType.FLOAT, ['N', 2, 3])],
    initializers: [makeTensor('W', DataType.FLOAT, [4, 3], Float32Array.from({ length: 12 }, () => rnd() * 2 - 1))],
  }), { opset: 11 });
  const { proto, layers } = quantizeWeightOnly(float, [float.graph!.node[1]], { bits: 8, perChannel: true });
  assert.equal(opsetVersion(proto), 13);
  assert.deepEqual(layers.map((l) => l.op), ['MatMul']);
  const matmul = proto.graph!.node.find((n) => n.opType === 'MatMul')!;
  assert.equal(proto.graph!.node.find((n) => n.output.includes(matmul.input[1]))?.opType, 'DequantizeLinear');
  const data = arraySource(Float32Array.from({ length: 16 * 8 }, () => rnd() * 4 - 2), [2, 4]);
  const c = compareOutputs(await outputs(float, data), await outputs(proto, data));
  assert.ok(c.maxAbsError < 0.02 * c.maxAbsReference, `max |Δ| ${c.maxAbsError} of ${c.maxAbsReference}`);
});
