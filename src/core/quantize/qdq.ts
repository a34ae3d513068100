// Static QDQ quantization: QuantizeLinear/DequantizeLinear placed as ONNX Runtime's QDQ quantizer does
// (qdq_quantizer.py: per-channel symmetric int8 weights, int32 bias with scale s_input · s_weight,
// Relu/Clip absorbed into the producer's range, parameter sharing through Reshape-like ops), laid out so
// that onnxruntime's QDQ fusion selectors match every node unit, and written compactly (one DequantizeLinear
// per QuantizeLinear, default zero points left out, short names for the new tensors).
import { UnsupportedOperator } from '../errors';
import type { BatchSource } from '../eval/activations';
import { attrFloat, getAttr, node } from '../onnx/build';
import { DataType } from '../onnx/dtypes';
import { freshName, indexGraph, nodeLabel, topologicalOrder, usedNames, type GraphIndex } from '../onnx/graph';
import { optimizeModel } from '../onnx/optimize';
import { upgradeOpset } from '../onnx/opsetUpgrade';
import { clone, ModelProtoSchema, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from '../onnx/proto';
import { inlineExternalData, opsetVersion } from '../onnx/read';
import { numel } from '../onnx/shapes';
import { makeTensor, tensorDims, tensorValues, type TensorSource } from '../onnx/tensor';
import { recordingRounding, replayRounding, roundLayersByGptq, type GptqInputs } from '../obs/gptqModel';
import { weightedLayers } from '../prune/layers';
import { correctBiases, type BiasTarget } from '../recover/biasCorrection';
import { selectLayers, type LayerSelection } from '../select';
import { fittingRange, fullRange, quantDataType, quantizeTensor, quantizeValue, scaleDims, scaleZeroPoint, type QuantizedTensor, type QuantParams, type QuantType } from './affine';
import { calibrate, type CalibrationOptions } from './calibrate/calibrate';
import { compactQdq, dropUnusedConstants } from './compact';
import { foldConvAffine } from './convAffine';
import { fuseHardSwish } from './hardSwish';
import type { TensorRange } from './calibrate/minmax';
import { activationSlots, STATIC_RULES, type OpRule, type QuantRole } from './rules';
import { DEFAULT_TARGET, recordTarget, reducedRange, type QuantTarget } from './target';
import type { WeightRounding } from './weightOnly';

export interface QdqOptions {
  /** one weight scale per output channel (needs opset ≥ 13) instead of one per tensor */
  perChannel: boolean;
  /**
   * 4: int4 weights (W4A8; DequantizeLinear of int4 needs opset 21). onnxruntime has no int4 Conv/Gemm kernels:
   * those layers run in float after DequantizeLinear, so this is a size and accuracy result, not a speed-up.
   */
  weightBits?: 8 | 4;
  /** activation type: uint8 (U8S8) fuses completely in onnxruntime's CPU provider */
  activationType: 'uint8' | 'int8';
  /** the CPUs the model is for (default portable: 7-bit weights, no U8S8 saturation on x86 without VNNI) */
  target?: QuantTarget;
  /** told about layers that cannot be quantized as asked (e.g. a bias int32 cannot hold) */
  onWarning?: (message: string) => void;
  /** how weight integers are chosen (default round-to-nearest); called with the node of the model given to applyQdq */
  roundWeights?: WeightRounding;
}

/** Which tensors get Q/DQ and which nodes change; made before calibration so only needed tensors are measured. */
export interface QdqPlan {
  /** nodes quantized (Q/DQ around them) */
  nodes: Set<NodeProto>;
  /** activation tensors with their own parameters (names as in the float model) — these need ranges */
  calibrated: Set<string>;
  /** tensor → the tensor whose parameters it reuses */
  shared: Map<string, string>;
  /** Relu/Clip nodes removed: their producer writes their output directly */
  absorbed: Map<NodeProto, NodeProto>;
}

/** Is it exact to drop `act` and let the quantization range of its output do the clamping? */
function absorbable(act: NodeProto, index: GraphIndex, src: TensorSource): boolean {
  if (act.opType === 'Relu') return true;
  // Clip: the range [min(lo, 0), …] must not include values the Clip would have removed, so lo ≤ 0.
  const loName = act.input[1];
  const lo = loName ? index.constants.get(loName) : undefined;
  if (loName && !lo) return false;
  const min = lo ? Number(tensorValues(lo, src)[0]) : getAttr(act, 'min') ? attrFloat(act, 'min', 0) : -Infinity;
  return min <= 0;
}

/**
 * Decides what to quantize among `selected` nodes, in graph order: weighted ops and pools mark their
 * activations, shared ops inherit from an already quantized input, removable activations fold into a
 * quantized producer whose only consumer they are.
 */
export function planQdq(graph: GraphProto, selected: ReadonlySet<NodeProto>, src: TensorSource = {}): QdqPlan {
  const index = indexGraph(graph);
  const plan: QdqPlan = { nodes: new Set(), calibrated: new Set(), shared: new Map(), absorbed: new Map() };
  const marked = (t: string) => plan.calibrated.has(t) || plan.shared.has(t);
  const mark = (t: string) => { if (!marked(t)) plan.calibrated.add(t); };
  for (const n of topologicalOrder(graph, src.file)) {
    const rule: OpRule | undefined = STATIC_RULES[n.opType];
    if (!rule || n.domain !== '' || !selected.has(n)) continue;
    const data = activationSlots(n, rule).map((i) => n.input[i]).filter(Boolean);
    switch (rule.role) {
      case 'weighted': {
        const w = n.input[rule.weightInput!];
        const b = rule.biasInput !== undefined ? n.input[rule.biasInput] : undefined;
        if (!w || !index.constants.has(w) || (b && !index.constants.has(b))) continue;
        if (data.some((t) => index.constants.has(t))) continue;
        if (n.opType === 'MatMul' && tensorDims(index.constants.get(w)!).length !== 2) continue;
        if (n.opType === 'Gemm' && (attrFloat(n, 'alpha', 1) !== 1 || getAttr(n, 'transA')?.i)) continue;
        data.forEach(mark);
        if (!rule.floatOutputOk) mark(n.output[0]);
        break;
      }
      case 'elementwise':
        if (data.length < 2 || data.some((t) => index.constants.has(t))) continue;
        data.forEach(mark);
        mark(n.output[0]);
        break;
      case 'pool':
        mark(data[0]);
        mark(n.output[0]);
        break;
      case 'shared':
        if (!marked(data[0]) || marked(n.output[0])) continue;
        plan.shared.set(n.output[0], data[0]);
        break;
      case 'removable': {
        const input = data[0];
        const producer = index.producer.get(input);
        if (!producer || !plan.nodes.has(producer) || !plan.calibrated.has(input)) continue;
        if (index.consumers.get(input)?.length !== 1 || index.graphOutputs.has(input)) continue;
        if (!absorbable(n, index, src)) continue;
        plan.calibrated.delete(input);
        plan.calibrated.add(n.output[0]);
        plan.absorbed.set(n, producer);
        break;
      }
    }
    plan.nodes.add(n);
  }
  return plan;
}

/** Parameters of each quantized activation from its calibrated range (asymmetric, full type range). */
function activationParams(plan: QdqPlan, ranges: ReadonlyMap<string, TensorRange>, type: 'uint8' | 'int8'): Map<string, QuantParams> {
  const [qmin, qmax] = fittingRange(type);
  const params = new Map<string, QuantParams>();
  for (const t of plan.calibrated) {
    const r = ranges.get(t);
    if (!r) throw new Error(`no calibrated range for tensor '${t}'`);
    params.set(t, scaleZeroPoint(r.min, r.max, qmin, qmax));
  }
  return params;
}

const FOLLOWER_ROLES: ReadonlySet<QuantRole> = new Set(['shared', 'removable']);

const INT32_MIN = -(2 ** 31), INT32_MAX = 2 ** 31 - 1;

/**
 * Applies a plan: returns a new model with Q/DQ pairs on the planned activations, int8 weights and
 * int32 biases behind DequantizeLinear, and absorbed activations removed.
 */
export function applyQdq(proto: ModelProto, plan: QdqPlan, ranges: ReadonlyMap<string, TensorRange>, opts: QdqOptions, src: TensorSource = {}): ModelProto {
  if (opts.perChannel && opsetVersion(proto) < 13) {
    throw new UnsupportedOperator(src.file, `per-channel QDQ needs opset ≥ 13, the model has opset ${opsetVersion(proto)}`);
  }
  const out = clone(ModelProtoSchema, proto);
  const g = out.graph!;
  // Plans refer to nodes of `proto`; the clone keeps their order.
  const original = proto.graph!.node;
  const mapped = new Map(original.map((n, i) => [n, g.node[i]]));
  const quantized = new Set([...plan.nodes].map((n) => mapped.get(n)!));
  const originalOf = new Map(original.map((n, i) => [g.node[i], n]));
  const removed = new Set([...plan.absorbed.keys()].map((n) => mapped.get(n)!));
  for (const [act, producer] of plan.absorbed) mapped.get(producer)!.output[0] = act.output[0];
  g.node = g.node.filter((n) => !removed.has(n));
  const replacedConstants = new Set([...removed].flatMap((n) => n.input.slice(1)));

  const index = indexGraph(g);
  const names = usedNames(g);
  const actType: QuantType = opts.activationType;
  const params = activationParams(plan, ranges, actType);
  const newInits: TensorProto[] = [];
  // New tensors get short numbered names (s3, q3, d3, w5, …): each name is repeated in every node that reads
  // it, and derived names (conv2d_0.w_0_i8, batch_norm_0.tmp_3_dq_1, …) were much of the QDQ graph's bytes.
  // The model's own tensors and nodes keep their names.
  const counters = new Map<string, number>();
  const newName = (prefix: string) => {
    const k = counters.get(prefix) ?? 0;
    counters.set(prefix, k + 1);
    return freshName(names, `${prefix}${k}`);
  };
  // Equal scalars are stored once (most zero points repeat).
  const scalars = new Map<string, string>();
  const scalar = (prefix: string, dataType: number, value: number) => {
    const key = `${dataType}:${value}`;
    let name = scalars.get(key);
    if (!name) {
      name = newName(prefix);
      newInits.push(makeTensor(name, dataType, [], [value]));
      scalars.set(key, name);
    }
    return name;
  };
  const paramTensors = new Map<string, string[]>();

  const sourceOf = (t: string) => {
    let source = t;
    while (plan.shared.has(source)) source = plan.shared.get(source)!;
    return source;
  };
  // A zero point of 0 may be left out only where every quantized node next to the tensor fuses without it.
  // onnxruntime drops the Q/DQ pairs around a shared op (MaxPool, Reshape, …) only with explicit zero points.
  const sharedSources = new Set([...plan.shared.keys()].map(sourceOf));
  const fusesWithoutZeroPoint = (n: NodeProto | undefined) => !n || !quantized.has(n) || !!STATIC_RULES[n.opType]?.implicitZeroPoints;
  const implicitZeroPoint = (source: string) => !sharedSources.has(source)
    && fusesWithoutZeroPoint(index.producer.get(source)) && (index.consumers.get(source) ?? []).every(fusesWithoutZeroPoint);

  /**
   * scale (and zero-point) initializer names of an activation (shared tensors resolve to their source).
   * A uint8 zero point of 0 is left out where onnxruntime allows: it is QuantizeLinear's and DequantizeLinear's default.
   */
  const paramsOf = (t: string): { p: QuantParams; names: string[] } => {
    const source = sourceOf(t);
    const p = params.get(source)!;
    let pair = paramTensors.get(source);
    if (!pair) {
      pair = [scalar('s', DataType.FLOAT, p.scale)];
      if (actType !== 'uint8' || p.zeroPoint !== 0 || !implicitZeroPoint(source)) pair.push(scalar('z', quantDataType(actType), p.zeroPoint));
      paramTensors.set(source, pair);
    }
    return { p, names: pair };
  };
  const isQuantizedActivation = (t: string) => plan.calibrated.has(t) || plan.shared.has(t);

  const before = new Map<NodeProto, NodeProto[]>();
  const after = new Map<NodeProto, NodeProto[]>();
  const push = (m: Map<NodeProto, NodeProto[]>, k: NodeProto, v: NodeProto) => { const l = m.get(k); if (l) l.push(v); else m.set(k, [v]); };
  const headNodes: NodeProto[] = [];

  // Weights and biases of weighted ops.
  const weightCache = new Map<string, { q: ReturnType<typeof quantizeTensor>; names: string[] }>();
  const weightType: QuantType = opts.weightBits === 4 ? 'int4' : 'int8';
  for (const n of g.node) {
    const rule = STATIC_RULES[n.opType];
    if (!quantized.has(n) || rule?.role !== 'weighted') continue;
    const wName = n.input[rule.weightInput!];
    const wTensor = index.constants.get(wName)!;
    const dims = tensorDims(wTensor);
    const axis = opts.perChannel ? (rule.weightAxis!(n) + dims.length) % dims.length : undefined;
    let w = weightCache.get(wName);
    if (!w) {
      const quant = { type: weightType, symmetric: true, axis, reduceRange: weightType === 'int8' && reducedRange(opts.target ?? DEFAULT_TARGET) };
      const values = tensorValues(wTensor, src);
      const q = opts.roundWeights ? opts.roundWeights(originalOf.get(n)!, values, dims, quant) : quantizeTensor(values, dims, quant);
      // Symmetric int8: the zero point is 0, DequantizeLinear's default, stored only where a fusion wants it.
      const wNames = [newName('w'), newName('ws')];
      const sDims = scaleDims(q, dims);
      newInits.push(makeTensor(wNames[0], quantDataType(weightType), dims, q.values), makeTensor(wNames[1], DataType.FLOAT, sDims, q.scales));
      if (!rule.implicitZeroPoints) {
        wNames.push(newName('wz'));
        newInits.push(makeTensor(wNames[2], quantDataType(weightType), sDims, q.zeroPoints));
      }
      w = { q, names: wNames };
      weightCache.set(wName, w);
    }
    const wOut = newName('wd');
    push(before, n, node('DequantizeLinear', w.names, [wOut], w.q.axis !== undefined ? { axis: w.q.axis } : {}));
    n.input[rule.weightInput!] = wOut;
    replacedConstants.add(wName);

    const bName = rule.biasInput !== undefined ? n.input[rule.biasInput] : undefined;
    const inputName = n.input[activationSlots(n, rule)[0]];
    if (!bName || !isQuantizedActivation(inputName)) continue;
    const inputScale = paramsOf(inputName).p.scale;
    const beta = n.opType === 'Gemm' ? attrFloat(n, 'beta', 1) : 1;
    const bias = tensorValues(index.constants.get(bName)!, src);
    const channels = bias.length;
    // A channel with almost-zero weights has a tiny s_in·s_w, and its bias may not fit int32 at that scale.
    // Clamping would change its output, and a float bias is quantized (and saturated) by onnxruntime's own
    // BiasQuantization, so that channel's weight scale is raised until the bias fits, as onnxruntime's
    // quantizer does (_adjust_weight_scale_for_int32_bias): weights that small lose nothing to coarser steps.
    // A weight shared with other layers keeps its scales (their biases use them): the bias is clamped.
    const shared = (index.consumers.get(wName)?.length ?? 0) > 1;
    const raised = shared ? [] : raiseScalesForBias(w.q, tensorValues(wTensor, src), dims, bias, beta, inputScale, fullRange(weightType));
    if (raised.length > 0) {
      const at = (name: string) => newInits.findIndex((t) => t.name === name);
      newInits[at(w.names[0])] = makeTensor(w.names[0], quantDataType(weightType), dims, w.q.values);
      newInits[at(w.names[1])] = makeTensor(w.names[1], DataType.FLOAT, scaleDims(w.q, dims), w.q.scales);
      opts.onWarning?.(`'${nodeLabel(n)}': the bias of ${raised.length} channel(s) (first: ${raised[0]}) exceeds int32 at scale input scale × weight scale; their weight scales were raised so it fits`);
    }
    const biasScales = Float64Array.from({ length: channels }, (_, c) => Math.fround(inputScale * w!.q.scales[w!.q.scales.length === 1 ? 0 : c]));
    const clamped = biasScales.filter((s, c) => Math.abs(beta * bias[c] / s) > INT32_MAX).length;
    if (clamped > 0) opts.onWarning?.(`'${nodeLabel(n)}': the bias of ${clamped} channel(s) exceeds int32 at scale input scale × weight scale and its weight is shared; clamped`);
    const qBias = Int32Array.from({ length: channels }, (_, c) => quantizeValue(beta * bias[c] / biasScales[c], 1, 0, INT32_MIN, INT32_MAX));
    const perChannelBias = w.q.scales.length > 1;
    const sDims = perChannelBias ? [channels] : [];
    const bq = newName('b');
    const bs = newName('bs');
    newInits.push(
      makeTensor(bq, DataType.INT32, tensorDims(index.constants.get(bName)!), qBias),
      makeTensor(bs, DataType.FLOAT, sDims, perChannelBias ? biasScales : [biasScales[0]]),
    );
    const bInputs = [bq, bs];
    if (!rule.implicitZeroPoints) {
      bInputs.push(newName('bz'));
      newInits.push(makeTensor(bInputs[2], DataType.INT32, sDims, new Int32Array(perChannelBias ? channels : 1)));
    }
    const bOut = newName('bd');
    push(before, n, node('DequantizeLinear', bInputs, [bOut], perChannelBias ? { axis: 0 } : {}));
    n.input[rule.biasInput!] = bOut;
    if (beta !== 1) n.attribute = n.attribute.filter((a) => a.name !== 'beta');
    replacedConstants.add(bName);
  }

  // Activations: Q after the producer, then one DQ that every consumer reads. onnxruntime gives each
  // consumer its own copy at load time (EnsureUniqueDQForNodeUnit) before it matches QDQ node units, so
  // writing one DQ per consumer would only add bytes.
  for (const t of [...plan.calibrated, ...plan.shared.keys()]) {
    const qParams = paramsOf(t).names;
    const producer = index.producer.get(t);
    const isOutput = index.graphOutputs.has(t);
    let floatName = t;
    if (isOutput) {
      floatName = freshName(names, `${t}_float`);
      producer!.output[producer!.output.indexOf(t)] = floatName;
    }
    const qName = newName('q');
    const q = node('QuantizeLinear', [floatName, ...qParams], [qName]);
    if (producer) push(after, producer, q); else headNodes.push(q);
    const dqOut = isOutput ? t : newName('d');
    push(after, q, node('DequantizeLinear', [qName, ...qParams], [dqOut]));
    for (const consumer of new Set(index.consumers.get(t) ?? [])) {
      consumer.input.forEach((inp, i) => { if (inp === t) consumer.input[i] = dqOut; });
    }
  }

  // Rebuild the node list in order: DQs, node, Qs (and a graph output's DQ right after its Q).
  const nodes: NodeProto[] = [];
  const emit = (n: NodeProto) => {
    for (const d of before.get(n) ?? []) nodes.push(d);
    nodes.push(n);
    for (const q of after.get(n) ?? []) emit(q);
  };
  for (const n of [...headNodes, ...g.node]) emit(n);
  g.node = nodes;
  g.initializer.push(...newInits);
  dropUnusedConstants(g, replacedConstants);
  const live = usedNamesOfNodes(g);
  g.valueInfo = g.valueInfo.filter((v) => live.has(v.name));
  return out;
}

/**
 * Raises (in place) the weight scale of every channel whose bias β·b does not fit int32 at scale
 * s_in · s_w, to |β·b| / (s_in · (2³¹ − 1)) with onnxruntime's 1.0001 margin, and re-quantizes the weights
 * under the raised scales. Returns the channels raised.
 */
function raiseScalesForBias(q: QuantizedTensor, weights: ArrayLike<number>, dims: readonly number[], bias: ArrayLike<number>, beta: number, inputScale: number, [qmin, qmax]: [number, number]): number[] {
  const perChannel = q.scales.length > 1;
  const raised: number[] = [];
  for (let c = 0; c < bias.length; c++) {
    const s = perChannel ? c : 0;
    if (Math.abs(beta * bias[c] / Math.fround(inputScale * q.scales[s])) <= INT32_MAX) continue;
    q.scales[s] = Math.fround(1.0001 * Math.abs(beta * bias[c]) / (inputScale * INT32_MAX));
    raised.push(c);
  }
  const inner = perChannel ? numel(dims.slice(q.axis! + 1)) : weights.length;
  const changed = new Set(perChannel ? raised : raised.length > 0 ? [0] : []);
  for (let k = 0; k < weights.length; k++) {
    const s = perChannel ? Math.floor(k / inner) % q.scales.length : 0;
    if (changed.has(s)) q.values[k] = quantizeValue(weights[k], q.scales[s], 0, qmin, qmax);
  }
  return raised;
}

function usedNamesOfNodes(g: GraphProto): Set<string> {
  const s = new Set<string>();
  for (const n of g.node) { n.input.forEach((i) => s.add(i)); n.output.forEach((o) => s.add(o)); }
  return s;
}

export interface StaticQuantOptions extends QdqOptions, CalibrationOptions {
  selection?: LayerSelection;
  /** first fold BatchNormalization and constants (onnxruntime's 'basic' optimizer), per-channel Mul/Add after Convs, and hard-swish (default true) */
  optimize?: boolean;
  /** shift biases so each quantized layer's channel means match the float model's on the calibration data */
  biasCorrection?: boolean;
  /** samples bias correction measures per layer (default 64: channel means settle quickly, and it runs once per layer) */
  biasCorrectionSamples?: number;
  /** gptq: weights of Conv/Gemm/MatMul layers rounded by GPTQ with their Hessians on the calibration data (default nearest) */
  weightRounding?: 'nearest' | 'gptq';
  /** gptq: Hessians of the float model's inputs (original, default) or of the model with the earlier layers' weights rounded and activations quantized (quantized: GPTQ's sequential mode) */
  gptqInputs?: GptqInputs;
}

/**
 * Bias-correction targets of a QDQ model: each named quantized Conv/Gemm, compared after its output's
 * Q/DQ (which also applies any absorbed Relu/Clip) with the float model's tensor of the same name.
 */
export function qdqBiasTargets(float: ModelProto, qdq: ModelProto): BiasTarget[] {
  const produced = new Set(float.graph!.node.flatMap((n) => n.output));
  const index = indexGraph(qdq.graph!);
  const targets: BiasTarget[] = [];
  for (const n of qdq.graph!.node) {
    if (!n.name || (n.opType !== 'Conv' && n.opType !== 'Gemm') || index.producer.get(n.input[2] ?? '')?.opType !== 'DequantizeLinear') continue;
    const out = n.output[0];
    const q = index.consumers.get(out)?.find((c) => c.opType === 'QuantizeLinear');
    const dq = q && index.consumers.get(q.output[0])?.find((c) => c.opType === 'DequantizeLinear');
    const modifiedTensor = dq ? dq.output[0] : out;
    const referenceTensor = produced.has(modifiedTensor) ? modifiedTensor : out;
    if (produced.has(referenceTensor)) targets.push({ node: n.name, referenceTensor, modifiedTensor });
  }
  return targets;
}

/** The float model static quantization rewrites (opset ≥ 13, folded and fused) and the layers a selection picks from. */
export interface StaticPreparation {
  float: ModelProto;
  /** nodes of `float` with a static rule */
  candidates: NodeProto[];
  /** candidates that lead (weighted, element-wise, pool); shared and removable ones follow them */
  leads: NodeProto[];
  /** the model as given: selectors are checked against its nodes too (BN folding removes some) */
  given: ModelProto;
}

/** The first half of quantizeStatic: opset upgrade to 13 (21 for int4 weights) when needed, BN and Conv-affine folding, hard-swish fusion. */
export async function prepareStatic(proto: ModelProto, opts: Pick<StaticQuantOptions, 'optimize' | 'weightBits'>, src: TensorSource = {}): Promise<StaticPreparation> {
  let float = inlineExternalData(proto, src);
  const opset = opts.weightBits === 4 ? 21 : 13;
  if (opsetVersion(float) < opset) float = upgradeOpset(float, opset, src);
  if (opts.optimize ?? true) float = fuseHardSwish(foldConvAffine(await optimizeModel(float, 'basic', src.file), src), src);
  const candidates = float.graph!.node.filter((n) => STATIC_RULES[n.opType] && n.domain === '');
  const leads = candidates.filter((n) => !FOLLOWER_ROLES.has(STATIC_RULES[n.opType].role));
  return { float, candidates, leads, given: proto };
}

/** The nodes of `prep.float` a selection quantizes: the selected leads, and every follower not excluded itself. */
export function chooseStatic(prep: StaticPreparation, selection: LayerSelection = {}, file?: string): Set<NodeProto> {
  const allNodes = [...prep.given.graph!.node, ...prep.float.graph!.node];
  const excluded = new Set(selection.exclude?.length ? selectLayers(prep.candidates, { layers: selection.exclude }, allNodes, file) : []);
  const chosen = new Set(selectLayers(prep.leads, { layers: selection.layers }, allNodes, file).filter((n) => !excluded.has(n)));
  for (const n of prep.candidates) if (FOLLOWER_ROLES.has(STATIC_RULES[n.opType].role) && !excluded.has(n)) chosen.add(n);
  return chosen;
}

/**
 * onnxruntime (WeightBiasQuantization, from optimisation level 'basic' on) quantizes the float weight of a Conv,
 * ConvTranspose or Gemm whose input comes from a DequantizeLinear with a scalar scale, per-tensor int8: a layer kept
 * float between quantized ones would run int8 anyway (and, with a Relu before the next Q, fail to load: "two nodes
 * with same node name"). Such a layer reads its input through its own DequantizeLinear with the scale (and zero
 * point) repeated along the channel axis — the same values, a form that rewrite does not match.
 */
function keepFloatLayersFloat(g: GraphProto): void {
  const index = indexGraph(g);
  const names = usedNames(g);
  const nodes: NodeProto[] = [];
  for (const n of g.node) {
    const w = index.constants.get(n.input[1] ?? '');
    const dq = index.producer.get(n.input[0]);
    const scale = dq?.opType === 'DequantizeLinear' ? index.constants.get(dq.input[1]) : undefined;
    const zp = dq?.input[2] ? index.constants.get(dq.input[2]) : undefined;
    if (!['Conv', 'ConvTranspose', 'Gemm'].includes(n.opType) || n.domain !== '' || w?.dataType !== DataType.FLOAT || !scale || numel(tensorDims(scale)) !== 1 || (dq!.input[2] && !zp)) {
      nodes.push(n);
      continue;
    }
    const dims = tensorDims(w);
    const channels = n.opType === 'Conv' ? dims[1] * Number(getAttr(n, 'group')?.i ?? 1) : n.opType === 'ConvTranspose' ? dims[0] : dims[getAttr(n, 'transB')?.i ? 1 : 0];
    const repeated = (t: TensorProto) => {
      const name = freshName(names, `${t.name}_c`);
      g.initializer.push(makeTensor(name, t.dataType, [channels], new Array<number>(channels).fill(Number(tensorValues(t)[0]))));
      return name;
    };
    const input = freshName(names, `${n.input[0]}_f`);
    nodes.push(node('DequantizeLinear', [dq!.input[0], repeated(scale), ...(zp ? [repeated(zp)] : [])], [input], { axis: 1 }), n);
    n.input[0] = input;
  }
  g.node = nodes;
}

/** The last step of quantizeStatic: compact the QDQ graph and record the target in the metadata. */
export function finishStatic(quantized: ModelProto, target: QuantTarget | undefined): ModelProto {
  const result = compactQdq(quantized);
  keepFloatLayersFloat(result.graph!);
  recordTarget(result, target ?? DEFAULT_TARGET);
  return result;
}

/**
 * The whole static pipeline: opset upgrade to 13 (21 for int4 weights) when needed, BN and Conv-affine folding, hard-swish fusion, planning over the selected
 * layers, calibration of the planned activations on the float model, and the QDQ rewrite.
 */
export async function quantizeStatic(proto: ModelProto, source: BatchSource, opts: StaticQuantOptions, src: TensorSource = {}): Promise<ModelProto> {
  const prep = await prepareStatic(proto, opts, src);
  const float = prep.float;
  const plan = planQdq(float.graph!, chooseStatic(prep, opts.selection, src.file), src);
  const ranges = await calibrate(float, [...plan.calibrated], source, { ...opts, file: src.file });
  const roundWeights = opts.weightRounding === 'gptq' ? await gptqWeights(float, plan, ranges, source, opts, src) : undefined;
  let quantized = applyQdq(float, plan, ranges, { ...opts, roundWeights }, src);
  if (opts.biasCorrection) {
    const limit = Math.min(opts.limit ?? Infinity, opts.biasCorrectionSamples ?? 64);
    quantized = (await correctBiases(float, quantized, qdqBiasTargets(float, quantized), source, { ...opts, ...src, limit })).proto;
  }
  return finishStatic(quantized, opts.target);
}

/**
 * GPTQ rounding for the planned layers that have a Hessian (Conv, Gemm, MatMul), round-to-nearest for other
 * weighted ops. Sequential mode reads each layer's input from the QDQ model with the layers before it rounded:
 * the quantized activation (its DequantizeLinear's output) the layer sees.
 */
async function gptqWeights(float: ModelProto, plan: QdqPlan, ranges: ReadonlyMap<string, TensorRange>, source: BatchSource, opts: StaticQuantOptions, src: TensorSource): Promise<WeightRounding> {
  const layers = new Set(weightedLayers(float.graph!).filter((l) => plan.nodes.has(l.node)).map((l) => l.name));
  const quiet = { ...opts, onWarning: undefined };
  const dry = recordingRounding();
  applyQdq(float, plan, ranges, { ...quiet, roundWeights: dry.rounding }, src);
  const requests = new Map([...dry.requests].filter(([name]) => layers.has(name)));
  // The QDQ model's layers are found by name: unnamed ones are named by their label (nodeLabel is unchanged) until done.
  const unnamed = float.graph!.node.filter((n) => !n.name && layers.has(nodeLabel(n)));
  unnamed.forEach((n) => { n.name = nodeLabel(n); });
  try {
    const { rounded } = await roundLayersByGptq({ ...src, proto: float }, source, requests, {
      samples: opts.limit, threads: opts.threads, file: src.file, inputs: opts.gptqInputs,
      partlyQuantized: (done, next) => {
        const qdq = applyQdq(float, plan, ranges, { ...quiet, roundWeights: replayRounding(done) }, src);
        const n = qdq.graph!.node.find((m) => m.name === next.name)!;
        return { proto: qdq, input: n.input[0], output: n.output[0] };
      },
    });
    return replayRounding(rounded);
  } finally {
    unnamed.forEach((n) => { n.name = ''; });
  }
}
