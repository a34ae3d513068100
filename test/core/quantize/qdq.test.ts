import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataset } from '../../../src/core/eval/datasets';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph } from '../../../src/core/onnx/graph';
import { optimizeModel } from '../../../src/core/onnx/optimize';
import { readModelSync } from '../../../src/core/onnx/read';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { applyQdq, planQdq, quantizeStatic } from '../../../src/core/quantize/qdq';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { DOWN, fragileModel } from '../../builders/fragileMnist';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../../fixtures/mnist';
import { accuracy, arraySource, compareOutputs, count, fusedOps, outputs } from './ortRun';

const net = () => convNet({ channels: [8, 16], residual: true, depthwise: true, bn: true, seed: 3 });

function randomImages(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n * 3 * 32 * 32 }, () => rnd() * 2 - 1);
}

test('convNet (residual + depthwise + BN): every Conv fuses to QLinearConv and every Add to QLinearAdd', async () => {
  const float = net();
  const convs = float.graph!.node.filter((n) => n.opType === 'Conv').length;
  const adds = float.graph!.node.filter((n) => n.opType === 'Add').length;
  const calib = arraySource(randomImages(64, 7), [3, 32, 32]);
  const q = await quantizeStatic(float, calib, { perChannel: true, activationType: 'uint8' });
  const ops = await fusedOps(q);
  assert.equal(count(ops, 'QLinearConv'), convs, `fused: ${[...ops]}`);
  assert.equal(count(ops, 'QLinearAdd'), adds);
  assert.equal(count(ops, 'Conv') + count(ops, 'FusedConv') + count(ops, 'Add'), 0, 'no float Conv/Add left');
  assert.equal(count(ops, 'QGemm'), 1);
  assert.equal(count(ops, 'QLinearGlobalAveragePool'), 1);
  // Relu and ReLU6 Clips were absorbed into the producers' ranges: none is left in the QDQ model.
  assert.equal(q.graph!.node.filter((n) => n.opType === 'Relu' || n.opType === 'Clip').length, 0);

  const test = arraySource(randomImages(64, 11), [3, 32, 32]);
  const c = compareOutputs(await outputs(float, test), await outputs(q, test));
  console.log(`convNet int8 vs fp32: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} (max |y| ${c.maxAbsReference.toFixed(3)})`);
  assert.ok(c.agreement >= 0.95, `agreement ${c.agreement}`);
  assert.ok(c.maxAbsError < 0.05 * c.maxAbsReference, `max error ${c.maxAbsError}`);
});

test('int8 activations (S8S8) leave Convs and Adds unfused — why uint8 is the default', async () => {
  const q = await quantizeStatic(net(), arraySource(randomImages(16, 7), [3, 32, 32]), { perChannel: true, activationType: 'int8' });
  const ops = await fusedOps(q);
  console.log(`S8S8 fusion: QLinearConv ${count(ops, 'QLinearConv')}, Conv ${count(ops, 'Conv')}, QLinearAdd ${count(ops, 'QLinearAdd')}, Add ${count(ops, 'Add')}`);
  assert.ok(count(ops, 'Conv') + count(ops, 'Add') > 0);
});

test('biases are int32 with scale = s_input · s_weight, and dequantize back to the float bias', async () => {
  const float = await optimizeModel(net());
  const g = float.graph!;
  const plan = planQdq(g, new Set(g.node));
  const ranges = new Map([...plan.calibrated].map((t) => [t, { min: -4, max: 6 }]));
  const q = applyQdq(float, plan, ranges, { perChannel: true, activationType: 'uint8' });
  const index = indexGraph(q.graph!);
  const floatConsts = indexGraph(g).constants;
  let checked = 0;
  for (const n of q.graph!.node.filter((m) => m.opType === 'Conv')) {
    const [xDq, wDq, bDq] = n.input.map((i) => index.producer.get(i)!);
    const sx = tensorValues(index.constants.get(xDq.input[1])!)[0];
    const sw = tensorValues(index.constants.get(wDq.input[1])!);
    const sb = tensorValues(index.constants.get(bDq.input[1])!);
    const qb = tensorValues(index.constants.get(bDq.input[0])!);
    assert.equal(index.constants.get(bDq.input[0])!.dataType, 6 /* INT32 */);
    const original = g.node.find((m) => m.name === n.name)!;
    const bias = tensorValues(floatConsts.get(original.input[2])!);
    for (let c = 0; c < sw.length; c++) {
      assert.equal(sb[c], Math.fround(sx * sw[c]));
      assert.equal(qb[c], Math.round(bias[c] / sb[c]));
    }
    checked++;
  }
  assert.equal(checked, g.node.filter((m) => m.opType === 'Conv').length);
});

test('--exclude keeps a layer in float and --layers restricts quantization', async () => {
  const calib = arraySource(randomImages(8, 7), [3, 32, 32]);
  const q = await quantizeStatic(net(), calib, { perChannel: true, activationType: 'uint8', selection: { exclude: ['conv1'] } });
  const conv1 = q.graph!.node.find((n) => n.name === 'conv1')!;
  assert.ok(indexGraph(q.graph!).constants.has(conv1.input[1]), 'conv1 keeps its float weight');
  const only = await quantizeStatic(net(), calib, { perChannel: true, activationType: 'uint8', selection: { layers: ['op:Gemm'] } });
  const ops = await fusedOps(only);
  assert.equal(count(ops, 'QLinearConv'), 0);
  assert.equal(count(ops, 'QGemm'), 1);
});

test('a layer excluded between quantized ones runs in float in onnxruntime, not re-quantized by its WeightBiasQuantization', async () => {
  const dir = tempDir();
  const { file } = fragileModel(dir);
  const calib = await openDataset(writeMnistNpy(dir, 'calib', 64).data);
  const split = writeMnistNpy(dir, 'test', 150);
  const data = await openDataset(split.data, { labels: split.labels });
  const m = readModelSync(file);
  const q = await quantizeStatic(m.proto, calib, { perChannel: true, activationType: 'uint8', selection: { exclude: [`name:${DOWN}`] } }, m);
  // onnxruntime would give DOWN per-tensor int8 weights if its input came from a scalar-scale DequantizeLinear:
  // with the planted outlier that is chance accuracy (and with the Relu after it, a model it refuses to load).
  const ops = await fusedOps(q);
  const convs = m.proto.graph!.node.filter((n) => n.opType === 'Conv').length;
  assert.equal(count(ops, 'QLinearConv'), convs - 1, `fused ops: ${[...ops]}`);
  const [float, int8] = [accuracy(await outputs(file, data), split.labelValues), accuracy(await outputs(q, data), split.labelValues)];
  assert.ok(int8 >= float - 0.02, `int8 except DOWN ${int8} vs float ${float}`);
});

test('MNIST CNN: static int8 (minmax, percentile, entropy) loses ≤ 0.3 pp on the test split and fuses fully', async () => {
  const dir = tempDir();
  const calib = await openDataset(writeMnistNpy(dir, 'calib', 256).data);
  const split = writeMnistNpy(dir, 'test');
  const testSet = await openDataset(split.data, { labels: split.labels });
  const m = readModelSync(MNIST_MODEL);
  const ref = await outputs(m.proto, testSet, 64);
  const fp32 = accuracy(ref, testSet.labels!);
  for (const method of ['minmax', 'percentile', 'entropy'] as const) {
    const q = await quantizeStatic(m.proto, calib, { perChannel: true, activationType: 'uint8', method }, m);
    const got = await outputs(q, testSet, 64);
    const int8 = accuracy(got, testSet.labels!);
    const c = compareOutputs(ref, got);
    console.log(`MNIST ${method}: fp32 ${(100 * fp32).toFixed(2)} %, int8 ${(100 * int8).toFixed(2)} %, agreement ${c.agreement.toFixed(4)}, max |Δlogit| ${c.maxAbsError.toFixed(3)}`);
    assert.ok(fp32 - int8 <= 0.003, `${method}: int8 ${int8} vs fp32 ${fp32}`);
    if (method === 'minmax') {
      const ops = await fusedOps(q);
      const convs = m.proto.graph!.node.filter((n) => n.opType === 'Conv').length;
      assert.equal(count(ops, 'QLinearConv'), convs);
      assert.equal(count(ops, 'QLinearAdd'), m.proto.graph!.node.filter((n) => n.opType === 'Add').length);
      assert.equal(count(ops, 'Conv') + count(ops, 'FusedConv'), 0);
    }
  }
});

test('Concat, MaxPool, Reshape and MatMul: shared parameters let onnxruntime run the whole body in integers', async () => {
  const rnd = seededRandom(31);
  const weight = (name: string, dims: number[]) => makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (rnd() - 0.5) * 0.6));
  const float = model(graph({
    nodes: [
      node('Conv', ['x', 'wa', 'ba'], ['a'], { pads: [1, 1, 1, 1] }, 'conv_a'), node('Relu', ['a'], ['ra'], {}, 'relu_a'),
      node('Conv', ['x', 'wb', 'bb'], ['b'], { pads: [1, 1, 1, 1] }, 'conv_b'), node('Relu', ['b'], ['rb'], {}, 'relu_b'),
      node('Concat', ['ra', 'rb'], ['cat'], { axis: 1 }, 'concat'),
      node('MaxPool', ['cat'], ['mp'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool'),
      node('Conv', ['mp', 'wc', 'bc'], ['c'], {}, 'conv_c'),
      node('Reshape', ['c', 'shape'], ['flat'], {}, 'reshape'),
      node('MatMul', ['flat', 'wd'], ['y'], {}, 'fc'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 3, 8, 8])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 5])],
    initializers: [weight('wa', [4, 3, 3, 3]), weight('ba', [4]), weight('wb', [4, 3, 3, 3]), weight('bb', [4]),
      weight('wc', [6, 8, 1, 1]), weight('bc', [6]), makeTensor('shape', DataType.INT64, [2], [-1, 96]), weight('wd', [96, 5])],
  }), { opset: 13 });
  const data = arraySource(Float32Array.from({ length: 32 * 192 }, () => rnd() * 2 - 1), [3, 8, 8]);
  const q = await quantizeStatic(float, data, { perChannel: true, activationType: 'uint8' });
  const ops = await fusedOps(q);
  assert.equal(count(ops, 'QLinearConv'), 3, `ops: ${[...ops]}`);
  assert.equal(count(ops, 'QLinearConcat'), 1);
  assert.equal(count(ops, 'MaxPool'), 1);
  assert.equal(count(ops, 'Conv') + count(ops, 'Concat') + count(ops, 'MatMul'), 0, `ops: ${[...ops]}`);
  // Only the network input is quantized and only the MatMul leaves the integer domain (float output).
  assert.equal(count(ops, 'QuantizeLinear'), 1);
  assert.equal(count(ops, 'DequantizeLinear'), 0, `ops: ${[...ops]}`);
  const c = compareOutputs(await outputs(float, data), await outputs(q, data));
  console.log(`concat/maxpool/reshape/matmul net: ${[...ops].map(([k, v]) => `${k}×${v}`).join(' ')}; agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(4)} of ${c.maxAbsReference.toFixed(3)}`);
  assert.ok(c.agreement >= 0.9 && c.maxAbsError < 0.05 * c.maxAbsReference);
});

test('a bias int32 cannot hold at s_in·s_w (an almost-zero channel) gets a raised weight scale, with a warning: outputs stay right and the Conv fuses', async () => {
  // y = Conv1×1(x; W [3, 4], b) with x in [-1, 1]. Channel 1's weights are 1e-9, so s_in·s_w ≈ 1e-13 and its
  // bias 0.5 would be ≈ 4·10¹² in int32 (saturated, that channel outputs ≈ 0 instead of 0.5; onnxruntime
  // quantizes a float bias itself, and saturates it the same way).
  const rnd = seededRandom(8);
  const w = [0.5, -0.25, 0.75, 1, 1e-9, -1e-9, 1e-9, 1e-9, -0.5, 0.3, 0.2, -0.1];
  const float = model(graph({
    nodes: [node('Conv', ['x', 'W', 'B'], ['y'], {}, 'conv')],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 4, 5, 5])], outputs: [valueInfo('y', DataType.FLOAT, ['N', 3, 5, 5])],
    initializers: [makeTensor('W', DataType.FLOAT, [3, 4, 1, 1], w), makeTensor('B', DataType.FLOAT, [3], [0.1, 0.5, -0.2])],
  }), { opset: 13 });
  const source = arraySource(Float32Array.from({ length: 16 * 4 * 5 * 5 }, () => rnd() * 2 - 1), [4, 5, 5]);
  const warnings: string[] = [];
  const q = await quantizeStatic(float, source, { perChannel: true, activationType: 'uint8', optimize: false, onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /'conv': the bias of 1 channel\(s\) \(first: 1\).*raised/);
  const c = compareOutputs(await outputs(float, source), await outputs(q, source));
  assert.ok(c.maxAbsError < 0.05, `max |Δ| ${c.maxAbsError} (output quantization step ≈ 0.02)`);
  assert.equal(count(await fusedOps(q), 'QLinearConv'), 1);
});
