// Which nodes the TFLite exporter (export.ts) has no conversion for, by op type: what the editor marks on the layers
// and what Export for Microcontroller warns about before it starts. The exporter stays the judge of the finer rules
// (shapes, attributes, quantization parameters); this only answers "is there a converter for this op at all".
import type { NodeProto } from '../onnx/proto';

/**
 * ONNX op types (default domain) with a converter in export.ts. MUST match its CONVERTERS table:
 * test/core/tflite/support.test.ts runs exportTflite on a one-op model per entry and fails when they drift.
 */
export const EXPORTABLE_OPS: ReadonlySet<string> = new Set([
  'Conv', 'Gemm', 'Add', 'Mul', 'AveragePool', 'GlobalAveragePool', 'MaxPool', 'Softmax', 'Concat',
  'HardSwish', 'HardSigmoid', 'Flatten', 'Reshape',
]);

/**
 * Op types the exporter takes only in a context: Q/DQ pairs become the int8 tensors, Relu/Clip are fused into the op
 * before them as its activation, Div ends a written-out hard-swish (Add → Clip → Mul → Div). Not marked here.
 */
export const CONTEXTUAL_OPS: ReadonlySet<string> = new Set(['QuantizeLinear', 'DequantizeLinear', 'Relu', 'Clip', 'Div']);

const isDefaultDomain = (domain: string) => domain === '' || domain === 'ai.onnx';

/** Whether the exporter has a conversion for `node`'s op (or takes it in a context, see CONTEXTUAL_OPS). */
export function isExportableOp(node: Pick<NodeProto, 'opType' | 'domain'>): boolean {
  return isDefaultDomain(node.domain) && (EXPORTABLE_OPS.has(node.opType) || CONTEXTUAL_OPS.has(node.opType));
}

/** The nodes the exporter would refuse for their op type, in graph order, with their op (custom domains prefixed). */
export function unexportableNodes(nodes: readonly Pick<NodeProto, 'opType' | 'domain' | 'name' | 'output'>[]): { index: number; op: string }[] {
  const out: { index: number; op: string }[] = [];
  nodes.forEach((n, index) => {
    if (!isExportableOp(n)) out.push({ index, op: isDefaultDomain(n.domain) ? n.opType : `${n.domain}.${n.opType}` });
  });
  return out;
}
