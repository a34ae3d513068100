// Large models for the open+analyse benchmark: ResNet-50 (He et al. 2016; torchvision layout, batch norm folded
// into conv biases as exporters do) with random float32 weights, optionally with every width scaled up.
import { graph, model, node, valueInfo } from '../src/core/onnx/build';
import { DataType } from '../src/core/onnx/dtypes';
import { create, TensorProtoSchema, type ModelProto, type NodeProto, type TensorProto } from '../src/core/onnx/proto';

/** Random weights in [-0.05, 0.05) from xorshift32; about 1 in 16 exactly zero, so zero counting has work to do. */
function randomWeights(name: string, dims: number[], state: { s: number }): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  let s = state.s;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    values[i] = (s & 15) === 0 ? 0 : ((s >>> 0) / 2 ** 32 - 0.5) / 10;
  }
  state.s = s;
  return create(TensorProtoSchema, { name, dataType: DataType.FLOAT, dims: dims.map(BigInt), rawData: new Uint8Array(values.buffer) });
}

/**
 * ResNet-50 with widths multiplied by `widthScale` (1 → 25.6 M parameters, ~102 MB; 2.38 → ~550 MB).
 * Input [1, 3, 224, 224], output [1, 1000].
 */
export function resnet50(widthScale = 1, seed = 1): ModelProto {
  const state = { s: seed | 0 || 1 };
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  let count = 0;
  const fresh = (p: string) => `${p}_${count++}`;
  const width = (c: number) => Math.max(8, Math.round((c * widthScale) / 8) * 8);
  const conv = (x: string, cin: number, cout: number, k: number, stride = 1): string => {
    const id = fresh('conv');
    inits.push(randomWeights(`${id}.weight`, [cout, cin, k, k], state), randomWeights(`${id}.bias`, [cout], state));
    nodes.push(node('Conv', [x, `${id}.weight`, `${id}.bias`], [id], { kernel_shape: [k, k], strides: [stride, stride], pads: Array(4).fill((k - 1) >> 1) }, id));
    return id;
  };
  const unary = (op: string, x: string, attrs = {}): string => {
    const id = fresh(op.toLowerCase());
    nodes.push(node(op, [x], [id], attrs, id));
    return id;
  };
  const relu = (x: string) => unary('Relu', x);

  const stem = width(64);
  let x = unary('MaxPool', relu(conv('input', 3, stem, 7, 2)), { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let cin = stem;
  [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([base, blocks], stage) => {
    const mid = width(base);
    const out = width(base * 4);
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const y = conv(relu(conv(relu(conv(x, cin, mid, 1)), mid, mid, 3, stride)), mid, out, 1);
      const shortcut = b === 0 ? conv(x, cin, out, 1, stride) : x;
      const sum = fresh('add');
      nodes.push(node('Add', [y, shortcut], [sum], {}, sum));
      x = relu(sum);
      cin = out;
    }
  });
  const pooled = unary('Flatten', unary('GlobalAveragePool', x));
  inits.push(randomWeights('fc.weight', [1000, cin], state), randomWeights('fc.bias', [1000], state));
  nodes.push(node('Gemm', [pooled, 'fc.weight', 'fc.bias'], ['logits'], { transB: 1 }, 'fc'));
  return model(graph({
    name: widthScale === 1 ? 'resnet50' : `resnet50_x${widthScale}`,
    nodes,
    inputs: [valueInfo('input', DataType.FLOAT, [1, 3, 224, 224])],
    outputs: [valueInfo('logits', DataType.FLOAT, [1, 1000])],
    initializers: inits,
  }), { opset: 17 });
}
