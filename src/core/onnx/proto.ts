// The ONNX protobuf schema (onnx-buf, ONNX 1.20) and @bufbuild/protobuf helpers, re-exported in one place.
export { create, fromBinary, toBinary, clone } from '@bufbuild/protobuf';
export {
  AttributeProtoSchema, AttributeProto_AttributeType, GraphProtoSchema, ModelProtoSchema, NodeProtoSchema,
  OperatorSetIdProtoSchema, StringStringEntryProtoSchema, TensorProtoSchema, TensorProto_DataType,
  TensorProto_DataLocation, TensorShapeProtoSchema, TensorShapeProto_DimensionSchema, TypeProtoSchema,
  TypeProto_TensorSchema, ValueInfoProtoSchema,
} from 'onnx-buf';
export type {
  AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
  TypeProto, ValueInfoProto,
} from 'onnx-buf';
