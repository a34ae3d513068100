// Which layers of a recipe's model a selector picks, by the same rules the CLI applies (core/select.ts),
// run on the analysis the editor already has (node labels and op types) instead of the parsed model.
import type { LayerStats } from '../../core/analysis/report';
import type { NodeProto } from '../../core/onnx/proto';
import { selectLayers } from '../../core/select';

/** What the recipe features know about a model: its weighted layers and every node's label and op. */
export interface RecipeModel {
  /** the model file the recipe names */
  file: string;
  layers: readonly LayerStats[];
  /** label (node name or `op:firstOutput`) and op type of every node but Constants, in graph order */
  nodes: { names: readonly string[]; ops: readonly string[] };
}

export interface SelectorMatch {
  /** the weighted layers the selector picks, in graph order */
  layers: LayerStats[];
  /** nodes of any kind it picks (a selector that names a Relu matches a node, but no layer) */
  nodes: number;
}

/** nodeLabel(n) is n.name when it is non-empty: nodes named by their label reproduce it exactly. */
const asNode = (label: string, op: string) => ({ name: label, opType: op, output: [] as string[] }) as unknown as NodeProto;

const nodeCache = new WeakMap<RecipeModel, NodeProto[]>();

function nodesOf(model: RecipeModel): NodeProto[] {
  let nodes = nodeCache.get(model);
  if (!nodes) {
    nodes = model.nodes.names.map((n, i) => asNode(n, model.nodes.ops[i]));
    nodeCache.set(model, nodes);
  }
  return nodes;
}

export function matchSelector(selector: string, model: RecipeModel): SelectorMatch {
  const nodes = nodesOf(model);
  const pick = <T extends NodeProto>(candidates: readonly T[]): T[] => {
    try {
      return selectLayers(candidates, { layers: [selector] }, nodes);
    } catch {
      // selectLayers refuses a selector that matches no node at all
      return [];
    }
  };
  const layerNodes = model.layers.map((l) => Object.assign(asNode(l.name, l.op), { layer: l }));
  return { layers: pick(layerNodes).map((n) => n.layer), nodes: pick(nodes).length };
}

/** The op types of the model's weighted layers with how many layers each has, most common first. */
export function layerOps(model: RecipeModel): { op: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const l of model.layers) counts.set(l.op, (counts.get(l.op) ?? 0) + 1);
  return [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
}
