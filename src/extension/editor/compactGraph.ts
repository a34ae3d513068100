// The graph view's input: the top-level graph reduced to names, ops, layer links and producer → consumer
// edges. Constant nodes are weights, not computation, so they are left out of the picture.
import { nodeLabel } from '../../core/onnx/graph';
import type { GraphProto } from '../../core/onnx/proto';
import type { LayerStats } from '../../core/analysis/report';
import type { CompactGraph } from '../../protocol';

export function compactGraph(graph: GraphProto, layers: readonly LayerStats[]): CompactGraph {
  const layerOfNode = new Map<number, number>();
  layers.forEach((l, i) => layerOfNode.set(l.index, i));
  const out: CompactGraph = { names: [], ops: [], layer: [], edges: [] };
  const idOfNode = new Map<number, number>();
  graph.node.forEach((n, i) => {
    if (n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) return;
    idOfNode.set(i, out.names.length);
    out.names.push(nodeLabel(n));
    out.ops.push(n.opType);
    out.layer.push(layerOfNode.get(i) ?? -1);
  });
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => {
    const id = idOfNode.get(i);
    if (id !== undefined) for (const o of n.output) if (o) producer.set(o, id);
  });
  graph.node.forEach((n, i) => {
    const to = idOfNode.get(i);
    if (to === undefined) return;
    const seen = new Set<number>();
    for (const input of n.input) {
      const from = input ? producer.get(input) : undefined;
      if (from === undefined || from === to || seen.has(from)) continue;
      seen.add(from);
      out.edges.push(from, to);
    }
  });
  return out;
}
