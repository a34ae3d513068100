// GPTQ over a whole model (Frantar et al., ICLR 2023): layer Hessians computed and consumed a group at a time,
// from the original model's inputs or — GPTQ's sequential mode, as its reference code quantizes LLMs block by
// block — from the inputs of the model whose earlier layers are already rounded.
//
// A quantizer asks for its weights' integers through a WeightRounding while it rewrites the model; GPTQ needs them
// in topological order with one Hessian at a time. So the quantizer runs twice: a dry run records what it asks
// (recordingRounding, answered round-to-nearest), roundLayersByGptq answers those requests, and the real run
// replays the answers (replayRounding).
import type { BatchSource } from '../eval/activations';
import { nodeLabel } from '../onnx/graph';
import { clone, ModelProtoSchema, type ModelProto } from '../onnx/proto';
import { indexGraph } from '../onnx/graph';
import { quantizeTensor, scaleIndexer, type QuantizedTensor, type WeightQuantOptions } from '../quantize/affine';
import type { WeightRounding } from '../quantize/weightOnly';
import { weightedLayers, writeConstant, type WeightedLayer } from '../prune/layers';
import type { ModelSource } from '../recover/reconstruct';
import { gptqQuantize, layerMatrix, type GptqOptions } from './gptq';
import { ActivationCache, forEachLayerHessian, hessianLayers, tapHessians, type HessianOptions } from './hessian';

/** original: Hessians of the original model's inputs (one pass per group of layers); quantized: GPTQ's sequential mode. */
export type GptqInputs = 'original' | 'quantized';

/** What a quantizer asks the rounding for one layer's weight. */
export interface RoundingRequest {
  values: ArrayLike<number>;
  dims: number[];
  quant: WeightQuantOptions;
}

/** A rounding that answers round-to-nearest and records each request by layer name (nodeLabel). */
export function recordingRounding(): { rounding: WeightRounding; requests: Map<string, RoundingRequest> } {
  const requests = new Map<string, RoundingRequest>();
  return {
    requests,
    rounding: (node, values, dims, quant) => {
      requests.set(nodeLabel(node), { values, dims: [...dims], quant });
      return quantizeTensor(values, dims, quant);
    },
  };
}

/** A rounding that answers from `rounded` by layer name (a copy: quantizers may adjust scales in place), round-to-nearest for other layers. */
export function replayRounding(rounded: ReadonlyMap<string, QuantizedTensor>): WeightRounding {
  return (node, values, dims, quant) => {
    const q = rounded.get(nodeLabel(node));
    return q ? { ...q, values: q.values.slice(), scales: q.scales.slice(), zeroPoints: q.zeroPoints.slice() } : quantizeTensor(values, dims, quant);
  };
}

/**
 * Sequential mode: the model that feeds layer `next` once the layers in `rounded` are rounded, and the tensors of
 * that model the layer's input and output are read from. Default (weight-only): the float model with the rounded
 * layers' weights replaced by their dequantized values.
 */
export type PartlyQuantizedModel = (rounded: ReadonlyMap<string, QuantizedTensor>, next: WeightedLayer) => { proto: ModelProto; input: string; output: string };

export interface GptqModelOptions extends GptqOptions, HessianOptions {
  /** where the Hessians' inputs come from (default original) */
  inputs?: GptqInputs;
  /** original inputs: Hessian bytes held at once (see forEachLayerHessian; default HESSIAN_BUDGET) */
  budgetBytes?: number;
  /** quantized inputs: how the partly quantized model is built (default: dequantized weights in the float model) */
  partlyQuantized?: PartlyQuantizedModel;
  /** quantized inputs: bytes of earlier layers' inputs kept so later passes start from them (default 256 MiB) */
  cacheBytes?: number;
  /** after each layer: its name and the milliseconds GPTQ took for it (not counting its Hessian) */
  onLayer?: (name: string, ms: number) => void;
}

export interface GptqModelResult {
  rounded: Map<string, QuantizedTensor>;
  /** calibration passes made */
  passes: number;
  /** most Hessian bytes held at once */
  peakBytes: number;
}

/**
 * Answers `requests` (layer name → weight) by GPTQ with each layer's Hessian on the calibration data, in
 * topological order, holding one group of Hessians at a time. Every requested layer must be a Conv/Gemm/MatMul
 * with a float constant weight in `model`.
 */
export async function roundLayersByGptq(
  model: ModelSource, calibration: BatchSource, requests: ReadonlyMap<string, RoundingRequest>, opts: GptqModelOptions = {},
): Promise<GptqModelResult> {
  const layers = hessianLayers(model, [...requests.keys()], opts.file);
  const rounded = new Map<string, QuantizedTensor>();
  const source = memoBatches(calibration);
  const round = (layer: WeightedLayer, hessian: Parameters<typeof gptqQuantize>[4]) => {
    const r = requests.get(layer.name)!;
    const t0 = performance.now();
    rounded.set(layer.name, gptqQuantize(r.values, r.dims, r.quant, layerMatrix(layer), hessian, opts));
    opts.onLayer?.(layer.name, performance.now() - t0);
  };
  if ((opts.inputs ?? 'original') === 'original') {
    const byName = new Map(layers.map((l) => [l.name, l]));
    const { passes, peakBytes } = await forEachLayerHessian(model, source, layers.map((l) => l.name), opts, (name, h) => round(byName.get(name)!, h));
    return { rounded, passes, peakBytes };
  }
  const partly = opts.partlyQuantized ?? dequantizedWeights(model.proto, requests);
  let peakBytes = 0;
  // Each pass starts from the latest earlier layer inputs it can (they depend only on layers rounded already).
  const cache = new ActivationCache(opts.cacheBytes);
  for (const layer of layers) {
    opts.signal?.throwIfAborted();
    const { proto, input, output } = partly(rounded, layer);
    const [hessian] = await tapHessians(proto, source, [{ layer, input, output }], { ...opts, cache });
    peakBytes = Math.max(peakBytes, 2 * hessian.h.byteLength); // its sums, then H
    round(layer, hessian);
  }
  return { rounded, passes: layers.length, peakBytes };
}

/** Sequential mode for weight-only quantization: a copy of the float model whose rounded layers hold their dequantized weights. */
function dequantizedWeights(proto: ModelProto, requests: ReadonlyMap<string, RoundingRequest>): PartlyQuantizedModel {
  const work = clone(ModelProtoSchema, proto);
  const index = indexGraph(work.graph!);
  const layers = new Map(weightedLayers(work.graph!, index).map((l) => [l.name, l]));
  const written = new Set<string>();
  return (rounded, next) => {
    for (const [name, q] of rounded) {
      if (written.has(name)) continue;
      const { dims } = requests.get(name)!;
      writeConstant(index, layers.get(name)!.weightName, dims, dequantize(q, dims));
      written.add(name);
    }
    return { proto: work, input: next.node.input[0], output: next.node.output[0] };
  };
}

/** The float values a quantized tensor stands for. */
export function dequantize(q: QuantizedTensor, dims: readonly number[]): Float32Array {
  const scaleOf = scaleIndexer(q, dims);
  return Float32Array.from(q.values, (v, e) => q.scales[scaleOf(e)] * (v - q.zeroPoints[scaleOf(e)]));
}

/** The source's batches kept after their first read: sequential mode reads the same batches once per layer. */
function memoBatches(source: BatchSource): BatchSource {
  const kept = new Map<string, Promise<Float32Array>>();
  return {
    n: source.n,
    sampleShape: source.sampleShape,
    batch: (start, count) => {
      const key = `${start}:${count}`;
      let b = kept.get(key);
      if (!b) kept.set(key, (b = source.batch(start, count)));
      return b;
    },
  };
}
