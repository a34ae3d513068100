// What the editor shows of a model's measured results: the CLI's --json outputs kept in the ResultStore
// (sensitivity, profile, bench), chosen for the shown model and reduced to per-layer marks and header figures.
// Pure functions, no vscode.
import type { LatencyMarks, LayerSensitivityMark, LayerTimeMark, Measurements } from '../../protocol';

/** `onnx-lens profile --json` (src/core/eval/profile.ts): what the editor reads of it. */
export interface ProfileJson {
  model: string;
  runs: number;
  totalMs: number;
  /** `name`: the layer label as inspect prints it; `ms`: per run; `fusedInto`: the layer whose kernel computes this one */
  layers: { name: string; op: string; ms: number; share: number; fusedInto?: string }[];
  other?: { ms: number; kernels: number };
}

/** `onnx-lens sensitivity --json` (src/core/eval/sensitivity.ts SensitivityResult): what the editor reads of it. */
export interface SensitivityJson {
  mode: string;
  bits: number;
  n: number;
  layers: { name: string; deltaTop1: number | null; agreement: number; sqnrDb: number | null }[];
}

/** `onnx-lens bench --json` (src/core/eval/benchmark.ts BenchResult): what the header shows of it. */
export interface BenchJson {
  n: number;
  top1: number | null;
  latencyMs: { p50: number };
  baseline?: { model: string };
  delta?: { top1: number | null; sizeRatio: number };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function isProfileJson(v: unknown): v is ProfileJson {
  return isObject(v) && isFiniteNumber(v.runs) && isFiniteNumber(v.totalMs) && Array.isArray(v.layers) &&
    v.layers.every((l) => isObject(l) && typeof l.name === 'string' && isFiniteNumber(l.ms) && isFiniteNumber(l.share));
}

export function isSensitivityJson(v: unknown): v is SensitivityJson {
  return isObject(v) && typeof v.mode === 'string' && isFiniteNumber(v.bits) && isFiniteNumber(v.n) && Array.isArray(v.layers) &&
    v.layers.every((l) => isObject(l) && typeof l.name === 'string' && isFiniteNumber(l.agreement));
}

export function isBenchJson(v: unknown): v is BenchJson {
  return isObject(v) && isFiniteNumber(v.n) && isObject(v.latencyMs) && isFiniteNumber(v.latencyMs.p50);
}

/** Per-layer times (a layer onnxruntime fused into another's kernel has 0 ms, and says which). */
export function latencyMarks(p: ProfileJson, time: number, source?: string): LatencyMarks {
  const layers: Record<string, LayerTimeMark> = {};
  for (const l of p.layers) layers[l.name] = { ms: l.ms, share: l.share, ...(typeof l.fusedInto === 'string' ? { fusedInto: l.fusedInto } : {}) };
  return { runs: p.runs, totalMs: p.totalMs, time, layers, ...(source ? { source } : {}) };
}

export function sensitivityMarks(s: SensitivityJson, time: number, before: boolean): NonNullable<Measurements['sensitivity']> {
  const layers: Record<string, LayerSensitivityMark> = {};
  for (const l of s.layers) {
    // JSON has no Infinity: identical outputs (infinite SQNR) arrive as null.
    layers[l.name] = { deltaTop1: isFiniteNumber(l.deltaTop1) ? l.deltaTop1 : null, agreement: Math.min(1, Math.max(0, l.agreement)), sqnrDb: isFiniteNumber(l.sqnrDb) ? l.sqnrDb : null };
  }
  return { mode: s.mode, bits: s.bits, n: s.n, time, before, layers };
}

/** A kept result as the ResultStore holds it: the CLI's JSON, when it was measured, the baseline it was measured against. */
export interface KeptResult { result: unknown; time: number; baseline?: string }

export interface MeasuredModel {
  /** the model's file (undefined: not a local file, nothing kept) */
  file?: string;
  /** the document has unsaved edits: the file's results are its "before" */
  dirty: boolean;
  budget: number;
  /** the newest current result of `kind` for `model` (ResultStore.latest) */
  latest(kind: 'sensitivity' | 'profile' | 'bench', model: string): KeptResult | undefined;
  /** the profile of the document's current (edited) model, when it has one */
  editedProfile?: { result: ProfileJson; time: number };
}

/**
 * The measurements of the shown model (the device fit aside): its sensitivity and last benchmark, its latency and a
 * "before" latency — of the file on disk while the document has edits, else of the baseline of its last benchmark.
 */
export function measurementsOf(m: MeasuredModel): Measurements {
  const measurements: Measurements = { budget: m.budget };
  const latest = <T>(kind: 'sensitivity' | 'profile' | 'bench', model: string | undefined, valid: (v: unknown) => v is T) => {
    const r = model ? m.latest(kind, model) : undefined;
    return r && valid(r.result) ? { result: r.result, time: r.time, baseline: r.baseline } : undefined;
  };
  const sensitivity = latest('sensitivity', m.file, isSensitivityJson);
  if (sensitivity) measurements.sensitivity = sensitivityMarks(sensitivity.result, sensitivity.time, m.dirty);
  const bench = latest('bench', m.file, isBenchJson);
  if (bench) measurements.bench = benchMark(bench.result, bench.time, m.dirty);
  const fileProfile = latest('profile', m.file, isProfileJson);
  if (m.dirty) {
    if (m.editedProfile) measurements.latency = latencyMarks(m.editedProfile.result, m.editedProfile.time);
    if (fileProfile) measurements.latencyBefore = latencyMarks(fileProfile.result, fileProfile.time, m.file);
  } else {
    if (fileProfile) measurements.latency = latencyMarks(fileProfile.result, fileProfile.time);
    const baseline = bench?.baseline ?? bench?.result.baseline?.model;
    const baselineProfile = baseline && baseline !== m.file ? latest('profile', baseline, isProfileJson) : undefined;
    if (baselineProfile) measurements.latencyBefore = latencyMarks(baselineProfile.result, baselineProfile.time, baseline);
  }
  return measurements;
}

export function benchMark(b: BenchJson, time: number, before: boolean): NonNullable<Measurements['bench']> {
  return {
    top1: b.top1, deltaTop1: b.delta?.top1 ?? null, p50: b.latencyMs.p50, sizeRatio: b.delta?.sizeRatio ?? null, n: b.n, time,
    ...(b.baseline?.model ? { baseline: b.baseline.model } : {}), before,
  };
}
