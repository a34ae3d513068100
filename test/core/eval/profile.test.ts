import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { profileLayers, type LayerProfile } from '../../../src/core/eval/profile';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { optimizeModel } from '../../../src/core/onnx/optimize';
import type { ModelProto, NodeProto } from '../../../src/core/onnx/proto';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { seededRandom } from '../../../src/core/random';
import { writeModel } from '../../../src/core/onnx/write';
import { NetBuilder } from '../../builders/convNet';
import { tempDir } from '../../fixtures/tempDir';
import { arraySource } from '../quantize/ortRun';

/**
 * x → conv1 → relu1 (onnxruntime fuses Conv+Relu) → conv2 → bn1 → relu2 (BatchNormalization folded into the Conv, then
 * the Relu fused) → conv3 → bn2, + the block input → relu3 (the Add and Relu fused into conv3's kernel as its sum
 * input) → GlobalAveragePool → Flatten → fc1 (Gemm). Input [N, 3, 16, 16].
 */
function fusedNet(): ModelProto {
  const b = new NetBuilder(5, false);
  const relu1 = b.relu(b.conv('x', 3, 16, 3));
  const bnConv = (x: string, conv: string, bn: string) => {
    b.nodes.push(node('Conv', [x, b.weight(`${conv}.weight`, [16, 16, 3, 3], 0.1)], [conv], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, conv));
    b.nodes.push(node('BatchNormalization', [conv, b.uniform(`${bn}.scale`, [16], 0.6, 1.2), b.uniform(`${bn}.bias`, [16], -0.2, 0.2),
      b.uniform(`${bn}.mean`, [16], -0.1, 0.1), b.uniform(`${bn}.var`, [16], 0.6, 1.4)], [bn], { epsilon: { float: 1e-5 } }, bn));
    return bn;
  };
  const relu2 = b.relu(bnConv(relu1, 'conv2', 'bn1'));
  const relu3 = b.relu(b.op('Add', [bnConv(relu2, 'conv3', 'bn2'), relu2]));
  const logits = b.head(relu3, 16, 10);
  return b.model('x', ['N', 3, 16, 16], logits, ['N', 10], 'fused');
}

function write(dir: string, name: string, proto: ModelProto): string {
  const file = path.join(dir, name);
  writeModel(proto, file);
  return file;
}

const layer = (p: LayerProfile, name: string) => {
  const l = p.layers.find((x) => x.name === name);
  assert.ok(l, `no layer ${name} in ${p.layers.map((x) => x.name)}`);
  return l;
};

/** Durations are never asserted, only that they are sane and add up (each figure is rounded to 0.1 µs). */
function assertConsistent(p: LayerProfile, runs: number): void {
  assert.equal(p.runs, runs);
  for (const l of p.layers) assert.ok(l.ms >= 0 && l.share >= 0 && l.share <= 1, `${l.name}: ${l.ms} ms, share ${l.share}`);
  assert.ok(p.other.ms >= 0);
  const otherOps = p.other.ops.reduce((a, o) => a + o.ms, 0);
  assert.ok(Math.abs(otherOps - p.other.ms) <= 1e-4 * (p.other.ops.length + 1), `other by op ${otherOps} vs ${p.other.ms}`);
  const sum = p.layers.reduce((a, l) => a + l.ms, 0) + p.other.ms;
  assert.ok(Math.abs(sum - p.totalMs) <= 1e-4 * (p.layers.length + 2), `layers + other ${sum} vs total ${p.totalMs}`);
  assert.deepEqual(p.layers.map((l) => l.ms), p.layers.map((l) => l.ms).sort((a, b) => b - a), 'slowest first');
}

/** The nodes onnxruntime runs for `proto` at the profiled session's level, by name (independent of the attribution). */
async function executedNodes(proto: ModelProto): Promise<Map<string, NodeProto>> {
  return new Map((await optimizeModel(proto, 'all')).graph!.node.map((n) => [n.name, n]));
}

test('profiler attribution on a model with known fused nodes: Conv+Relu, Conv+BN+Relu, Conv+BN+Add+Relu, Gemm', async () => {
  const dir = tempDir();
  const proto = fusedNet();
  const file = write(dir, 'fused.onnx', proto);
  const progress: number[] = [];
  const p = await profileLayers(file, { runs: 6, warmup: 2, onProgress: (done, total) => { assert.equal(total, 8); progress.push(done); } });
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(p.model, file);
  assertConsistent(p, 6);
  // inspect's layers: three Convs, two BatchNormalizations, the Gemm.
  assert.deepEqual(p.layers.map((l) => l.name).sort(), ['bn1', 'bn2', 'conv1', 'conv2', 'conv3', 'fc1']);

  const executed = await executedNodes(proto);
  // Each Conv and the Gemm run as one kernel of their own op; onnxruntime named the fused ones after a tensor of the
  // chain they fused (e.g. relu1_nchwc), never after the Conv node itself.
  for (const [name, op] of [['conv1', 'Conv'], ['conv2', 'Conv'], ['conv3', 'Conv'], ['fc1', 'Gemm']]) {
    const l = layer(p, name);
    assert.equal(l.op, op);
    assert.equal(l.kernels.length, 1, `${name}: ${l.kernels}`);
    assert.equal(executed.get(l.kernels[0])?.opType, op, `${name}'s kernel ${l.kernels[0]}`);
    assert.equal(l.fusedInto, undefined);
  }
  assert.match(layer(p, 'conv1').kernels[0], /relu1|conv1/);
  assert.match(layer(p, 'conv2').kernels[0], /relu2|bn1|conv2/);
  assert.match(layer(p, 'conv3').kernels[0], /relu3|bn2|conv3|add1/);
  // The BatchNormalizations were folded into their Convs: no kernel of their own, no time, and said so.
  for (const [bn, conv] of [['bn1', 'conv2'], ['bn2', 'conv3']]) {
    assert.deepEqual(layer(p, bn).kernels, []);
    assert.equal(layer(p, bn).ms, 0);
    assert.equal(layer(p, bn).fusedInto, conv);
  }
  // Nothing that onnxruntime runs as a Conv or Gemm lands in `other`: only layout reorders, pooling and Flatten do.
  const others = [...executed.values()].filter((n) => n.opType !== 'Conv' && n.opType !== 'Gemm');
  assert.ok(others.every((n) => /^(Reorder(Input|Output)|GlobalAveragePool|Flatten)$/.test(n.opType)), others.map((n) => n.opType).join());
  assert.equal(p.other.kernels, others.length);
  assert.equal(new Set(p.layers.flatMap((l) => l.kernels)).size + p.other.kernels, executed.size, 'every kernel counted once');
});

test('profiler attribution without node names: the profiler calls unnamed nodes <op>_<index>, the saved graph leaves them unnamed', async () => {
  const dir = tempDir();
  const proto = fusedNet();
  for (const n of proto.graph!.node) n.name = '';
  const p = await profileLayers(write(dir, 'unnamed.onnx', proto), { runs: 2, warmup: 1 });
  assertConsistent(p, 2);
  // Labels as inspect gives them to unnamed nodes: op and first output.
  assert.deepEqual(p.layers.map((l) => l.name).sort(), ['BatchNormalization:bn1', 'BatchNormalization:bn2', 'Conv:conv1', 'Conv:conv2', 'Conv:conv3', 'Gemm:fc1']);
  for (const name of ['Conv:conv1', 'Conv:conv2', 'Conv:conv3', 'Gemm:fc1']) assert.equal(layer(p, name).kernels.length, 1, `${name}: ${layer(p, name).kernels}`);
  assert.match(layer(p, 'Gemm:fc1').kernels[0], /^Gemm_\d+$/);
  assert.equal(layer(p, 'BatchNormalization:bn2').fusedInto, 'Conv:conv3');
  const executed = (await optimizeModel(proto, 'all')).graph!.node;
  assert.equal(p.other.kernels, executed.filter((n) => n.opType !== 'Conv' && n.opType !== 'Gemm').length);
});

test('profiler attribution on a QDQ int8 model: QLinearConv and QGemm kernels land on the original layers', async () => {
  const dir = tempDir();
  const random = seededRandom(3);
  const calib = arraySource(Float32Array.from({ length: 16 * 3 * 16 * 16 }, () => 2 * random() - 1), [3, 16, 16]);
  const proto = await quantizeStatic(fusedNet(), calib, { perChannel: true, activationType: 'uint8' });
  const file = write(dir, 'int8.onnx', proto);
  const p = await profileLayers(file, { runs: 3, warmup: 1 });
  assertConsistent(p, 3);
  const executed = await executedNodes(proto);
  const convs = [...executed.values()].filter((n) => n.opType === 'QLinearConv');
  assert.equal(convs.length, 3, 'the quantizer folded the BatchNormalizations: three QLinearConvs');
  // The quantized model's layers are its Convs (weights through DequantizeLinear) and its Gemm.
  const convLayers = p.layers.filter((l) => l.op === 'Conv');
  assert.equal(convLayers.length, 3);
  for (const l of convLayers) {
    assert.ok(l.kernels.length >= 1, `${l.name} has no kernel`);
    assert.ok(l.kernels.some((k) => executed.get(k)?.opType === 'QLinearConv'), `${l.name}: ${l.kernels.map((k) => `${k} (${executed.get(k)?.opType})`)}`);
  }
  assert.deepEqual(convLayers.flatMap((l) => l.kernels.filter((k) => executed.get(k)?.opType === 'QLinearConv')).sort(), convs.map((n) => n.name).sort(), 'each QLinearConv on one layer');
  const gemm = p.layers.find((l) => l.op === 'Gemm');
  assert.ok(gemm && gemm.kernels.some((k) => /Gemm/.test(executed.get(k)?.opType ?? '')), `Gemm: ${gemm?.kernels}`);
  // What is left: quantizing the input, layout transposes, the residual QLinearAdd, pooling, Flatten.
  const others = [...executed.values()].filter((n) => n.opType !== 'QLinearConv' && !/Gemm/.test(n.opType));
  assert.ok(others.every((n) => /^(QuantizeLinear|Transpose|QLinearAdd|QLinearGlobalAveragePool|Flatten)$/.test(n.opType)), others.map((n) => n.opType).join());
  assert.equal(p.other.kernels, others.length);
});

test('profileLayers: a symbolic dim other than the batch needs a shape; a given shape is used', async () => {
  const dir = tempDir();
  const b = new NetBuilder(2, false);
  const logits = b.head(b.relu(b.conv('x', 3, 8, 3)), 8, 4);
  const file = write(dir, 'sym.onnx', b.model('x', ['N', 3, 'H', 'W'], logits, ['N', 4], 'sym'));
  await assert.rejects(profileLayers(file, { runs: 1 }), /input 'x' has symbolic dims \[N, 3, H, W\]: give its shape \(--shape x=1,3,H,W\)/);
  await assert.rejects(profileLayers(file, { runs: 1, inputShapes: { y: [1, 3, 8, 8] } }), /no model input is named 'y' \(inputs: x\)/);
  const p = await profileLayers(file, { runs: 2, warmup: 0, inputShapes: { x: [1, 3, 12, 12] } });
  assertConsistent(p, 2);
  assert.deepEqual(p.layers.map((l) => l.name).sort(), ['conv1', 'fc1']);
  assert.ok(p.layers.every((l) => l.kernels.length === 1));
  assert.deepEqual(fs.readdirSync(dir), ['sym.onnx'], 'nothing left next to the model');
});

test('profiler attribution on a float16 model: the Conv onnxruntime runs in float32 between inserted Casts lands on its layer', async () => {
  const dir = tempDir();
  const w = makeTensor('w', DataType.FLOAT16, [8, 3, 3, 3], new Uint16Array(8 * 27).fill(0x3c00)); // 1.0
  const proto = model(graph({
    nodes: [node('Conv', ['x', 'w'], ['y'], { kernel_shape: [3, 3] }, 'conv1'), node('Relu', ['y'], ['z'], {}, 'relu1')],
    inputs: [valueInfo('x', DataType.FLOAT16, ['N', 3, 16, 16])], outputs: [valueInfo('z', DataType.FLOAT16, ['N', 8, 14, 14])], initializers: [w],
  }), { opset: 13 });
  const p = await profileLayers(write(dir, 'fp16.onnx', proto), { runs: 2, warmup: 1 });
  assertConsistent(p, 2);
  const executed = await executedNodes(proto);
  const casts = [...executed.values()].filter((n) => n.opType === 'Cast');
  assert.equal(casts.length, 2, 'onnxruntime casts the input to float32 and the output back');
  assert.deepEqual(p.layers.map((l) => [l.name, l.kernels.map((k) => executed.get(k)?.opType)]), [['conv1', ['Conv']]]);
  assert.ok(p.other.ops.every((o) => o.op === 'Cast' || /^Reorder/.test(o.op)), JSON.stringify(p.other.ops));
});
