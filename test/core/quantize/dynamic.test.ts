import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { quantizeDynamic } from '../../../src/core/quantize/dynamic';
import { weightCandidates } from '../../../src/core/quantize/weightOnly';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { arraySource, compareOutputs, count, fusedOps, outputs } from './ortRun';

test('dynamic int8: Gemm/MatMul become MatMulInteger (fused by onnxruntime), Conv stays weight-only', async () => {
  const rnd = seededRandom(12);
  const float = convNet({ channels: [8, 16], residual: true, bn: true, seed: 4 });
  const { proto, layers } = quantizeDynamic(float, weightCandidates(float), { perChannel: true });
  assert.deepEqual(layers.filter((l) => l.format === 'MatMulInteger').map((l) => l.op), ['Gemm']);
  assert.ok(layers.filter((l) => l.op === 'Conv').every((l) => l.format === 'DequantizeLinear'));
  assert.equal(proto.graph!.node.filter((n) => n.opType === 'ConvInteger').length, 0);
  const ops = await fusedOps(proto);
  assert.equal(count(ops, 'DynamicQuantizeMatMul') + count(ops, 'MatMulIntegerToFloat'), 1, `ops: ${[...ops]}`);
  const data = arraySource(Float32Array.from({ length: 32 * 3 * 32 * 32 }, () => rnd() * 2 - 1), [3, 32, 32]);
  const c = compareOutputs(await outputs(float, data), await outputs(proto, data));
  console.log(`dynamic int8 convNet: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} of ${c.maxAbsReference.toFixed(3)}`);
  assert.ok(c.agreement >= 0.9 && c.maxAbsError < 0.05 * c.maxAbsReference);
});

test('dynamic int8 MatMul matches the float product within the quantization error (hand-checkable sizes)', async () => {
  const rnd = seededRandom(13);
  const w = makeTensor('w', DataType.FLOAT, [32, 8], Float32Array.from({ length: 256 }, () => rnd() * 2 - 1));
  const b = makeTensor('b', DataType.FLOAT, [8], Float32Array.from({ length: 8 }, () => rnd()));
  const float = model(graph({
    nodes: [node('Gemm', ['x', 'w', 'b'], ['y'], { beta: { float: 0.5 }, alpha: { float: 2 } }, 'gemm')],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 32])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 8])],
    initializers: [w, b],
  }), { opset: 13 });
  const { proto } = quantizeDynamic(float, weightCandidates(float), { perChannel: true });
  const data = arraySource(Float32Array.from({ length: 64 * 32 }, () => rnd() * 2 - 1), [32]);
  const c = compareOutputs(await outputs(float, data), await outputs(proto, data));
  // |x| ≤ 1, |w| ≤ 1, K = 32: the product is ≤ 64 in magnitude; 8-bit rounding errors stay well under 1 %.
  assert.ok(c.maxAbsError < 0.01 * c.maxAbsReference + 0.02, `max error ${c.maxAbsError} of ${c.maxAbsReference}`);
});
