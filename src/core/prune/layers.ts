// Weighted layers that pruning and reconstruction act on (Conv, Gemm, MatMul with a constant float weight,
// stored as an initializer or a Constant node), and reading/replacing those constants.
import { DataType } from '../onnx/dtypes';
import { attrFloat, attrInt, getAttr } from '../onnx/build';
import { indexGraph, nodeLabel, topologicalOrder, type GraphIndex } from '../onnx/graph';
import type { GraphProto, NodeProto, TensorProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import { makeTensor, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';

export type LayerKind = 'conv' | 'gemm' | 'matmul';

export interface WeightedLayer {
  node: NodeProto;
  name: string;
  kind: LayerKind;
  weightName: string;
  /** bias input name (Conv B, Gemm C), if any */
  biasName?: string;
  dims: number[];
  /** Conv `group` (1 for Gemm/MatMul) */
  group: number;
  /** Conv with one input channel per group (depthwise or channel-multiplier conv) */
  depthwise: boolean;
  /** Gemm with transB = 1: weight stored as [out, in] */
  transB: boolean;
  /** reads a graph input directly */
  first: boolean;
  /** its output reaches a graph output without passing another weighted layer (the classifier) */
  head: boolean;
}

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE]);

const KIND: Record<string, LayerKind> = { Conv: 'conv', Gemm: 'gemm', MatMul: 'matmul' };

/** The weighted layers of the main graph, in topological order. */
export function weightedLayers(graph: GraphProto, index: GraphIndex = indexGraph(graph)): WeightedLayer[] {
  const layers: WeightedLayer[] = [];
  for (const n of topologicalOrder(graph)) {
    const kind = n.domain === '' ? KIND[n.opType] : undefined;
    if (!kind) continue;
    const weightName = n.input[1];
    const w = weightName ? index.constants.get(weightName) : undefined;
    if (!w || !FLOAT_TYPES.has(w.dataType)) continue;
    const dims = tensorDims(w);
    if (kind === 'conv' ? dims.length < 3 : dims.length !== 2) continue;
    if (kind === 'gemm' && attrInt(n, 'transA', 0) !== 0) continue;
    const group = kind === 'conv' ? attrInt(n, 'group', 1) : 1;
    const biasName = kind !== 'matmul' && n.input[2] && index.constants.has(n.input[2]) ? n.input[2] : undefined;
    layers.push({
      node: n, name: nodeLabel(n), kind, weightName, biasName, dims, group,
      depthwise: kind === 'conv' && group > 1 && dims[1] === 1,
      transB: kind === 'gemm' && attrInt(n, 'transB', 0) === 1,
      first: index.graphInputs.has(n.input[0]),
      head: false,
    });
  }
  markHeads(layers, index);
  return layers;
}

function markHeads(layers: WeightedLayer[], index: GraphIndex): void {
  const weighted = new Set(layers.map((l) => l.node));
  for (const layer of layers) {
    const seen = new Set<string>();
    const stack = [...layer.node.output];
    while (stack.length > 0 && !layer.head) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      if (index.graphOutputs.has(t)) layer.head = true;
      for (const c of index.consumers.get(t) ?? []) if (!weighted.has(c)) stack.push(...c.output);
    }
  }
}

/** Output channels (Conv Cout, Gemm/MatMul N) and fan-in per output channel of the layer's weight. */
export function weightLayout(layer: WeightedLayer): { outChannels: number; fanIn: number } {
  const d = layer.dims;
  if (layer.kind === 'conv') return { outChannels: d[0], fanIn: numel(d.slice(1)) };
  if (layer.kind === 'gemm' && layer.transB) return { outChannels: d[0], fanIn: d[1] };
  return { outChannels: d[1], fanIn: d[0] };
}

/** Index of weight element (out channel o, fan-in position f) in the stored tensor. */
export function weightOffset(layer: WeightedLayer, o: number, f: number): number {
  const { outChannels, fanIn } = weightLayout(layer);
  return layer.kind === 'conv' || layer.transB ? o * fanIn + f : f * outChannels + o;
}

/** A writable Float32 copy of a constant's values. */
export function readConstant(index: GraphIndex, name: string, src: TensorSource): Float32Array {
  const t = index.constants.get(name);
  if (!t) throw new Error(`'${name}' is not a constant`);
  return Float32Array.from(tensorValues(t, src));
}

/**
 * Replaces the constant `name` (initializer or Constant-node value) with new values and dims, keeping its
 * element type; updates `index.constants`.
 */
export function writeConstant(index: GraphIndex, name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const old = index.constants.get(name);
  if (!old) throw new Error(`'${name}' is not a constant`);
  const t = makeTensor(name, old.dataType, dims, values);
  const graph = index.graph;
  const at = graph.initializer.findIndex((i) => i.name === name);
  if (at >= 0) graph.initializer[at] = t;
  else {
    const value = getAttr(index.producer.get(name)!, 'value')!;
    t.name = old.name;
    value.t = t;
  }
  index.constants.set(name, t);
  return t;
}

/**
 * γ/√(σ²+ε) per channel of a BatchNormalization that directly consumes `tensor` (its only consumer), if any:
 * folded into the layer, it multiplies output channel c's weights by this factor.
 */
export function batchNormScale(tensor: string, index: GraphIndex, src: TensorSource): Float64Array | undefined {
  const consumers = index.consumers.get(tensor) ?? [];
  const bn = consumers.length === 1 && consumers[0].opType === 'BatchNormalization' ? consumers[0] : undefined;
  const scale = bn && index.constants.get(bn.input[1]);
  const variance = bn && index.constants.get(bn.input[4]);
  if (!bn || !scale || !variance) return undefined;
  const eps = attrFloat(bn, 'epsilon', 1e-5);
  const g = tensorValues(scale, src), v = tensorValues(variance, src);
  return Float64Array.from(g, (x, i) => x / Math.sqrt(v[i] + eps));
}
