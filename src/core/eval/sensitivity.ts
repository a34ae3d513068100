// Per-layer sensitivity to quantization (one-at-a-time analysis, as in ORT's qdq_loss_debug and TensorRT's layer
// precision sweeps): each weighted layer is quantized alone, the rest stays float, and the variant's outputs on the
// evaluation data are compared with the original's — top-1 change, agreement and output SQNR. Static mode calibrates
// every activation range the single-layer plans need in one pass and reuses it, so each variant costs one rewrite
// and one evaluation run, and is the same model `quantize --mode static --layers name:LAYER` writes.
import { UsageError } from '../errors';
import { indexGraph, nodeLabel } from '../onnx/graph';
import type { ModelProto, NodeProto } from '../onnx/proto';
import { inlineExternalData, type Model } from '../onnx/read';
import { numel } from '../onnx/shapes';
import { tensorDims } from '../onnx/tensor';
import { encodeModel } from '../onnx/write';
import { calibrate, type CalibrationMethod } from '../quantize/calibrate/calibrate';
import { applyQdq, chooseStatic, finishStatic, planQdq, prepareStatic, type QdqPlan } from '../quantize/qdq';
import { STATIC_RULES } from '../quantize/rules';
import { weightCandidates } from '../quantize/weightOnly';
import { applyStep } from '../recipe/apply';
import { calibSamples, checkStep, openCalibration, type CalibrationData, type StepContext } from '../recipe/context';
import { integerTarget, recipeOptionName } from '../recipe/stepChecks';
import type { QuantizeStep } from '../recipe/types';
import { exactSelector } from '../select';
import type { Dataset } from './datasets';
import { agreement, sqnrDb, topKAccuracy } from './metrics';
import { openSession, runModel, type Outputs } from './runner';

export type SensitivityMode = 'static' | 'weight';

export interface SensitivityOptions {
  mode: SensitivityMode;
  bits?: 8 | 4;
  perChannel?: boolean;
  /** static: activation range calibration (default minmax) */
  method?: CalibrationMethod;
  /** static: the CPUs the int8 kernels are for (default portable) */
  target?: string;
  /** static: the calibration data */
  calibration?: CalibrationData;
  calibSamples?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: SensitivityProgress) => void;
  onWarning?: (message: string) => void;
  /** how messages name options (default: as a recipe spells them) */
  optionName?: (key: string) => string;
}

export interface SensitivityProgress {
  message: string;
  /** 0..1 over the whole analysis */
  fraction: number;
  phase: 'calibrate' | 'baseline' | 'layer';
  /** phase layer: layers finished and their count */
  done?: number;
  total?: number;
  layer?: string;
}

export interface LayerSensitivity {
  /** the node label (`name:` selector form without the prefix) */
  name: string;
  op: string;
  /** elements of the layer's constant inputs (weight and bias) */
  params: number;
  /** null for unlabelled data */
  top1: number | null;
  /** percentage points, variant − original; null for unlabelled data */
  deltaTop1: number | null;
  /** fraction of samples where the variant predicts the original's class */
  agreement: number;
  /** 10·log10(Σ y² / Σ (y − ŷ)²) over the first output; Infinity when the outputs are identical */
  sqnrDb: number;
}

export interface SensitivityResult {
  model: string;
  mode: SensitivityMode;
  bits: number;
  /** evaluation samples */
  n: number;
  baseline: { top1: number | null };
  /** most sensitive first: by Δtop-1, then by SQNR */
  layers: LayerSensitivity[];
}

/** One single-layer variant, made on demand so that only one is held in memory. */
interface Variant { node: NodeProto; params: number; make: () => Promise<ModelProto> }

export async function layerSensitivity(model: Model, data: Dataset, opts: SensitivityOptions): Promise<SensitivityResult> {
  const file = model.file ?? 'model';
  const bits = opts.bits ?? 8;
  const step: QuantizeStep = {
    kind: 'quantize', mode: opts.mode, bits, perChannel: opts.perChannel, method: opts.mode === 'static' ? opts.method : undefined,
    target: opts.target, calibSamples: opts.calibSamples,
  };
  const ctx: StepContext = { file, calibration: opts.calibration, optionName: opts.optionName, signal: opts.signal };
  checkStep(step, ctx, file);
  const name = opts.optionName ?? recipeOptionName;
  if (opts.mode === 'static' && bits === 4) throw new UsageError(file, `${name('bits')} 4 is only available with ${name('mode')} weight here: static sensitivity measures int8 layers`);
  const units = opts.mode === 'static' ? 2 : 1;
  const progress = (p: Omit<SensitivityProgress, 'fraction'>, fraction: number) => opts.onProgress?.({ ...p, fraction });

  const variants = opts.mode === 'static' ? await staticVariants(model, step, ctx, opts, () => progress({ phase: 'calibrate', message: 'calibrating activation ranges' }, 0)) : weightVariants(model, step);
  if (variants.length === 0) throw new UsageError(file, `no layer can be quantized with --mode ${opts.mode}`);
  const total = units + variants.length;

  progress({ phase: 'baseline', message: `evaluating ${file}` }, (units - 1) / total);
  const baseline = await evaluate(file, model.file ? undefined : encodeModel(model.proto), data, opts);
  const top1 = (out: Outputs) => (data.labels ? topKAccuracy(out, data.labels, 1) : null);
  const baseTop1 = top1(baseline);

  const layers: LayerSensitivity[] = [];
  for (const [i, v] of variants.entries()) {
    opts.signal?.throwIfAborted();
    const name = nodeLabel(v.node);
    progress({ phase: 'layer', message: `layer ${i + 1}/${variants.length}: ${name}`, done: i, total: variants.length, layer: name }, (units + i) / total);
    const out = await evaluate(file, encodeModel(await v.make()), data, opts);
    const t = top1(out);
    layers.push({
      name, op: v.node.opType, params: v.params,
      top1: t, deltaTop1: t === null || baseTop1 === null ? null : 100 * (t - baseTop1),
      agreement: agreement(baseline, out), sqnrDb: sqnrDb(baseline, out),
    });
  }
  progress({ phase: 'layer', message: 'done', done: variants.length, total: variants.length }, 1);
  layers.sort((a, b) => (a.deltaTop1 ?? 0) - (b.deltaTop1 ?? 0) || a.sqnrDb - b.sqnrDb || a.name.localeCompare(b.name));
  return { model: file, mode: opts.mode, bits, n: data.n, baseline: { top1: baseTop1 }, layers };
}

/** Weight-only: each candidate through the quantize step itself, selected by its exact name. */
function weightVariants(given: Model, step: QuantizeStep): Variant[] {
  // The variants run from memory, where external-data references would not resolve.
  const model = { ...given, proto: inlineExternalData(given.proto, given) };
  const params = constantParams(model.proto);
  return weightCandidates(model.proto).map((node) => ({
    node, params: params(node),
    make: async () => (await applyStep(model, { ...step, layers: [exactSelector(nodeLabel(node))] }, { file: model.file })).model.proto,
  }));
}

/**
 * Static QDQ: the model is folded once, every weighted layer gets its own plan (the layer with the followers
 * quantizeStatic adds), and the union of the plans' activations is calibrated in one pass.
 */
async function staticVariants(model: Model, step: QuantizeStep, ctx: StepContext, opts: SensitivityOptions, onCalibrate: () => void): Promise<Variant[]> {
  const calib = await openCalibration(ctx, model, calibSamples(step, ctx));
  onCalibrate();
  const prep = await prepareStatic(model.proto, {}, model);
  const g = prep.float.graph!;
  const plans: { node: NodeProto; plan: QdqPlan }[] = [];
  for (const node of prep.leads.filter((n) => STATIC_RULES[n.opType].role === 'weighted')) {
    const plan = planQdq(g, chooseStatic(prep, { layers: [exactSelector(nodeLabel(node))] }, model.file), model);
    // planQdq leaves out weighted ops it cannot quantize (a non-constant weight, a 3-D MatMul weight, …).
    if (plan.nodes.has(node)) plans.push({ node, plan });
  }
  const tensors = new Set(plans.flatMap((p) => [...p.plan.calibrated]));
  const ranges = await calibrate(prep.float, [...tensors], calib, { method: step.method ?? 'minmax', file: model.file });
  const target = integerTarget(step);
  const qdq = { perChannel: step.perChannel ?? true, activationType: 'uint8' as const, target, onWarning: opts.onWarning };
  // Parameters as the model was given (before BN folding added biases), where the layer is there by name.
  const given = new Map(model.proto.graph!.node.map((n) => [nodeLabel(n), n]));
  const [params, floatParams] = [constantParams(model.proto), constantParams(prep.float)];
  return plans.map(({ node, plan }) => ({
    node, params: given.has(nodeLabel(node)) ? params(given.get(nodeLabel(node))!) : floatParams(node),
    make: async () => finishStatic(applyQdq(prep.float, plan, ranges, qdq, model), target),
  }));
}

/** The first output on every sample: of the file, or of `bytes` run from memory. */
export async function evaluate(file: string, bytes: Uint8Array | undefined, data: Dataset, opts: Pick<SensitivityOptions, 'batchSize' | 'signal'>): Promise<Outputs> {
  const session = await openSession(file, { bytes });
  try {
    return await runModel(session, data, { batchSize: opts.batchSize, signal: opts.signal });
  } finally {
    await session.session.release();
  }
}

/** Elements of a node's constant inputs (weight and bias), for nodes of `proto`. */
function constantParams(proto: ModelProto): (node: NodeProto) => number {
  const constants = indexGraph(proto.graph!).constants;
  return (node) => node.input.reduce((sum, i) => sum + (constants.has(i) ? numel(tensorDims(constants.get(i)!)) : 0), 0);
}
