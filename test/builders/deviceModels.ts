// A float conv small enough to count by hand for the device-fit tests:
// x [1,3,8,8] → Conv(w [4,3,3,3], bias [4], no padding) → Relu → y [1,4,6,6].
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import type { ModelProto } from '../../src/core/onnx/proto';
import { makeTensor } from '../../src/core/onnx/tensor';

/** With `symbolicSize` the input's height and width are symbolic (H, W), as in models exported for any size. */
export function tinyConv(opts: { symbolicSize?: boolean } = {}): ModelProto {
  const F = DataType.FLOAT;
  const size = opts.symbolicSize ? ['H', 'W'] : [8, 8];
  return model(graph({
    name: 'tiny_conv',
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], { kernel_shape: [3, 3] }, 'conv'),
      node('Relu', ['c'], ['y'], {}, 'relu'),
    ],
    inputs: [valueInfo('x', F, [1, 3, ...size])],
    outputs: [valueInfo('y', F, [1, 4, opts.symbolicSize ? 'H2' : 6, opts.symbolicSize ? 'W2' : 6])],
    initializers: [
      makeTensor('w', F, [4, 3, 3, 3], Array.from({ length: 108 }, (_, i) => ((i % 7) - 3) / 10)),
      makeTensor('b', F, [4], [0.1, 0.2, 0.3, 0.4]),
    ],
  }), { opset: 13 });
}
