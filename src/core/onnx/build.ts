// Small constructors for ONNX protobuf messages: nodes, attributes, value infos, graphs and models.
import {
  AttributeProtoSchema, AttributeProto_AttributeType as AT, create, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema,
  OperatorSetIdProtoSchema, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema,
  TypeProto_TensorSchema, ValueInfoProtoSchema,
  type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from './proto';

export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto | { floats: number[] } | { float: number };

/** An attribute; integers become INT/INTS, use `{ float }` / `{ floats }` for FLOAT/FLOATS. */
export function attr(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'number') return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(value) });
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(value) as Uint8Array<ArrayBuffer> });
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'number')) return create(AttributeProtoSchema, { name, type: AT.INTS, ints: (value as number[]).map((v) => BigInt(v)) });
    return create(AttributeProtoSchema, { name, type: AT.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>) });
  }
  if ('float' in value) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value.float });
  if ('floats' in value) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: value.floats });
  if (value.$typeName === 'onnx.TensorProto') return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: value });
  return create(AttributeProtoSchema, { name, type: AT.GRAPH, g: value as GraphProto });
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name = '', domain = ''): NodeProto {
  return create(NodeProtoSchema, {
    opType, input: inputs, output: outputs, name, domain,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  });
}

/** A tensor value info; a string dimension is symbolic (dim_param), -1 or undefined is unknown. */
export function valueInfo(name: string, elemType: number, shape?: readonly (number | string | undefined)[]): ValueInfoProto {
  const dims = shape?.map((d) => create(TensorShapeProto_DimensionSchema, {
    value: typeof d === 'string' ? { case: 'dimParam', value: d } : d === undefined || d < 0 ? { case: undefined } : { case: 'dimValue', value: BigInt(d) },
  }));
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape: dims ? create(TensorShapeProtoSchema, { dim: dims }) : undefined }) },
    }),
  });
}

export function graph(parts: { name?: string; nodes: NodeProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; initializers?: TensorProto[]; valueInfo?: ValueInfoProto[] }): GraphProto {
  return create(GraphProtoSchema, {
    name: parts.name ?? 'graph', node: parts.nodes, input: parts.inputs, output: parts.outputs,
    initializer: parts.initializers ?? [], valueInfo: parts.valueInfo ?? [],
  });
}

export function model(g: GraphProto, opts: { opset?: number; irVersion?: number; extraOpsets?: Record<string, number>; producer?: string } = {}): ModelProto {
  const opsets = [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opts.opset ?? 17) })];
  for (const [domain, version] of Object.entries(opts.extraOpsets ?? {})) opsets.push(create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) }));
  return create(ModelProtoSchema, {
    irVersion: BigInt(opts.irVersion ?? 8), opsetImport: opsets, producerName: opts.producer ?? 'onnx-lens', graph: g,
  });
}

/** Reads an attribute value by name (ints as numbers). */
export function getAttr(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute.find((a) => a.name === name);
}

export function attrInt(n: NodeProto, name: string, fallback: number): number {
  const a = getAttr(n, name);
  return a ? Number(a.i) : fallback;
}

export function attrInts(n: NodeProto, name: string): number[] | undefined {
  const a = getAttr(n, name);
  return a ? a.ints.map(Number) : undefined;
}

export function attrFloat(n: NodeProto, name: string, fallback: number): number {
  const a = getAttr(n, name);
  return a ? a.f : fallback;
}

export function attrString(n: NodeProto, name: string, fallback: string): string {
  const a = getAttr(n, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}
