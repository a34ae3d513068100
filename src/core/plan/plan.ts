// Automatic compression plan within an accuracy budget: one-at-a-time sensitivity, then a greedy fallback to float,
// as ONNX Runtime's qdq_loss_debug workflow and TensorRT's layer-precision sweeps use it (rank layers by the error
// each causes alone, keep the worst in higher precision until the whole model meets the target), with HAWQ's idea
// of spending low bits where the model is least sensitive (here: int4 weights, tried on the largest layers).
//
// Algorithm (L weighted layers, N planning samples; every "measure" applies the candidate steps with applyRecipe —
// so it is the model the written recipe makes — and evaluates top-1 on all N planning samples):
//   1. sensitivity: each layer alone in static int8 QDQ (src/core/eval/sensitivity.ts) on ≤ 200 of the samples,
//      evenly spread (the ranking only orders the search; every decision is measured on all N). Layers are ordered
//      most sensitive first by Δtop-1, then agreement, then output SQNR.
//   2. measure uniform static int8. While over budget, the k most sensitive layers go back to float; the smallest
//      such k is found by binary search over 1..L (k = L, all float, meets any budget unmeasured): ⌈log2 L⌉ measures.
//      The drop is not exactly monotone in k, so the k found is one that was measured within budget. Here per-layer
//      latency is profiled (src/core/eval/profile.ts, float and uniform int8), and among layers of equal Δtop-1 those
//      whose int8 kernels are slower than float go back first.
//   3. int4 weights (weight-only, the layer computes in float) on the largest int8 layers, largest first, each kept
//      only if the model still meets the budget and gets smaller: at most `int4Tries` measures.
//   4. the plan's steps applied once more from the start, measured on the planning data (top-1, size) and for
//      batch-1 latency against the original. If that misses the budget the plan is all float, said plainly.
// Cost: 1 + L evaluations of the ranking samples, then 1 + 1 + ⌈log2 L⌉ + int4Tries + 1 of all N, and as many
// calibration passes as recipe applications (2 + ⌈log2 L⌉ + int4Tries, each about one run of the calibration data).
// Unstructured sparsity is not planned: zeros neither shrink an ONNX file (weights are stored dense) nor speed up
// onnxruntime's CPU kernels, so it cannot buy size or time here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors';
import { measureLatencies, type Latency } from '../eval/latency';
import { topKAccuracy } from '../eval/metrics';
import { profileLayers } from '../eval/profile';
import { openSession } from '../eval/runner';
import type { Dataset } from '../eval/datasets';
import { evaluate, layerSensitivity, type LayerSensitivity, type SensitivityOptions, type SensitivityProgress } from '../eval/sensitivity';
import type { ModelProto } from '../onnx/proto';
import { numel } from '../onnx/shapes';
import { inlineExternalData, type Model } from '../onnx/read';
import { encodeModel } from '../onnx/write';
import { WEIGHT_RULES } from '../quantize/rules';
import { applyRecipe } from '../recipe/apply';
import type { CalibrationData } from '../recipe/context';
import type { QuantizeStep, Step } from '../recipe/types';
import { exactSelector } from '../select';

export type LayerChoice = 'float' | 'int8' | 'int4';

/** Static int8 options as sensitivity takes them (method, target, perChannel, calibSamples default as in `quantize`). */
export interface PlanOptions extends Pick<SensitivityOptions, 'perChannel' | 'method' | 'target' | 'calibSamples' | 'batchSize' | 'signal' | 'onWarning' | 'optionName'> {
  /** the largest allowed top-1 drop, in percentage points */
  budget: number;
  calibration: CalibrationData;
  /** int4 weight trials on the largest int8 layers (default 8; 0 = none) */
  int4Tries?: number;
  /** samples (evenly spread over the planning data) the one-at-a-time sensitivity ranks layers on (default 200) */
  sensitivitySamples?: number;
  /** layers with fewer constant parameters are not tried in int4: their scales would outweigh the saving (default 1024) */
  int4MinParams?: number;
  /** timed batch-1 runs per model for the final latency (default 50) */
  latencyRuns?: number;
  onProgress?: (p: PlanProgress) => void;
}

export interface PlanProgress {
  phase: 'sensitivity' | 'search' | 'measure';
  message: string;
  /** 0..1 over the whole plan */
  fraction: number;
}

/** A layer as the one-at-a-time sensitivity measured it (on the ranking samples), with the plan's choice. */
export interface PlannedLayer extends LayerSensitivity {
  choice: LayerChoice;
  /**
   * batch-1 ms the layer's int8 kernels take beyond its float ones (onnxruntime's profiler, src/core/eval/profile.ts);
   * set when uniform int8 missed the budget and layers had to go back to float
   */
  int8CostMs?: number;
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
export async function planCompression(model: Model, given: Dataset, opts: PlanOptions): Promise<{ result: PlanResult; proto: ModelProto }> {
  const file = model.file ?? 'model';
  const data = given.n * numel(given.sampleShape) * 4 <= MAX_HELD_BYTES ? await held(given) : given;
  if (!data.labels) throw new UsageError(file, 'planning needs labelled data: the budget is a top-1 drop');
  if (!(opts.budget >= 0)) throw new UsageError(file, `the budget must be a top-1 drop ≥ 0 pp, got ${opts.budget}`);
  const warnings = new Set<string>();
  const onWarning = (message: string) => {
    if (!warnings.has(message)) opts.onWarning?.(message);
    warnings.add(message);
  };
  const progress = (phase: PlanProgress['phase'], message: string, fraction: number) => opts.onProgress?.({ phase, message, fraction });

  // The ranking only orders the search; every decision is measured on all the planning data.
  const ranking = await spreadSubset(data, opts.sensitivitySamples ?? 200);
  const sensitivity = await layerSensitivity(model, ranking, {
    mode: 'static', perChannel: opts.perChannel, method: opts.method, target: opts.target, calibration: opts.calibration,
    calibSamples: opts.calibSamples, batchSize: opts.batchSize, signal: opts.signal, onWarning, optionName: opts.optionName,
    onProgress: (p: SensitivityProgress) => progress('sensitivity', `sensitivity: ${p.message}`, 0.6 * p.fraction),
  });
  const order = [...sensitivity.layers].sort(mostSensitiveFirst);
  // The original encoded once: its size, and its bytes to run when it has no file.
  const original = encodeModel(model.proto);
  const baseTop1 = topKAccuracy(await evaluate(file, model.file ? undefined : original, data, opts), data.labels, 1);
  const within = (top1: number) => 100 * (baseTop1 - top1) <= opts.budget + 1e-9;
  let evaluations = 2 + order.length;

  const trials: PlanTrial[] = [];
  const tries = opts.int4Tries ?? 8;
  const searchMeasures = 1 + Math.ceil(Math.log2(Math.max(2, order.length))) + tries;
  let measuredBytes: Uint8Array = new Uint8Array();
  const measure = async (choices: ReadonlyMap<string, LayerChoice>, action: string): Promise<ModelFigures> => {
    progress('search', `measuring ${action}`, 0.6 + (0.3 * trials.length) / searchMeasures);
    const r = await applyRecipe(model, planSteps(choices, opts), { file, calibration: opts.calibration, signal: opts.signal, onWarning });
    measuredBytes = encodeModel(r.model.proto);
    const top1 = topKAccuracy(await evaluate(file, measuredBytes, data, opts), data.labels!, 1);
    evaluations++;
    return { top1, deltaTop1: 100 * (top1 - baseTop1), bytes: measuredBytes.length };
  };
  const record = (action: string, f: ModelFigures, kept: boolean) => trials.push({ action, top1: f.top1, deltaTop1: f.deltaTop1, bytes: f.bytes, kept });
  let fallback = order;
  const withFloat = (k: number) => new Map(fallback.map((l, i) => [l.name, i < k ? 'float' : 'int8'] as [string, LayerChoice]));

  // 2. uniform int8, then the fewest most-sensitive layers back to float.
  const uniformInt8 = await measure(withFloat(0), 'uniform int8');
  const originalBytes = original.length;
  const floatFigures: ModelFigures = { top1: baseTop1, deltaTop1: 0, bytes: originalBytes };
  let choices = withFloat(0);
  let best = uniformInt8;
  record('uniform int8', uniformInt8, within(uniformInt8.top1));
  let int8Cost = new Map<string, number>();
  if (!within(uniformInt8.top1)) {
    // Among layers that cost the same top-1 alone, those whose int8 kernels are slower than float go back first.
    progress('search', 'profiling per-layer latency (float and uniform int8)', 0.6 + 0.3 / searchMeasures);
    int8Cost = await int8TimeCost(model, measuredBytes, opts, onWarning);
    const slower = (l: LayerSensitivity) => Number((int8Cost.get(l.name) ?? 0) > 0);
    fallback = [...order].sort((a, b) => (a.deltaTop1 ?? 0) - (b.deltaTop1 ?? 0) || slower(b) - slower(a) || mostSensitiveFirst(a, b));
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
    final = original;
    measured = floatFigures;
  }
  progress('measure', 'timing the plan and the original (batch 1)', 0.95);
  const [latency, originalLatency] = await timeBatchOne(file, [final, model.file ? undefined : original], data, opts);
  progress('measure', 'done', 1);

  const result: PlanResult = {
    model: file, budget: opts.budget, n: data.n, withinBudget, steps,
    layers: order.map((l) => ({ ...l, choice: choices.get(l.name)!, ...(int8Cost.has(l.name) ? { int8CostMs: int8Cost.get(l.name) } : {}) })),
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

/** Decoded samples held in memory up to this many bytes: the plan evaluates the same data 2 + L + ⌈log2 L⌉ + … times. */
const MAX_HELD_BYTES = 1 << 30;

/** The samples at `picked` (default: all) decoded once and held in memory: decoding images costs more than most evaluations. */
async function held(data: Dataset, picked?: readonly number[]): Promise<Dataset> {
  const size = numel(data.sampleShape);
  const n = picked?.length ?? data.n;
  const samples = new Float32Array(n * size);
  if (picked) for (const [i, k] of picked.entries()) samples.set(await data.batch(k, 1), i * size);
  else for (let start = 0; start < n; start += 64) samples.set(await data.batch(start, Math.min(64, n - start)), start * size);
  const labels = picked && data.labels ? Int32Array.from(picked, (k) => data.labels![k]) : data.labels;
  return { ...data, n, labels, batch: async (start, count) => samples.slice(start * size, (start + count) * size) };
}

/** At most `count` samples evenly spread over the data set. */
const spreadSubset = (data: Dataset, count: number): Promise<Dataset> | Dataset =>
  data.n <= count ? data : held(data, Array.from({ length: count }, (_, i) => Math.floor((i * data.n) / count)));

/**
 * Per layer, the batch-1 time its int8 kernels take beyond its float ones: the original and the uniform int8 model
 * profiled (a temporary file for what is in memory). Empty, with a warning, if the profiler fails.
 */
async function int8TimeCost(model: Model, int8: Uint8Array, opts: PlanOptions, onWarning: (m: string) => void): Promise<Map<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-plan-'));
  try {
    const write = (name: string, bytes: Uint8Array) => { const f = path.join(dir, name); fs.writeFileSync(f, bytes); return f; };
    const original = model.file ?? write('float.onnx', encodeModel(inlineExternalData(model.proto, model)));
    const [float, quantized] = [await profileLayers(original, { signal: opts.signal }), await profileLayers(write('int8.onnx', int8), { signal: opts.signal })];
    const floatMs = new Map(float.layers.map((l) => [l.name, l.ms]));
    return new Map(quantized.layers.filter((l) => floatMs.has(l.name)).map((l) => [l.name, l.ms - floatMs.get(l.name)!]));
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    onWarning(`per-layer latency not measured (${(e as Error).message}): layers go back to float by sensitivity alone`);
    return new Map();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
