// Fixture models for the editor tests: a small conv net, and a compressed copy of it (half of conv1's weights
// zeroed, conv2's weights stored as int8 behind a DequantizeLinear) whose sparsity and bits are known by hand.
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import { makeTensor } from '../../src/core/onnx/tensor';
import { encodeModel } from '../../src/core/onnx/write';

/** Deterministic non-zero values in ±[0.05, 1.05). */
function weights(count: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: count }, (_, i) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (0.05 + s / 2147483648) * (i % 2 === 0 ? 1 : -1);
  });
}

/** Hand-computed facts about the fixture, in the terms of `inspect --json` (params count weights + biases). */
export const SMALL_NET = {
  conv1: { name: 'conv1', op: 'Conv', weightParams: 8 * 3 * 3 * 3, biasParams: 8 },
  conv2: { name: 'conv2', op: 'Conv', weightParams: 16 * 8 * 3 * 3, biasParams: 16 },
  fc: { name: 'fc', op: 'Gemm', weightParams: 4 * 16, biasParams: 4 },
  /** conv1 weights set to zero in the compressed copy: every even position */
  conv1Zeroed: (8 * 3 * 3 * 3) / 2,
  conv2Bits: 8,
} as const;

export interface SmallNetOptions {
  /** zero every other weight of conv1 */
  pruneConv1?: boolean;
  /** store conv2's weights as int8 (per-tensor scale, zero-point 0) behind DequantizeLinear */
  quantizeConv2?: boolean;
  /** declare the input as x[1,3,H,W] (symbolic height and width, as PaddleOCR's models do) */
  symbolicInput?: boolean;
}

/** x[1,3,16,16] → conv1 → Relu → conv2 → Relu → GlobalAveragePool → Flatten → fc → y[1,4] */
export function smallNet(opts: SmallNetOptions = {}): Uint8Array {
  const w1 = weights(SMALL_NET.conv1.weightParams, 1);
  if (opts.pruneConv1) for (let i = 0; i < w1.length; i += 2) w1[i] = 0;
  const initializers = [
    makeTensor('conv1.w', DataType.FLOAT, [8, 3, 3, 3], w1),
    makeTensor('conv1.b', DataType.FLOAT, [8], weights(8, 2)),
    makeTensor('conv2.b', DataType.FLOAT, [16], weights(16, 4)),
    makeTensor('fc.w', DataType.FLOAT, [4, 16], weights(64, 5)),
    makeTensor('fc.b', DataType.FLOAT, [4], weights(4, 6)),
  ];
  const nodes = [node('Conv', ['x', 'conv1.w', 'conv1.b'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1'), node('Relu', ['c1'], ['r1'], {}, 'relu1')];
  const w2 = weights(SMALL_NET.conv2.weightParams, 3);
  if (opts.quantizeConv2) {
    // int8 codes 1..100 with alternating sign: none equals the zero-point, so the layer stays dense.
    const codes = w2.map((_, i) => (1 + (i % 100)) * (i % 2 === 0 ? 1 : -1));
    initializers.push(
      makeTensor('conv2.w_q', DataType.INT8, [16, 8, 3, 3], codes),
      makeTensor('conv2.w_scale', DataType.FLOAT, [], [0.01]),
      makeTensor('conv2.w_zero', DataType.INT8, [], [0]),
    );
    nodes.push(node('DequantizeLinear', ['conv2.w_q', 'conv2.w_scale', 'conv2.w_zero'], ['conv2.w'], {}, 'conv2.w_dq'));
  } else {
    initializers.push(makeTensor('conv2.w', DataType.FLOAT, [16, 8, 3, 3], w2));
  }
  nodes.push(
    node('Conv', ['r1', 'conv2.w', 'conv2.b'], ['c2'], { pads: [1, 1, 1, 1] }, 'conv2'),
    node('Relu', ['c2'], ['r2'], {}, 'relu2'),
    node('GlobalAveragePool', ['r2'], ['p'], {}, 'pool'),
    node('Flatten', ['p'], ['f'], {}, 'flatten'),
    node('Gemm', ['f', 'fc.w', 'fc.b'], ['y'], { transB: 1 }, 'fc'),
  );
  const g = graph({
    name: 'small_net', nodes, initializers,
    inputs: [valueInfo('x', DataType.FLOAT, opts.symbolicInput ? [1, 3, 'H', 'W'] : [1, 3, 16, 16])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
  });
  return encodeModel(model(g, { opset: 17 }));
}

/** x[1,4,4,4] → (`convs` × 1×1 Conv on 4 channels named conv0, conv1, … each followed by a Relu) → y */
export function convChain(convs: number): Uint8Array {
  const nodes = [];
  const initializers = [];
  let x = 'x';
  for (let i = 0; i < convs; i++) {
    initializers.push(makeTensor(`conv${i}.w`, DataType.FLOAT, [4, 4, 1, 1], weights(16, i + 10)));
    const out = i === convs - 1 ? 'y' : `r${i}`;
    nodes.push(node('Conv', [x, `conv${i}.w`], [`c${i}`], {}, `conv${i}`), node('Relu', [`c${i}`], [out], {}, `relu${i}`));
    x = out;
  }
  const g = graph({
    name: 'conv_chain', nodes, initializers,
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4, 4, 4])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 4, 4, 4])],
  });
  return encodeModel(model(g, { opset: 17 }));
}
