// Hand-written int8 QDQ models around one op (x → Q → DQ → op → Q → DQ → y), for ops our static quantizer leaves
// in float (Softmax, Mul) or to pin the exact activation parameters an exporter must handle.
import { graph, model, node, valueInfo, type AttrValue } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import type { ModelProto, NodeProto, TensorProto } from '../../src/core/onnx/proto';
import { makeTensor } from '../../src/core/onnx/tensor';

export interface Int8Params { scale: number; zeroPoint: number }

/** Accumulates a QDQ graph: `quantized(name, params)` adds Q → DQ after a float tensor and returns the DQ output. */
export class QdqBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];

  quantized(name: string, p: Int8Params): string {
    this.initializers.push(makeTensor(`${name}.scale`, DataType.FLOAT, [], [p.scale]), makeTensor(`${name}.zp`, DataType.INT8, [], [p.zeroPoint]));
    this.nodes.push(
      node('QuantizeLinear', [name, `${name}.scale`, `${name}.zp`], [`${name}.q`]),
      node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zp`], [`${name}.dq`]),
    );
    return `${name}.dq`;
  }

  op(opType: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push(node(opType, inputs, [output], attrs, output));
    return output;
  }

  constant(name: string, value: number): string {
    this.initializers.push(makeTensor(name, DataType.FLOAT, [], [value]));
    return name;
  }

  /** The model from float input `x` to the float output `last` (its DQ), with fixed shapes. */
  model(inShape: number[], last: string, outShape: number[], opset = 13): ModelProto {
    return model(graph({
      nodes: this.nodes, initializers: this.initializers,
      inputs: [valueInfo('x', DataType.FLOAT, inShape)], outputs: [valueInfo(last, DataType.FLOAT, outShape)],
    }), { opset });
  }
}

/** x → Q/DQ → `opType` → Q/DQ with the given input and output parameters. */
export function singleOpQdq(opType: string, inShape: number[], outShape: number[], input: Int8Params, output: Int8Params, attrs: Record<string, AttrValue> = {}, opset = 13): ModelProto {
  const b = new QdqBuilder();
  const x = b.quantized('x', input);
  const y = b.quantized(b.op(opType, [x], 'y', attrs), output);
  return b.model(inShape, y, outShape, opset);
}
