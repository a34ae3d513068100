// Which nodes the TFLite exporter (export.ts) has no conversion for, by op type: what the editor marks on the layers
// and what Export for Microcontroller warns about before it starts. The exporter stays the judge of the finer rules
// (shapes, attributes, quantization parameters); this only answers "is there a converter for this op at all".
import type { NodeProto } from '../onnx/proto';

/**
 * ONNX op types (default domain) with a converter in export.ts. MUST match its CONVERTERS table:
 * test/core/tflite/support.test.ts runs exportTflite on a one-op model per entry and fails when they drift.
 */
export const EXPORTABLE_OPS: ReadonlySet<string> = new Set([
  'Conv', 'Gemm', 'MatMul', 'Add', 'Mul', 'Sigmoid', 'AveragePool', 'GlobalAveragePool', 'MaxPool', 'Softmax', 'Concat',
  'HardSwish', 'HardSigmoid', 'Flatten', 'Reshape', 'Pad',
]);

/**
 * Op types the exporter takes only in a context: Q/DQ pairs become the int8 tensors, Relu/Clip are fused into the op
 * before them as its activation (or, between quantized tensors, become MAXIMUM/MINIMUM), Div ends a written-out hard-swish (Add → Clip → Mul → Div). Not marked here.
 */
export const CONTEXTUAL_OPS: ReadonlySet<string> = new Set(['QuantizeLinear', 'DequantizeLinear', 'Relu', 'Clip', 'Div']);

/**
 * Op types gone before the conversion when `onnx-lens export --calib` quantizes a float model: onnxruntime's basic
 * optimizer (onnx/optimize.ts) fuses BatchNormalization into the Conv before it and drops Identity and Dropout.
 */
export const PREPROCESSED_OPS: ReadonlySet<string> = new Set(['BatchNormalization', 'Identity', 'Dropout']);

const isDefaultDomain = (domain: string) => domain === '' || domain === 'ai.onnx';

/** Whether the export has a conversion for `node`'s op, takes it in a context, or removes it beforehand. */
export function isExportableOp(node: Pick<NodeProto, 'opType' | 'domain'>): boolean {
  return isDefaultDomain(node.domain) && (EXPORTABLE_OPS.has(node.opType) || CONTEXTUAL_OPS.has(node.opType) || PREPROCESSED_OPS.has(node.opType));
}

type GraphNodes = { node: readonly Pick<NodeProto, 'opType' | 'domain' | 'input' | 'output'>[]; initializer?: readonly { name: string }[] };

/**
 * The nodes the exporter would refuse for their op type, in graph order, with their op (custom domains prefixed).
 * Nodes that compute constants are left out: Constant, Shape (input shapes are fixed for the export) and every node
 * whose inputs are all constants — the shape subgraphs (Shape → Gather → Concat → Reshape) that fixShapes.ts folds.
 */
export function unexportableNodes(graph: GraphNodes): { index: number; op: string }[] {
  const constant = new Set((graph.initializer ?? []).map((t) => t.name));
  const folded = (n: GraphNodes['node'][number]) => isDefaultDomain(n.domain) &&
    (n.opType === 'Constant' || n.opType === 'Shape' || (n.input.some(Boolean) && n.input.every((i) => !i || constant.has(i))));
  // Graph order is topological in valid ONNX models, so one pass sees every producer before its consumers.
  for (const n of graph.node) if (folded(n)) for (const o of n.output) constant.add(o);
  const out: { index: number; op: string }[] = [];
  graph.node.forEach((n, index) => {
    if (!folded(n) && !isExportableOp(n)) out.push({ index, op: isDefaultDomain(n.domain) ? n.opType : `${n.domain}.${n.opType}` });
  });
  return out;
}
