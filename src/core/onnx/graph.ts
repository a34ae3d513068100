// Graph utilities: who produces and who consumes each tensor, topological order, constant tensors
// (initializers and Constant nodes alike), and the names in use (for making fresh ones).
import { OnnxFormatError } from '../errors';
import { getAttr } from './build';
import type { GraphProto, NodeProto, TensorProto } from './proto';

export interface GraphIndex {
  graph: GraphProto;
  /** tensor name → the node that writes it */
  producer: Map<string, NodeProto>;
  /** tensor name → nodes that read it (a node appears once per input slot that reads the tensor) */
  consumers: Map<string, NodeProto[]>;
  /** tensor name → constant value: initializers, and the `value` of Constant nodes */
  constants: Map<string, TensorProto>;
  graphInputs: Set<string>;
  graphOutputs: Set<string>;
}

export function indexGraph(graph: GraphProto): GraphIndex {
  const producer = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  const constants = new Map<string, TensorProto>();
  for (const t of graph.initializer) constants.set(t.name, t);
  for (const n of graph.node) {
    for (const o of n.output) if (o) producer.set(o, n);
    for (const i of n.input) {
      if (!i) continue;
      let list = consumers.get(i);
      if (!list) consumers.set(i, (list = []));
      list.push(n);
    }
    if (n.opType === 'Constant' && n.domain === '' && n.output[0]) {
      const value = getAttr(n, 'value')?.t;
      if (value) constants.set(n.output[0], value);
    }
  }
  const initNames = new Set(graph.initializer.map((t) => t.name));
  return {
    graph, producer, consumers, constants,
    graphInputs: new Set(graph.input.map((v) => v.name).filter((n) => !initNames.has(n))),
    graphOutputs: new Set(graph.output.map((v) => v.name)),
  };
}

/** Nodes in an order where every node comes after the producers of its inputs (Kahn's algorithm). */
export function topologicalOrder(graph: GraphProto, file?: string): NodeProto[] {
  const producer = new Map<string, number>();
  graph.node.forEach((n, i) => n.output.forEach((o) => o && producer.set(o, i)));
  const indegree = new Array<number>(graph.node.length).fill(0);
  const users: number[][] = graph.node.map(() => []);
  graph.node.forEach((n, i) => {
    for (const inp of new Set(n.input)) {
      const p = inp ? producer.get(inp) : undefined;
      if (p !== undefined && p !== i) { indegree[i]++; users[p].push(i); }
    }
  });
  const queue: number[] = [];
  indegree.forEach((d, i) => d === 0 && queue.push(i));
  const order: NodeProto[] = [];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    order.push(graph.node[i]);
    for (const u of users[i]) if (--indegree[u] === 0) queue.push(u);
  }
  if (order.length !== graph.node.length) throw new OnnxFormatError(file, 'the graph has a cycle');
  return order;
}

/** Every tensor and node name used in the graph (for generating unique new names). */
export function usedNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const n of graph.node) { names.add(n.name); n.input.forEach((i) => names.add(i)); n.output.forEach((o) => names.add(o)); }
  for (const t of graph.initializer) names.add(t.name);
  for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) names.add(v.name);
  return names;
}

/** Returns `base` or `base_1`, `base_2`, … whichever is not in `used`, and records it. */
export function freshName(used: Set<string>, base: string): string {
  let name = base;
  for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
  used.add(name);
  return name;
}

/** A stable display name for a node: its name, or op type and first output when it has none. */
export function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType}:${n.output[0] ?? ''}`;
}
