// Channel dependency groups for structured pruning: union-find over (tensor, channel) pairs following the
// DepGraph rules (Fang et al., CVPR 2023; Torch-Pruning) — producer/consumer coupling, channel-preserving ops,
// residual Add, Concat/Split offsets, Flatten index mapping — on an ONNX graph.
import { attrInt, attrInts } from '../onnx/build';
import { indexGraph, nodeLabel, topologicalOrder, type GraphIndex } from '../onnx/graph';
import type { GraphProto, NodeProto } from '../onnx/proto';
import { inferShapes, isKnown, numel, type Dim } from '../onnx/shapes';
import { tensorDims, tensorNumel, tensorValues, type TensorSource } from '../onnx/tensor';
import { weightedLayers, type WeightedLayer } from './layers';
import { CHANNEL_FLOW } from './rules';

/** A place that must be sliced when `tensor` loses channels. */
export type Member =
  /** the layer's output channels (weight rows/columns and bias) */
  | { kind: 'producer'; layer: WeightedLayer; tensor: string }
  /** the layer's input channels (weight fan-in) */
  | { kind: 'consumer'; layer: WeightedLayer; tensor: string }
  /** a depthwise conv on `tensor`'s channels: weight rows, bias and `group` */
  | { kind: 'depthwise'; layer: WeightedLayer; tensor: string }
  /** a per-channel constant input of `node`, sliced along `axis` */
  | { kind: 'param'; node: NodeProto; input: number; axis: number; tensor: string }
  /** a Split of `tensor` along channels: the split sizes */
  | { kind: 'split'; node: NodeProto; tensor: string }
  /** a Reshape producing the flattened `tensor`: its literal feature count */
  | { kind: 'reshape'; node: NodeProto; tensor: string };

export interface ChannelGroup {
  /** coupled channel sets: every atom is a list of [tensor, channel] that are removed together */
  atoms: [string, number][][];
  tensors: string[];
  producers: WeightedLayer[];
  /** why the group cannot be pruned, if it cannot */
  blocked?: string;
}

export interface ChannelSpaces {
  groups: ChannelGroup[];
  members: Member[];
  /** channels of each tensor that has a channel space */
  channels: Map<string, number>;
  index: GraphIndex;
}

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) { this.parent = Int32Array.from({ length: n }, (_, i) => i); }
  find(a: number): number {
    while (this.parent[a] !== a) { this.parent[a] = this.parent[this.parent[a]]; a = this.parent[a]; }
    return a;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Channel groups of the main graph (channel axis 1, NCHW activations and [N, F] features). */
export function channelGroups(graph: GraphProto, src: TensorSource = {}): ChannelSpaces {
  const index = indexGraph(graph);
  const shapes = inferShapes(graph, { batch: 1, source: src }, index).types;
  const layers = new Map(weightedLayers(graph, index).map((l) => [l.node, l]));
  const weightUses = new Map<string, number>();
  for (const n of graph.node) for (const i of n.input) if (i) weightUses.set(i, (weightUses.get(i) ?? 0) + 1);

  // Channel spaces: every non-constant tensor with rank ≥ 2 and a known channel count.
  const base = new Map<string, number>();
  const channels = new Map<string, number>();
  const rank = new Map<string, number>();
  let total = 0;
  for (const [name, t] of shapes) {
    if (index.constants.has(name) || !t.shape || t.shape.length < 2 || typeof t.shape[1] !== 'number') continue;
    base.set(name, total);
    channels.set(name, t.shape[1]);
    rank.set(name, t.shape.length);
    total += t.shape[1];
  }
  const uf = new UnionFind(total);
  const blockedAtoms = new Map<number, string>();
  const members: Member[] = [];
  const id = (t: string, c: number) => base.get(t)! + c;
  const link = (a: string, ca: number, b: string, cb: number) => uf.union(id(a, ca), id(b, cb));
  const block = (t: string | undefined, reason: string) => {
    if (!t || !base.has(t)) return;
    for (let c = 0; c < channels.get(t)!; c++) if (!blockedAtoms.has(id(t, c))) blockedAtoms.set(id(t, c), reason);
  };
  const blockNode = (n: NodeProto, why: string) => {
    const reason = `${nodeLabel(n)} (${n.opType}): ${why}`;
    n.input.forEach((t) => block(t, reason));
    n.output.forEach((t) => block(t, reason));
  };
  const has = (t: string | undefined): t is string => !!t && base.has(t);
  /** Concat/Split: channel k of each slice is channel offset + k of `whole`, the slices laid end to end. */
  const linkSlices = (whole: string, slices: readonly string[]) => {
    let offset = 0;
    for (const s of slices) {
      for (let k = 0; k < channels.get(s)!; k++) link(s, k, whole, offset + k);
      offset += channels.get(s)!;
    }
  };

  for (const n of topologicalOrder(graph)) {
    if (n.opType === 'Constant') continue;
    const flow = n.domain === '' ? CHANNEL_FLOW[n.opType] : undefined;
    const [x, out] = [n.input[0], n.output[0]];
    if (!flow) { blockNode(n, 'channels cannot be traced through this op'); continue; }
    switch (flow.kind) {
      case 'preserve': {
        if (!has(x) || !has(out) || channels.get(x) !== channels.get(out)) { blockNode(n, 'unknown or changed channel count'); break; }
        if (n.opType === 'Pad' && !zeroChannelPads(n, index, src, rank.get(x)!)) { blockNode(n, 'pads the channel axis'); break; }
        const c = channels.get(x)!;
        for (let k = 0; k < c; k++) link(x, k, out, k);
        for (const i of flow.params ?? []) {
          const p = n.input[i];
          const t = p ? index.constants.get(p) : undefined;
          if (!p) continue;
          if (!t || tensorNumel(t) !== c) { blockNode(n, `input ${i} is not a per-channel constant`); break; }
          members.push({ kind: 'param', node: n, input: i, axis: tensorDims(t).findIndex((d) => d === c), tensor: x });
        }
        break;
      }
      case 'elementwise': {
        if (!has(out)) { blockNode(n, 'unknown channel count'); break; }
        const c = channels.get(out)!;
        const outRank = rank.get(out)!;
        let ok = true;
        n.input.forEach((inp, i) => {
          if (!inp || !ok) return;
          const constant = index.constants.get(inp);
          if (constant) {
            const dims = tensorDims(constant);
            const axis = 1 - (outRank - dims.length);
            if (axis < 0 || dims[axis] === 1) return;
            if (dims[axis] === c) members.push({ kind: 'param', node: n, input: i, axis, tensor: out });
            else ok = false;
          } else if (has(inp) && rank.get(inp) === outRank && channels.get(inp) === c) {
            for (let k = 0; k < c; k++) link(inp, k, out, k);
          } else if (!(has(inp) && channels.get(inp) === 1 && c !== 1)) ok = false;
        });
        if (!ok) blockNode(n, 'operands do not broadcast per channel');
        break;
      }
      case 'concat': {
        const axis = attrInt(n, 'axis', 1);
        if (!has(out) || (axis !== 1 && axis !== 1 - rank.get(out)!) || !n.input.every(has)) { blockNode(n, 'not a channel concatenation of activations'); break; }
        linkSlices(out, n.input);
        break;
      }
      case 'split': {
        const axis = attrInt(n, 'axis', 0);
        if (!has(x) || (axis !== 1 && axis !== 1 - rank.get(x)!) || !n.output.every(has)) { blockNode(n, 'not a channel split'); break; }
        linkSlices(x, n.output);
        members.push({ kind: 'split', node: n, tensor: x });
        break;
      }
      case 'flatten': {
        const inShape = shapes.get(x)?.shape;
        const outShape = shapes.get(out)?.shape;
        if (!has(x) || !has(out) || !isFlatten(n, inShape, outShape)) { blockNode(n, 'not a flatten of [N, C, …] to [N, features]'); break; }
        const c = channels.get(x)!;
        const features = channels.get(out)!;
        const spatial = features / c;
        for (let k = 0; k < c; k++) for (let j = 0; j < spatial; j++) link(x, k, out, k * spatial + j);
        if (n.opType === 'Reshape') {
          if (!index.constants.has(n.input[1])) { blockNode(n, 'the target shape is not a constant'); break; }
          members.push({ kind: 'reshape', node: n, tensor: out });
        }
        break;
      }
      case 'layer': {
        const layer = layers.get(n);
        if (!layer) { blockNode(n, 'weight is not a float constant'); break; }
        if ((weightUses.get(layer.weightName) ?? 0) > 1) { blockNode(n, 'weight shared with another node'); break; }
        if (!has(x) || !has(out)) { blockNode(n, 'unknown channel count'); break; }
        if (layer.kind !== 'conv' && (rank.get(x) !== 2 || rank.get(out) !== 2)) { blockNode(n, 'only 2-D matrix inputs are handled'); break; }
        if (layer.biasName && !biasSliceable(layer, index)) { blockNode(n, 'bias is not a per-channel vector'); break; }
        if (layer.kind === 'conv' && layer.group > 1) {
          if (layer.depthwise && layer.group === channels.get(x) && channels.get(out) === channels.get(x)) {
            for (let k = 0; k < channels.get(x)!; k++) link(x, k, out, k);
            members.push({ kind: 'depthwise', layer, tensor: out });
          } else blockNode(n, 'grouped convolution');
          break;
        }
        members.push({ kind: 'consumer', layer, tensor: x }, { kind: 'producer', layer, tensor: out });
        break;
      }
    }
  }
  for (const t of index.graphInputs) block(t, `graph input '${t}'`);
  for (const t of index.graphOutputs) block(t, `graph output '${t}'`);

  return { groups: collectGroups(base, channels, uf, blockedAtoms, members), members, channels, index };
}

function collectGroups(base: Map<string, number>, channels: Map<string, number>, uf: UnionFind, blockedAtoms: Map<number, string>, members: Member[]): ChannelGroup[] {
  const atoms = new Map<number, [string, number][]>();
  for (const [t, b] of base) {
    for (let c = 0; c < channels.get(t)!; c++) {
      const root = uf.find(b + c);
      let list = atoms.get(root);
      if (!list) atoms.set(root, (list = []));
      list.push([t, c]);
    }
  }
  // Tensors sharing any atom belong to one group.
  const tensorNames = [...base.keys()];
  const tensorId = new Map(tensorNames.map((t, i) => [t, i]));
  const tensorUf = new UnionFind(tensorNames.length);
  for (const list of atoms.values()) for (const [t] of list) tensorUf.union(tensorId.get(t)!, tensorId.get(list[0][0])!);
  const groups = new Map<number, ChannelGroup>();
  const sortedRoots = [...atoms.keys()].sort((a, b) => a - b);
  for (const root of sortedRoots) {
    const list = atoms.get(root)!;
    const g = tensorUf.find(tensorId.get(list[0][0])!);
    let group = groups.get(g);
    if (!group) groups.set(g, (group = { atoms: [], tensors: [], producers: [] }));
    group.atoms.push(list);
    const reason = list.map(([t, c]) => blockedAtoms.get(uf.find(base.get(t)! + c)) ?? blockedAtoms.get(base.get(t)! + c)).find(Boolean);
    if (reason && !group.blocked) group.blocked = reason;
  }
  for (const [t, i] of tensorId) groups.get(tensorUf.find(i))!.tensors.push(t);
  for (const m of members) {
    if (m.kind !== 'producer') continue;
    const group = groups.get(tensorUf.find(tensorId.get(m.tensor)!))!;
    group.producers.push(m.layer);
  }
  for (const group of groups.values()) if (!group.blocked && group.producers.length === 0) group.blocked = 'no Conv/Gemm/MatMul produces these channels';
  return [...groups.values()];
}

function isFlatten(n: NodeProto, inShape: Dim[] | undefined, outShape: Dim[] | undefined): boolean {
  if (!inShape || !outShape || outShape.length !== 2 || inShape.length < 2) return false;
  if (n.opType === 'Flatten' && attrInt(n, 'axis', 1) !== 1) return false;
  const rest = inShape.slice(1);
  return isKnown(rest) && outShape[1] === numel(rest);
}

function zeroChannelPads(n: NodeProto, index: GraphIndex, src: TensorSource, rank: number): boolean {
  const padsName = n.input[1];
  const pads = attrInts(n, 'pads') ?? (padsName && index.constants.has(padsName) ? Array.from(tensorValues(index.constants.get(padsName)!, src)) : undefined);
  return !!pads && pads[1] === 0 && pads[rank + 1] === 0;
}

function biasSliceable(layer: WeightedLayer, index: GraphIndex): boolean {
  const dims = tensorDims(index.constants.get(layer.biasName!)!);
  return dims.filter((d) => d !== 1).length <= 1;
}
