// Automatic compression plan within an accuracy budget: one-at-a-time sensitivity, then a greedy fallback to float,
// as ONNX Runtime's qdq_loss_debug workflow and TensorRT's layer-precision sweeps use it (rank layers by the error
// each causes alone, keep the worst in higher precision until the whole model meets the target), with HAWQ's idea
// of spending low bits where the model is least sensitive (here: int4 weights, tried on the largest layers).
//
// Algorithm (L weighted layers; every "measure" applies the candidate steps with applyRecipe — so it is the model
// the written recipe makes — and evaluates top-1 on the planning data):
//   1. sensitivity: each layer alone in static int8 QDQ (src/core/eval/sensitivity.ts): 1 + L evaluations, one
//      calibration pass. Layers are ordered most sensitive first by Δtop-1, then agreement, then output SQNR.
//   2. measure uniform static int8. While over budget, the k most sensitive layers go back to float; the smallest
//      such k is found by binary search over 1..L (k = L, all float, meets any budget unmeasured): ⌈log2 L⌉ measures.
//      The drop is not exactly monotone in k, so the k found is one that was measured within budget.
//   3. int4 weights (weight-only, the layer computes in float) on the largest int8 layers, largest first, each kept
//      only if the model still meets the budget and gets smaller: at most `int4Tries` measures.
//   4. the plan's steps applied once more from the start, measured on the planning data (top-1, size) and for
//      batch-1 latency against the original. If that misses the budget the plan is all float, said plainly.
// Cost: (1 + L) + ⌈log2 L⌉ + int4Tries + 1 evaluations of the planning data and 2 + ⌈log2 L⌉ + int4Tries
// calibration passes (each recipe application calibrates; a pass is about one evaluation of the calibration data).
// Unstructured sparsity is not planned: zeros neither shrink an ONNX file (weights are stored dense) nor speed up
// onnxruntime's CPU kernels, so it cannot buy size or time here.
import { UsageError } from '../errors';
import { measureLatencies, type Latency } from '../eval/latency';
import { topKAccuracy } from '../eval/metrics';
import { openSession } from '../eval/runner';
import type { Dataset } from '../eval/datasets';
import { evaluate, layerSensitivity, type LayerSensitivity, type SensitivityProgress } from '../eval/sensitivity';
import type { ModelProto } from '../onnx/proto';
import type { Model } from '../onnx/read';
import { encodeModel } from '../onnx/write';
import type { CalibrationMethod } from '../quantize/calibrate/calibrate';
import { WEIGHT_RULES } from '../quantize/rules';
import { applyRecipe } from '../recipe/apply';
import type { CalibrationData } from '../recipe/context';
import type { QuantizeStep, Step } from '../recipe/types';
import { exactSelector } from '../select';

export type LayerChoice = 'float' | 'int8' | 'int4';

export interface PlanOptions {
  /** the largest allowed top-1 drop, in percentage points */
  budget: number;
  calibration: CalibrationData;
  calibSamples?: number;
  method?: CalibrationMethod;
  /** the CPUs the int8 kernels are for (default portable) */
  target?: string;
  perChannel?: boolean;
  /** int4 weight trials on the largest int8 layers (default 8; 0 = none) */
  int4Tries?: number;
  /** layers with fewer constant parameters are not tried in int4: their scales would outweigh the saving (default 1024) */
  int4MinParams?: number;
  batchSize?: number;
  /** timed batch-1 runs per model for the final latency (default 50) */
  latencyRuns?: number;
  signal?: AbortSignal;
  onProgress?: (p: PlanProgress) => void;
  onWarning?: (message: string) => void;
  /** how messages name options (default: as a recipe spells them) */
  optionName?: (key: string) => string;
}

export interface PlanProgress {
  phase: 'sensitivity' | 'search' | 'measure';
  message: string;
  /** 0..1 over the whole plan */
  fraction: number;
}

export interface PlannedLayer extends LayerSensitivity {
  choice: LayerChoice;
}

/** One measured candidate of the search. */
export interface PlanTrial {
  /** what the candidate changes: 'uniform int8', 'float ×k', 'int4 LAYER' */
  action: string;
  top1: number;
  /** percentage points, candidate − original */
  deltaTop1: number;
  bytes: number;
  kept: boolean;
}

export interface ModelFigures {
  top1: number;
  /** percentage points vs the original */
  deltaTop1: number;
  /** bytes of the encoded model */
  bytes: number;
}

export interface PlanResult {
  model: string;
  /** top-1 drop budget in percentage points */
  budget: number;
  /** planning samples */
  n: number;
  /** false when the measured plan missed the budget and everything was returned to float */
  withinBudget: boolean;
  /** the recipe steps (empty: keep the model as it is) */
  steps: Step[];
  /** most sensitive first */
  layers: PlannedLayer[];
  original: { top1: number; bytes: number; latencyMs: Latency };
  uniformInt8: ModelFigures;
  /** what the search measured for the chosen candidate */
  planned: ModelFigures;
  /** the steps applied again from the start: on the planning data, and batch-1 latency against the original */
  measured: ModelFigures & { latencyMs: Latency; latencyRatio: number; sizeRatio: number };
  trials: PlanTrial[];
  /** planning-data evaluations the search cost (sensitivity included) */
  evaluations: number;
  warnings: string[];
}

/** Sensitivity order: Δtop-1, then agreement, then SQNR, worst first. */
const mostSensitiveFirst = (a: LayerSensitivity, b: LayerSensitivity) =>
  (a.deltaTop1 ?? 0) - (b.deltaTop1 ?? 0) || a.agreement - b.agreement || a.sqnrDb - b.sqnrDb || a.name.localeCompare(b.name);

/** The recipe steps of a choice: static int8 for all but the float and int4 layers, then int4 weights for those. */
export function planSteps(choices: ReadonlyMap<string, LayerChoice>, opts: Pick<PlanOptions, 'calibSamples' | 'method' | 'target' | 'perChannel'>): Step[] {
  const named = (c: LayerChoice) => [...choices].filter(([, v]) => v === c).map(([name]) => exactSelector(name));
  if (![...choices.values()].some((c) => c !== 'float')) return [];
  const [float, int4] = [named('float'), named('int4')];
  const excluded = [...float, ...int4];
  // Options left at their defaults are left out, so the recipe says only what differs.
  const given = Object.entries({ perChannel: opts.perChannel, method: opts.method, target: opts.target, calibSamples: opts.calibSamples }).filter(([, v]) => v !== undefined);
  const int8: QuantizeStep = { kind: 'quantize', mode: 'static', ...Object.fromEntries(given), ...(excluded.length > 0 ? { exclude: excluded } : {}) };
  // int4 after static: the static step leaves these layers float, then their weights alone become int4.
  return int4.length > 0 ? [int8, { kind: 'quantize', mode: 'weight', bits: 4, layers: int4 }] : [int8];
}

/** The plan and the model its steps make (the original's proto when the plan keeps everything float). */
export async function planCompression(model: Model, data: Dataset, opts: PlanOptions): Promise<{ result: PlanResult; proto: ModelProto }> {
  const file = model.file ?? 'model';
  if (!data.labels) throw new UsageError(file, 'planning needs labelled data: the budget is a top-1 drop');
  if (!(opts.budget >= 0)) throw new UsageError(file, `the budget must be a top-1 drop ≥ 0 pp, got ${opts.budget}`);
  const warnings = new Set<string>();
  const onWarning = (message: string) => {
    if (!warnings.has(message)) opts.onWarning?.(message);
    warnings.add(message);
  };
  const progress = (phase: PlanProgress['phase'], message: string, fraction: number) => opts.onProgress?.({ phase, message, fraction });

  const sensitivity = await layerSensitivity(model, data, {
    mode: 'static', perChannel: opts.perChannel, method: opts.method, target: opts.target, calibration: opts.calibration,
    calibSamples: opts.calibSamples, batchSize: opts.batchSize, signal: opts.signal, onWarning, optionName: opts.optionName,
    onProgress: (p: SensitivityProgress) => progress('sensitivity', `sensitivity: ${p.message}`, 0.6 * p.fraction),
  });
  const order = [...sensitivity.layers].sort(mostSensitiveFirst);
  const baseTop1 = sensitivity.baseline.top1!;
  const within = (top1: number) => 100 * (baseTop1 - top1) <= opts.budget + 1e-9;
  let evaluations = 1 + order.length;

  const trials: PlanTrial[] = [];
  const tries = opts.int4Tries ?? 8;
  const searchMeasures = 1 + Math.ceil(Math.log2(Math.max(2, order.length))) + tries;
  const measure = async (choices: ReadonlyMap<string, LayerChoice>, action: string): Promise<ModelFigures> => {
    progress('search', `measuring ${action}`, 0.6 + (0.3 * trials.length) / searchMeasures);
    const r = await applyRecipe(model, planSteps(choices, opts), { file, calibration: opts.calibration, signal: opts.signal, onWarning });
    const bytes = encodeModel(r.model.proto);
    const top1 = topKAccuracy(await evaluate(file, bytes, data, opts), data.labels!, 1);
    evaluations++;
    return { top1, deltaTop1: 100 * (top1 - baseTop1), bytes: bytes.length };
  };
  const record = (action: string, f: ModelFigures, kept: boolean) => trials.push({ action, top1: f.top1, deltaTop1: f.deltaTop1, bytes: f.bytes, kept });
  const withFloat = (k: number) => new Map(order.map((l, i) => [l.name, i < k ? 'float' : 'int8'] as [string, LayerChoice]));

  // 2. uniform int8, then the fewest most-sensitive layers back to float.
  const uniformInt8 = await measure(withFloat(0), 'uniform int8');
  const originalBytes = encodeModel(model.proto).length;
  const floatFigures: ModelFigures = { top1: baseTop1, deltaTop1: 0, bytes: originalBytes };
  let choices = withFloat(0);
  let best = uniformInt8;
  record('uniform int8', uniformInt8, within(uniformInt8.top1));
  if (!within(uniformInt8.top1)) {
    let [lo, hi] = [0, order.length];
    best = floatFigures;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      const f = await measure(withFloat(mid), `float ×${mid}`);
      record(`float ×${mid}`, f, within(f.top1));
      if (within(f.top1)) [hi, best] = [mid, f];
      else lo = mid;
    }
    choices = withFloat(hi);
  }

  // 3. int4 weights on the largest remaining int8 layers.
  const int4Candidates = order
    .filter((l) => choices.get(l.name) === 'int8' && l.params >= (opts.int4MinParams ?? 1024) && WEIGHT_RULES[l.op] !== undefined)
    .sort((a, b) => b.params - a.params || -mostSensitiveFirst(a, b))
    .slice(0, tries);
  for (const layer of int4Candidates) {
    opts.signal?.throwIfAborted();
    const trial = new Map(choices).set(layer.name, 'int4');
    const f = await measure(trial, `int4 ${layer.name}`);
    const keep = within(f.top1) && f.bytes < best.bytes;
    record(`int4 ${layer.name}`, f, keep);
    if (keep) [choices, best] = [trial, f];
  }

  // 4. the plan applied again from the start and measured.
  progress('measure', 'measuring the plan', 0.9);
  let steps = planSteps(choices, opts);
  let proto = steps.length === 0 ? model.proto : (await applyRecipe(model, steps, { file, calibration: opts.calibration, signal: opts.signal, onWarning })).model.proto;
  let final = encodeModel(proto);
  let measured: ModelFigures = { top1: topKAccuracy(await evaluate(file, final, data, opts), data.labels, 1), deltaTop1: 0, bytes: final.length };
  measured.deltaTop1 = 100 * (measured.top1 - baseTop1);
  const withinBudget = within(measured.top1);
  if (!withinBudget) {
    onWarning(`the plan measured ${measured.deltaTop1.toFixed(2)} pp on the planning data, over the budget of ${opts.budget} pp: every layer stays float`);
    choices = new Map(order.map((l) => [l.name, 'float']));
    steps = [];
    proto = model.proto;
    final = encodeModel(proto);
    measured = floatFigures;
  }
  progress('measure', 'timing the plan and the original (batch 1)', 0.95);
  const [latency, originalLatency] = await timeBatchOne(file, [final, model.file ? undefined : encodeModel(model.proto)], data, opts);
  progress('measure', 'done', 1);

  const result: PlanResult = {
    model: file, budget: opts.budget, n: data.n, withinBudget, steps,
    layers: order.map((l) => ({ ...l, choice: choices.get(l.name)! })),
    original: { top1: baseTop1, bytes: originalBytes, latencyMs: originalLatency },
    uniformInt8, planned: withinBudget ? best : floatFigures,
    measured: { ...measured, latencyMs: latency, latencyRatio: latency.p50 / originalLatency.p50, sizeRatio: measured.bytes / originalBytes },
    trials, evaluations: evaluations + 1, warnings: [...warnings],
  };
  return { result, proto };
}

/** Batch-1, single-thread latency of models given as bytes (or, for undefined, the file), timed in alternating rounds. */
async function timeBatchOne(file: string, models: (Uint8Array | undefined)[], data: Dataset, opts: PlanOptions): Promise<Latency[]> {
  const sessions = await Promise.all(models.map((bytes) => openSession(file, { bytes, intraOpThreads: 1 })));
  try {
    return await measureLatencies(sessions, data, { runs: opts.latencyRuns ?? 50, signal: opts.signal });
  } finally {
    for (const s of sessions) await s.session.release();
  }
}
