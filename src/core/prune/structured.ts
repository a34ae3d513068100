// Structured channel pruning that removes channels from the graph (Torch-Pruning's group pruning: group
// L1/L2 magnitude importance, per-group or global ranking, `round_to` channel multiples) applied to ONNX
// tensors: weights, biases, BatchNormalization parameters, depthwise `group`, Split sizes, Reshape shapes.
import { UsageError } from '../errors';
import { attr, getAttr, valueInfo } from '../onnx/build';
import { DataType, roundHalfEven } from '../onnx/dtypes';
import { freshName, usedNames, type GraphIndex } from '../onnx/graph';
import { opsetVersion, type Model } from '../onnx/read';
import { clone, ModelProtoSchema, type ModelProto, type NodeProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import { makeTensor, tensorDims, tensorNumel, tensorValues } from '../onnx/tensor';
import { selectLayers, type LayerSelection } from '../select';
import type { LayerToFit } from '../recover/reconstruct';
import { captureActivations, type BatchSource } from '../eval/activations';
import { channelGroups, type ChannelGroup, type Member } from './channelGroups';
import { channelObsImportance, type ConsumerHessian } from './channelObs';
import { batchNormScale, weightedLayers, weightLayout, weightOffset, writeConstant, type WeightedLayer } from './layers';

export interface StructuredOptions extends LayerSelection {
  /** fraction of each group's channels to remove (Torch-Pruning's channel `pruning_ratio`), 0..1 */
  sparsity: number;
  /** 'layer': the same fraction in every group (default); 'global': one ranking of normalised importance */
  scope?: 'layer' | 'global';
  norm?: 'l1' | 'l2';
  /** keep channel counts at multiples of this (e.g. 8) */
  roundTo?: number;
  /** global scope: no group loses more than this fraction (default 0.9) */
  maxGroupSparsity?: number;
  /**
   * Per-channel activation variance of the tensors consumers read (from `activationVariances`). When given,
   * a channel's importance is the output energy it carries into its consumers, Σ_o |W[o, c]|² · Var(a_c) —
   * what reconstruction cannot recover (a channel's mean is absorbed by the refit bias).
   */
  activationVariance?: ReadonlyMap<string, Float64Array>;
  /**
   * Hessians of the layers that read the channels (Conv with group 1, Gemm/MatMul; layerHessians): when given, a
   * group's channels are ranked by channel-structured OBS (channelObs.ts) — the order in which greedy removal with
   * the OBS re-fit of those layers adds the least output error; groups with no such reader keep magnitude importance
   */
  obsHessians?: ReadonlyMap<string, ConsumerHessian>;
  /** kept channels per group, keyed by `groupKey`: replaces `sparsity`/`scope` for the groups it names */
  keep?: ReadonlyMap<string, number>;
  file?: string;
}

/** A group's name: its producing layers joined with '+' (as in `GroupReport.producers`). */
export const groupKey = (g: { producers: readonly ({ name: string } | string)[] }) => g.producers.map((p) => (typeof p === 'string' ? p : p.name)).join('+');

export interface GroupReport {
  /** layers producing the group's channels */
  producers: string[];
  channels: number;
  kept: number;
  blocked?: string;
}

export interface StructuredResult {
  proto: ModelProto;
  groups: GroupReport[];
  /** layers whose input channels changed, for reconstruction (with the original index of each kept output) */
  refit: LayerToFit[];
  paramsBefore: number;
  paramsAfter: number;
}

export function structuredPrune(model: Model, opts: StructuredOptions): StructuredResult {
  if (!(opts.sparsity >= 0 && opts.sparsity < 1)) throw new UsageError(opts.file, `sparsity must be in [0, 1), got ${opts.sparsity}`);
  const proto = clone(ModelProtoSchema, model.proto);
  const graph = proto.graph!;
  const paramsBefore = countParams(proto);
  const spaces = channelGroups(graph, model);
  const { index } = spaces;
  const all = weightedLayers(graph, index);
  const selected = new Set(selectLayers(all.map((l) => l.node), opts, graph.node, opts.file));
  const eligible = spaces.groups.filter((g) => !g.blocked && g.producers.every((p) => selected.has(p.node)));
  const p = opts.norm === 'l1' ? 1 : 2;
  const importance = new Map(eligible.map((g) => [g,
    (opts.obsHessians && channelObsImportance(g, spaces.members, index, model, opts.obsHessians)) || atomImportance(g, spaces.members, index, model, p, opts.activationVariance)]));
  const keepCounts = opts.scope === 'global'
    ? globalKeep(eligible, importance, opts)
    : new Map(eligible.map((g) => [g, roundKeep(g.atoms.length, g.atoms.length - roundHalfEven(opts.sparsity * g.atoms.length), opts.roundTo)]));
  for (const g of eligible) {
    const k = opts.keep?.get(groupKey(g));
    if (k !== undefined) keepCounts.set(g, Math.max(1, Math.min(g.atoms.length, k)));
  }

  // Kept channels of every tensor that loses some.
  const kept = new Map<string, number[]>();
  for (const g of eligible) {
    const imp = importance.get(g)!;
    const order = g.atoms.map((_, i) => i).sort((a, b) => imp[b] - imp[a] || a - b);
    const keepAtoms = new Set(order.slice(0, keepCounts.get(g)!));
    if (keepAtoms.size === g.atoms.length) continue;
    const perTensor = new Map<string, number[]>();
    g.atoms.forEach((atom, i) => {
      for (const [t, c] of atom) {
        let list = perTensor.get(t);
        if (!list) perTensor.set(t, (list = []));
        if (keepAtoms.has(i)) list.push(c);
      }
    });
    for (const [t, list] of perTensor) {
      if (list.length === 0) throw new UsageError(opts.file, `pruning would remove every channel of '${t}'; lower the sparsity`);
      kept.set(t, list.sort((a, b) => a - b));
    }
  }

  for (const m of spaces.members) {
    const k = kept.get(m.tensor);
    if (k) applyMember(m, k, index, model, opsetVersion(proto), spaces.channels);
  }
  const refit: LayerToFit[] = [];
  for (const layer of all) {
    const input = kept.get(layer.node.input[0]);
    if (!input) continue;
    refit.push({ name: layer.name, outChannels: kept.get(layer.node.output[0]) });
  }
  // Shapes recorded for changed tensors are stale: drop them (onnxruntime re-infers).
  graph.valueInfo = graph.valueInfo.filter((v) => !kept.has(v.name));
  graph.input = graph.input.map((v) => {
    const t = index.constants.get(v.name);
    return t && kept.size > 0 ? valueInfo(v.name, t.dataType, tensorDims(t)) : v;
  });
  const groups = spaces.groups.map((g) => ({
    producers: g.producers.map((l) => l.name), channels: g.atoms.length,
    kept: keepCounts.get(g) ?? g.atoms.length,
    ...(g.blocked ? { blocked: g.blocked } : eligible.includes(g) ? {} : { blocked: 'excluded by the layer selection' }),
  })).filter((g) => g.producers.length > 0);
  return { proto, groups, refit, paramsBefore, paramsAfter: countParams(proto) };
}

/**
 * Per-channel variance (over samples and positions) of every tensor a prunable layer reads, measured with
 * onnxruntime on calibration data, for data-driven structured importance.
 */
export async function activationVariances(model: Model, calib: BatchSource, opts: { samples?: number; threads?: number; file?: string } = {}): Promise<Map<string, Float64Array>> {
  const spaces = channelGroups(model.proto.graph!, model);
  const prunable = new Set(spaces.groups.filter((g) => !g.blocked).flatMap((g) => g.tensors));
  const tensors = [...new Set(spaces.members.filter((m) => m.kind === 'consumer' && prunable.has(m.tensor)).map((m) => m.tensor))];
  if (tensors.length === 0) return new Map();
  const sums = new Map<string, { s: Float64Array; s2: Float64Array; n: number }>();
  await captureActivations(model.proto, tensors, calib, (captured) => {
    for (const [name, t] of captured) {
      const c = t.dims[1];
      const inner = numel(t.dims.slice(2));
      let acc = sums.get(name);
      if (!acc) sums.set(name, (acc = { s: new Float64Array(c), s2: new Float64Array(c), n: 0 }));
      for (let i = 0; i < t.dims[0]; i++) {
        for (let k = 0; k < c; k++) {
          const base = (i * c + k) * inner;
          for (let j = 0; j < inner; j++) { const v = t.data[base + j]; acc.s[k] += v; acc.s2[k] += v * v; }
        }
      }
      acc.n += t.dims[0] * inner;
    }
  }, { limit: opts.samples ?? 256, batchSize: 32, threads: opts.threads, file: opts.file });
  const out = new Map<string, Float64Array>();
  for (const [name, { s, s2, n }] of sums) out.set(name, Float64Array.from(s, (sum, k) => Math.max(0, s2[k] / n - (sum / n) ** 2)));
  return out;
}

/**
 * Keep count rounded up to a multiple of `roundTo` (so rounding never prunes more than asked; never 0,
 * never more than n).
 */
function roundKeep(n: number, keep: number, roundTo = 1): number {
  if (roundTo <= 1) return Math.max(1, Math.min(n, keep));
  return Math.min(n, Math.max(roundTo, Math.ceil(keep / roundTo) * roundTo));
}

/**
 * One ranking across groups of importance normalised by each group's mean. With `roundTo` = R, channels are
 * ranked and removed in blocks of R (a group's R least important, then the next R, …) so every group keeps
 * a multiple of R; the total removed is the multiple of R nearest to the target.
 */
function globalKeep(groups: ChannelGroup[], importance: Map<ChannelGroup, Float64Array>, opts: StructuredOptions): Map<ChannelGroup, number> {
  const block = Math.max(1, opts.roundTo ?? 1);
  const maxGroup = opts.maxGroupSparsity ?? 0.9;
  const entries: { score: number; group: number; k: number }[] = [];
  let atoms = 0;
  groups.forEach((g, gi) => {
    const n = g.atoms.length;
    atoms += n;
    if (block > 1 && n % block !== 0) return; // a group that is not a whole number of blocks stays as it is
    const imp = importance.get(g)!;
    const mean = imp.reduce((a, b) => a + b, 0) / n || 1;
    const sorted = Float64Array.from(imp, (v) => v / mean).sort();
    const blocks = Math.floor(Math.min(Math.floor(maxGroup * n), n - block) / block);
    for (let k = 0; k < blocks; k++) {
      let s = 0;
      for (let i = k * block; i < (k + 1) * block; i++) s += sorted[i];
      entries.push({ score: s / block, group: gi, k });
    }
  });
  // Within a group block scores never decrease with k, so taking entries in order takes each group's blocks in order.
  entries.sort((a, b) => a.score - b.score || a.group - b.group || a.k - b.k);
  const target = opts.sparsity * atoms;
  const pruned = groups.map(() => 0);
  let done = 0;
  for (const e of entries) {
    if (done + block / 2 > target) break;
    pruned[e.group] += block;
    done += block;
  }
  return new Map(groups.map((g, gi) => [g, g.atoms.length - pruned[gi]]));
}

/**
 * Group importance per atom: Σ over the weighted members of Σ|w|^p over the channel's weight slice, each
 * member's scores divided by their mean so no member dominates by scale. A producer followed by
 * BatchNormalization is scored by its normalised output, W[c]·γ_c/√(σ²_c+ε).
 */
function atomImportance(g: ChannelGroup, members: Member[], index: GraphIndex, src: Model, p: number, variance?: ReadonlyMap<string, Float64Array>): Float64Array {
  const atomOf = new Map<string, Int32Array>();
  g.atoms.forEach((atom, i) => {
    for (const [t, c] of atom) {
      let arr = atomOf.get(t);
      if (!arr) atomOf.set(t, (arr = new Int32Array(Math.max(c + 1, 1)).fill(-1)));
      if (arr.length <= c) { const grown = new Int32Array(c + 1).fill(-1); grown.set(arr); atomOf.set(t, (arr = grown)); }
      arr[c] = i;
    }
  });
  const imp = new Float64Array(g.atoms.length);
  const pow = (v: number) => (p === 1 ? Math.abs(v) : v * v);
  for (const m of members) {
    const atoms = atomOf.get(m.tensor);
    if (!atoms || (m.kind !== 'producer' && m.kind !== 'consumer' && m.kind !== 'depthwise')) continue;
    const layer = m.layer;
    const dataVariance = variance?.get(m.tensor);
    if (variance && (m.kind !== 'consumer' || !dataVariance)) continue;
    const w = tensorValues(index.constants.get(layer.weightName)!, src);
    const { outChannels, fanIn } = weightLayout(layer);
    const score = new Float64Array(g.atoms.length);
    if (m.kind === 'consumer') {
      const spatial = layer.kind === 'conv' ? numel(layer.dims.slice(2)) : 1;
      for (let o = 0; o < outChannels; o++) {
        for (let f = 0; f < fanIn; f++) {
          const c = Math.floor(f / spatial);
          const a = atoms[c];
          if (a >= 0) score[a] += dataVariance ? w[weightOffset(layer, o, f)] ** 2 * dataVariance[c] : pow(w[weightOffset(layer, o, f)]);
        }
      }
    } else {
      const bn = batchNormScale(layer.node.output[0], index, src);
      for (let o = 0; o < outChannels; o++) {
        const a = atoms[o];
        if (a < 0) continue;
        let s = 0;
        for (let f = 0; f < fanIn; f++) s += pow(w[weightOffset(layer, o, f)]);
        score[a] += bn ? s * pow(bn[o]) : s;
      }
    }
    // Output energies share one unit and add up as they are; weight magnitudes are put on one scale first.
    const mean = dataVariance ? 1 : score.reduce((x, y) => x + y, 0) / score.length;
    if (mean > 0) for (let i = 0; i < imp.length; i++) imp[i] += score[i] / mean;
  }
  return imp;
}

/** Slices the constant feeding `node.input[input]` along `axis` to `keep`; a constant shared with other nodes is copied. */
function sliceInput(index: GraphIndex, src: Model, node: NodeProto, input: number, axis: number, keep: readonly number[]): void {
  const name = node.input[input];
  const t = index.constants.get(name)!;
  const dims = tensorDims(t);
  const values = tensorValues(t, src);
  const outer = numel(dims.slice(0, axis));
  const inner = numel(dims.slice(axis + 1));
  const out = new Float64Array(outer * keep.length * inner);
  let k = 0;
  for (let o = 0; o < outer; o++) for (const c of keep) for (let i = 0; i < inner; i++) out[k++] = values[(o * dims[axis] + c) * inner + i];
  setInputConstant(index, node, input, dims.map((d, i) => (i === axis ? keep.length : d)), out);
}

/** Gives `node.input[input]` new constant values; a constant shared with other nodes is copied, not changed. */
function setInputConstant(index: GraphIndex, node: NodeProto, input: number, dims: readonly number[], values: ArrayLike<number>): void {
  const name = node.input[input];
  const uses = index.graph.node.reduce((a, n) => a + n.input.filter((i) => i === name).length, 0);
  if (uses > 1) {
    const copy = makeTensor(freshName(usedNames(index.graph), name), index.constants.get(name)!.dataType, dims, values);
    index.graph.initializer.push(copy);
    index.constants.set(copy.name, copy);
    node.input[input] = copy.name;
  } else writeConstant(index, name, dims, values);
}

/** Weight axis that holds a layer's output (producer) or input (consumer) channels. */
function channelAxis(layer: WeightedLayer, side: 'out' | 'in'): number {
  if (layer.kind === 'conv') return side === 'out' ? 0 : 1;
  const outAxis = layer.transB ? 0 : 1;
  return side === 'out' ? outAxis : 1 - outAxis;
}

function applyMember(m: Member, keep: readonly number[], index: GraphIndex, src: Model, opset: number, channels: Map<string, number>): void {
  switch (m.kind) {
    case 'producer':
    case 'depthwise': {
      const n = m.layer.node;
      sliceInput(index, src, n, 1, channelAxis(m.layer, 'out'), keep);
      if (m.layer.biasName) {
        const dims = tensorDims(index.constants.get(n.input[2])!);
        sliceInput(index, src, n, 2, dims.findIndex((d) => d !== 1), keep);
      }
      if (m.kind === 'depthwise') {
        const g = getAttr(n, 'group')!;
        g.i = BigInt(keep.length);
      }
      return;
    }
    case 'consumer':
      sliceInput(index, src, m.layer.node, 1, channelAxis(m.layer, 'in'), keep);
      return;
    case 'param':
      sliceInput(index, src, m.node, m.input, m.axis, keep);
      return;
    case 'split':
      return rewriteSplit(m.node, keep, channels.get(m.tensor)!, index, opset);
    case 'reshape': {
      const shape = Array.from(tensorValues(index.constants.get(m.node.input[1])!, src));
      if (shape[1] > 0) shape[1] = keep.length;
      setInputConstant(index, m.node, 1, [shape.length], shape);
      return;
    }
  }
}

/** New split sizes: how many kept input channels fall into each output's original range. */
function rewriteSplit(n: NodeProto, keep: readonly number[], channels: number, index: GraphIndex, opset: number): void {
  const sizesName = n.input[1];
  const given = getAttr(n, 'split')?.ints.map(Number)
    ?? (sizesName && index.constants.has(sizesName) ? Array.from(tensorValues(index.constants.get(sizesName)!)) : undefined);
  const parts = n.output.length;
  // Without sizes, ONNX splits evenly (the last part smaller when it does not divide).
  const sizes = given ?? n.output.map((_, j) => Math.min(Math.ceil(channels / parts), Math.max(0, channels - j * Math.ceil(channels / parts))));
  let start = 0;
  const counts = sizes.map((size) => { const c = keep.filter((k) => k >= start && k < start + size).length; start += size; return c; });
  if (opset >= 13) {
    if (sizesName && index.constants.has(sizesName)) return setInputConstant(index, n, 1, [counts.length], counts);
    const t = makeTensor(freshName(usedNames(index.graph), `${n.name || 'split'}.sizes`), DataType.INT64, [counts.length], counts);
    index.graph.initializer.push(t);
    index.constants.set(t.name, t);
    if (n.input.length < 2) n.input.push(t.name); else n.input[1] = t.name;
    n.attribute = n.attribute.filter((a) => a.name !== 'num_outputs');
  } else {
    n.attribute = [...n.attribute.filter((a) => a.name !== 'split'), attr('split', counts)];
  }
}

function countParams(proto: ModelProto): number {
  const g = proto.graph!;
  let n = 0;
  for (const t of g.initializer) n += tensorNumel(t);
  for (const node of g.node) if (node.opType === 'Constant') { const t = getAttr(node, 'value')?.t; if (t) n += tensorNumel(t); }
  return n;
}
