// Tiny models that turn one constant tensor of any element type into float32 outputs onnxruntime can
// hand back to JavaScript: Cast (every type ORT's CPU provider casts) and DequantizeLinear (int4/float8).
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import { tensorDims } from '../../src/core/onnx/tensor';
import type { ModelProto, TensorProto } from '../../src/core/onnx/proto';

/** Opset 21 is the first whose Cast and DequantizeLinear accept int4/uint4 and the float8 types. */
export const DTYPE_OPSET = 21;

/** y = Cast(w, to=float32), w an initializer; no graph inputs. */
export function castToFloatModel(w: TensorProto): ModelProto {
  return model(graph({
    name: 'cast_to_float',
    nodes: [node('Cast', [w.name], ['y'], { to: DataType.FLOAT })],
    inputs: [],
    outputs: [valueInfo('y', DataType.FLOAT, tensorDims(w))],
    initializers: [w],
  }), { opset: DTYPE_OPSET, irVersion: 10 });
}

/** y = DequantizeLinear(w, scale[, zeroPoint]) = (w - zeroPoint) * scale, per tensor. */
export function dequantizeModel(w: TensorProto, scale: TensorProto, zeroPoint?: TensorProto): ModelProto {
  const inits = zeroPoint ? [w, scale, zeroPoint] : [w, scale];
  return model(graph({
    name: 'dequantize',
    nodes: [node('DequantizeLinear', inits.map((t) => t.name), ['y'])],
    inputs: [],
    outputs: [valueInfo('y', DataType.FLOAT, tensorDims(w))],
    initializers: inits,
  }), { opset: DTYPE_OPSET, irVersion: 10 });
}

/** y = x + w for a float32 input x of w's shape — a model with a real input, for external-data round trips. */
export function addWeightModel(w: TensorProto, extra: TensorProto[] = []): ModelProto {
  const dims = tensorDims(w);
  const nodes = [node('Add', ['x', w.name], ['y'])];
  let last = 'y';
  extra.forEach((t, i) => {
    nodes.push(node('Add', [last, t.name], [`y${i}`]));
    last = `y${i}`;
  });
  return model(graph({
    name: 'add_weight',
    nodes,
    inputs: [valueInfo('x', DataType.FLOAT, dims)],
    outputs: [valueInfo(last, DataType.FLOAT, dims)],
    initializers: [w, ...extra],
  }), { opset: 17, irVersion: 8 });
}
