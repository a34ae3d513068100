// Peak activation memory by liveness analysis over a topological schedule (as in memory planners such as
// ORT's and TVM's): a tensor is live from the node that writes it until its last reader has run; graph inputs
// are live from the start and graph outputs until the end. Constants (weights) are not activations.
import { rawByteLength } from '../onnx/dtypes';
import { topologicalOrder, type GraphIndex } from '../onnx/graph';
import type { NodeProto } from '../onnx/proto';
import { isKnown, numel, type ShapeInfo } from '../onnx/shapes';

export interface ActivationMemory {
  /** largest sum of live activation bytes while any node runs (its inputs and outputs both live) */
  peakBytes: number;
  /** the node running at the peak */
  peakNode?: NodeProto;
  /** activation tensors whose size is unknown (not counted) */
  unknown: number;
}

/** The graph's own node order when it is topological (ONNX requires it), else a computed one. */
export function schedule(g: GraphIndex, file?: string): NodeProto[] {
  const done = new Set<string>([...g.graphInputs, ...g.constants.keys()]);
  for (const n of g.graph.node) {
    if (n.input.some((i) => i && !done.has(i) && g.producer.has(i))) return topologicalOrder(g.graph, file);
    n.output.forEach((o) => o && done.add(o));
  }
  return g.graph.node;
}

export function activationMemory(order: readonly NodeProto[], g: GraphIndex, shapes: ShapeInfo): ActivationMemory {
  const sizeOf = (name: string): number | undefined => {
    const t = shapes.types.get(name);
    return t && isKnown(t.shape) ? rawByteLength(t.dtype, numel(t.shape)) : undefined;
  };
  const lastUse = new Map<string, number>();
  order.forEach((n, step) => n.input.forEach((i) => i && lastUse.set(i, step)));
  for (const o of g.graphOutputs) lastUse.set(o, order.length);

  const live = new Map<string, number>();
  let unknown = 0;
  const allocate = (name: string) => {
    if (live.has(name) || g.constants.has(name)) return;
    const size = sizeOf(name);
    if (size === undefined) unknown++;
    live.set(name, size ?? 0);
  };
  for (const i of g.graphInputs) allocate(i);

  let current = [...live.values()].reduce((a, b) => a + b, 0);
  let peakBytes = current;
  let peakNode: NodeProto | undefined;
  order.forEach((n, step) => {
    if (n.opType === 'Constant') return;
    for (const o of n.output) {
      if (!o || live.has(o) || g.constants.has(o)) continue;
      allocate(o);
      current += live.get(o)!;
    }
    if (current > peakBytes) { peakBytes = current; peakNode = n; }
    for (const name of new Set([...n.input, ...n.output])) {
      const size = live.get(name);
      if (size !== undefined && (lastUse.get(name) ?? -1) <= step) {
        current -= size;
        live.delete(name);
      }
    }
  });
  return { peakBytes, peakNode, unknown };
}
