// Model analysis: per-layer weights, zeros, bits, quantization scheme, int8 saturation and MACs, plus model
// totals (params, bytes, MACs, sparsity, bit-width mix, peak activation memory) — the `inspect --json` report.
import fs from 'node:fs';
import { externalRef, isExternal, resolveExternalPath } from '../onnx/externalData';
import { dtypeName } from '../onnx/dtypes';
import { indexGraph, nodeLabel, type GraphIndex } from '../onnx/graph';
import type { NodeProto, TensorProto, ValueInfoProto } from '../onnx/proto';
import { forEachGraph, openModelLazy, opsetVersion, type Model } from '../onnx/read';
import { inferShapes, isKnown, numel, type Dim, type ShapeInfo } from '../onnx/shapes';
import { tensorByteLength } from '../onnx/tensor';
import { layerOpKey, layerOps, noMacs, type LayerOp, type WeightSlot } from './layerOps';
import { ZeroCounter } from './layerStats';
import { activationMemory, schedule } from './memory';
import { resolveWeight, type StoredWeight } from './quantScheme';
import { layerSaturation } from './saturation';
import type { LayerStats, ModelReport, TensorSignature, WeightInfo } from './report';

export interface AnalyzeOptions {
  /** concrete shapes for graph inputs (e.g. `{ x: [1, 3, 224, 224] }`) where the model leaves them symbolic */
  inputShapes?: Record<string, readonly Dim[]>;
}

/** A layer's weights as found in the graph (shared by the report and the histogram). */
export interface LayerWeights {
  node: NodeProto;
  index: number;
  op: LayerOp;
  weights: StoredWeight[];
}

/**
 * Of an element-wise op's constant operands only non-scalar float ones are learned weights: scalars are constants
 * of a formula (x·6, x+3) and integer ones are index arithmetic.
 */
function isLearnedConstant(w: StoredWeight): boolean {
  return w.scheme !== 'integer' && numel(w.shape) > 1;
}

/** Every node of the main graph that has weights, with its weights resolved to stored tensors. */
export function findLayers(model: Model, g: GraphIndex = indexGraph(model.proto.graph!)): LayerWeights[] {
  const layers: LayerWeights[] = [];
  g.graph.node.forEach((node, index) => {
    const op = layerOps[layerOpKey(node)];
    if (!op) return;
    let weights: StoredWeight[];
    if (op.anyConstantInput) {
      // Only constants in: a constant computation (e.g. a shape or scale computed from initializers), not a layer.
      if (node.input.every((i) => !i || g.constants.has(i))) return;
      const role = op.anyConstantInput;
      weights = node.input
        .map((_, input): WeightSlot => ({ input, role }))
        .map((slot) => resolveWeight(node, slot, op, g, model))
        .filter((w): w is StoredWeight => !!w && isLearnedConstant(w));
    } else {
      weights = op.weights.map((slot) => resolveWeight(node, slot, op, g, model)).filter((w): w is StoredWeight => !!w);
      if (!weights.some((w) => w.role === 'weight')) return;
    }
    if (weights.length) layers.push({ node, index, op, weights });
  });
  return layers;
}

function knownShape(shapes: ShapeInfo, name: string | undefined): number[] | undefined {
  const s = name ? shapes.types.get(name)?.shape : undefined;
  return isKnown(s) ? s : undefined;
}

function layerStats(layer: LayerWeights, shapes: ShapeInfo, counter: ZeroCounter, g: GraphIndex): LayerStats {
  const { node, op } = layer;
  const main = layer.weights.find((w) => w.role === 'weight') ?? layer.weights[0];
  const outAxis = op.outAxis(node, main.shape.length);
  const stats = layer.weights.map((w) => counter.weightStats(w, w === main ? outAxis : 0));
  const mainStats = stats[layer.weights.indexOf(main)];
  const weights: WeightInfo[] = layer.weights.map((w, k) => ({
    name: w.name, shape: w.shape, dtype: w.dtype, role: w.role, params: stats[k].params, zeros: stats[k].zeros, bytes: tensorByteLength(w.tensor),
  }));
  const params = weights.reduce((a, w) => a + w.params, 0);
  const zeros = weights.reduce((a, w) => a + w.zeros, 0);
  const quantBytes = layer.weights.flatMap((w) => w.quantParams).reduce((a, t) => a + tensorByteLength(t), 0);
  const nodeShapes = {
    inputs: node.input.map((i) => knownShape(shapes, i)),
    outputs: node.output.map((o) => knownShape(shapes, o)),
  };
  const inputShape = shapes.types.get(node.input[0] ?? '')?.shape;
  const outputShape = shapes.types.get(node.output[0] ?? '')?.shape;
  return {
    name: nodeLabel(node),
    op: node.opType,
    index: layer.index,
    weights,
    params,
    zeros,
    sparsity: params ? zeros / params : 0,
    channelSparsity: mainStats.channels ? mainStats.zeroChannels / mainStats.channels : 0,
    twoFour: mainStats.groups ? mainStats.twoFourGroups / mainStats.groups : 0,
    bits: main.bits,
    dtype: main.dtype,
    scheme: main.scheme,
    perChannel: main.perChannel,
    axis: main.axis,
    blockSize: main.blockSize,
    saturation: layerSaturation(node, main, g),
    macs: finiteOrZero(op.macs(node, nodeShapes)),
    weightBytes: weights.reduce((a, w) => a + w.bytes, 0) + quantBytes,
    inputShape,
    outputShape,
  };
}

/** Size on disk of the external data files the model's tensors point to (each file once). */
export function externalDataBytes(model: Model): number {
  return [...externalDataFiles(model).values()].reduce((a, b) => a + b, 0);
}

/** The external data files the model's tensors point to: location (relative to the model's folder) → size on disk. */
export function externalDataFiles(model: Model): Map<string, number> {
  const files = new Map<string, number>();
  forEachGraph(model.proto.graph!, (g) => {
    for (const t of g.initializer) {
      if (!isExternal(t)) continue;
      const { location } = externalRef(t, model.file);
      if (files.has(location)) continue;
      let size = tensorByteLength(t);
      if (model.dir) {
        try {
          size = fs.statSync(resolveExternalPath(model.dir, location, model.file)).size;
        } catch {
          // Unreadable external data is reported when its values are read; here it counts at its tensor size.
        }
      }
      files.set(location, size);
    }
  });
  return files;
}

/** Malformed weights (e.g. a rank-1 conv kernel) give NaN formulas; the report says 0 (unknown) instead. */
function finiteOrZero(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

function signature(v: ValueInfoProto): TensorSignature {
  const tt = v.type?.value.case === 'tensorType' ? v.type.value.value : undefined;
  return {
    name: v.name,
    dtype: dtypeName(tt?.elemType ?? 0),
    shape: tt?.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?')) ?? [],
  };
}

export function analyzeModel(model: Model, options: AnalyzeOptions = {}): ModelReport {
  const graph = model.proto.graph!;
  const g = indexGraph(graph);
  const shapes = inferShapes(graph, { inputShapes: options.inputShapes, source: model }, g);
  const found = findLayers(model, g);
  const counter = new ZeroCounter(Math.max(0, ...found.flatMap((l) => l.weights.map((w) => tensorByteLength(w.tensor)))));
  const layers = found.map((l) => layerStats(l, shapes, counter, g));

  // Totals count each stored tensor once, even when several layers share it.
  const seen = new Set<TensorProto>();
  let params = 0;
  let zeros = 0;
  let weightBytes = 0;
  const bitsMix: Record<string, number> = {};
  layers.forEach((layer, k) => {
    found[k].weights.forEach((stored, j) => {
      for (const t of stored.quantParams) {
        if (!seen.has(t)) weightBytes += tensorByteLength(t);
        seen.add(t);
      }
      if (seen.has(stored.tensor)) return;
      seen.add(stored.tensor);
      const w = layer.weights[j];
      params += w.params;
      zeros += w.zeros;
      weightBytes += w.bytes;
      bitsMix[stored.bits] = (bitsMix[stored.bits] ?? 0) + w.params;
    });
  });
  const externalFiles = externalDataFiles(model);
  const externalBytes = [...externalFiles.values()].reduce((a, b) => a + b, 0);

  const memory = activationMemory(schedule(g, model.file), g, shapes);
  const initNames = new Set(graph.initializer.map((t) => t.name));
  return {
    model: {
      path: model.file ?? '',
      bytes: model.fileBytes + externalBytes,
      ...(externalFiles.size ? { externalData: [...externalFiles.keys()] } : {}),
      opset: opsetVersion(model.proto),
      irVersion: Number(model.proto.irVersion),
      producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
      nodes: graph.node.length,
      layers: layers.length,
      params,
      zeros,
      sparsity: params ? zeros / params : 0,
      macs: layers.reduce((a, l) => a + l.macs, 0),
      macsUnknownLayers: found.filter((l, k) => l.op.macs !== noMacs && layers[k].macs === 0).length,
      weightBytes,
      bitsMix,
      peakActivationBytes: memory.peakBytes,
      activationsUnknown: memory.unknown,
      inputs: graph.input.filter((v) => !initNames.has(v.name)).map(signature),
      outputs: graph.output.map(signature),
    },
    layers,
  };
}

/**
 * analyzeModel of a model file, opened so that each large weight is read from disk once, into a buffer reused
 * from weight to weight, instead of the whole file being held in memory (openModelLazy).
 */
export function analyzeFile(file: string, options: AnalyzeOptions = {}): ModelReport {
  const model = openModelLazy(file);
  try {
    return analyzeModel(model, options);
  } finally {
    model.close();
  }
}
