// A hand-written recipe model for the recipe feature tests: four weighted layers (two Conv, one unnamed MatMul,
// one Gemm) and two nodes without weights, with statistics chosen by hand.
import type { LayerStats } from '../../../src/core/analysis/report';
import type { RecipeModel } from '../../../src/extension/recipe/layerMatch';

function layer(name: string, op: string, index: number, shape: number[], bias: number, zeros: number, extra: Partial<LayerStats> = {}): LayerStats {
  const weightParams = shape.reduce((a, b) => a * b, 1);
  const params = weightParams + bias;
  return {
    name, op, index, params, zeros, sparsity: zeros / params, channelSparsity: 0, twoFour: 0, bits: 32, dtype: 'float32',
    scheme: 'float', perChannel: false, macs: 0, weightBytes: params * 4,
    weights: [
      { name: `${name}.w`, shape, dtype: 'float32', role: 'weight', params: weightParams, zeros, bytes: weightParams * 4 },
      ...(bias ? [{ name: `${name}.b`, shape: [bias], dtype: 'float32', role: 'bias' as const, params: bias, zeros: 0, bytes: bias * 4 }] : []),
    ],
    ...extra,
  };
}

/** conv1 → Relu → /blk/conv2 → MatMul (unnamed) → fc */
export const CONV1 = layer('conv1', 'Conv', 0, [8, 3, 3, 3], 8, 108, { macs: 216 * 256 });
export const CONV2 = layer('/blk/conv2', 'Conv', 2, [16, 8, 3, 3], 16, 0, { macs: 1152 * 64, bits: 8, dtype: 'int8', scheme: 'qdq', perChannel: true, axis: 0 });
export const MATMUL = layer('MatMul:mm_out', 'MatMul', 3, [16, 10], 0, 40, { macs: 160 });
export const FC = layer('fc', 'Gemm', 4, [4, 10], 4, 0, { macs: 40 });

export const MODEL: RecipeModel = {
  file: '/models/net.onnx',
  layers: [CONV1, CONV2, MATMUL, FC],
  nodes: { names: ['conv1', 'relu1', '/blk/conv2', 'MatMul:mm_out', 'fc', 'Softmax:prob'], ops: ['Conv', 'Relu', 'Conv', 'MatMul', 'Gemm', 'Softmax'] },
};
