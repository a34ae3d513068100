// Tests src/extension/measure/measurementMarks.ts: the CLI's --json results (as the ResultStore keeps them) become the
// editor's per-layer marks and header figures; malformed results are recognised and not shown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '../../../src/core/eval/benchmark';
import type { SensitivityResult } from '../../../src/core/eval/sensitivity';
import { benchMark, isBenchJson, isProfileJson, isSensitivityJson, latencyMarks, measurementsOf, sensitivityMarks, type KeptResult } from '../../../src/extension/measure/measurementMarks';

/** What the store holds: the CLI's stdout, parsed (JSON turns an infinite SQNR into null). */
const asStored = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));

test('a sensitivity result: Δtop-1, agreement and SQNR per layer; identical outputs (infinite SQNR) arrive as null', () => {
  const result: SensitivityResult = {
    model: '/w/m.onnx', mode: 'static', bits: 8, n: 50, baseline: { top1: 0.9 },
    layers: [
      { name: '/c1/Conv', op: 'Conv', params: 216, top1: 0.7, deltaTop1: -20, agreement: 0.76, sqnrDb: 9.5 },
      { name: '/fc/Gemm', op: 'Gemm', params: 90, top1: 0.9, deltaTop1: 0, agreement: 1, sqnrDb: Infinity },
    ],
  };
  const stored = asStored(result);
  assert.equal(isSensitivityJson(stored), true);
  assert.deepEqual(sensitivityMarks(stored as never, 7, true), {
    mode: 'static', bits: 8, n: 50, time: 7, before: true,
    layers: { '/c1/Conv': { deltaTop1: -20, agreement: 0.76, sqnrDb: 9.5 }, '/fc/Gemm': { deltaTop1: 0, agreement: 1, sqnrDb: null } },
  });
  assert.equal(isSensitivityJson({ ...result, layers: [{ name: 'x' }] }), false, 'a layer without agreement');
});

test('a profile: ms and share per layer, a fused layer at 0 ms names the layer that computes it', () => {
  const profile = {
    model: '/w/m.onnx', runs: 20, totalMs: 2,
    layers: [
      { name: '/c1/Conv', op: 'Conv', ms: 1.5, share: 0.75, kernels: ['/c1/Conv_output_0_nchwc'] },
      { name: '/bn/BatchNormalization', op: 'BatchNormalization', ms: 0, share: 0, kernels: [], fusedInto: '/c1/Conv' },
    ],
    other: { ms: 0.5, kernels: 3 },
  };
  assert.equal(isProfileJson(profile), true);
  assert.deepEqual(latencyMarks(profile, 9, '/w/base.onnx'), {
    runs: 20, totalMs: 2, time: 9, source: '/w/base.onnx',
    layers: { '/c1/Conv': { ms: 1.5, share: 0.75 }, '/bn/BatchNormalization': { ms: 0, share: 0, fusedInto: '/c1/Conv' } },
  });
  assert.equal(isProfileJson({ ...profile, layers: [{ name: 'x', ms: '1' }] }), false);
  assert.equal(isProfileJson({ runs: 1, layers: [] }), false, 'no total');
});

test('a benchmark: top-1, the change vs the baseline, p50 and the size ratio; without a baseline no Δ', () => {
  const latency: BenchResult['latencyMs'] = { p50: 1.25, p95: 2, runs: 50 };
  const result = {
    model: '/w/q.onnx', bytes: 100, top1: 0.88, top5: 0.99, latencyMs: latency, n: 200,
    baseline: { model: '/w/m.onnx', bytes: 400, top1: 0.9, top5: 1, latencyMs: latency },
    delta: { top1: -2, top5: -1, latencyRatio: 1, sizeRatio: 0.25, agreement: 0.97, maxAbsDiff: 0.1 },
  } satisfies BenchResult;
  assert.equal(isBenchJson(asStored(result)), true);
  assert.deepEqual(benchMark(result, 5, false), { top1: 0.88, deltaTop1: -2, p50: 1.25, sizeRatio: 0.25, n: 200, time: 5, baseline: '/w/m.onnx', before: false });
  const { baseline: _b, delta: _d, ...alone } = result;
  assert.deepEqual(benchMark(alone, 5, true), { top1: 0.88, deltaTop1: null, p50: 1.25, sizeRatio: null, n: 200, time: 5, before: true });
  assert.equal(isBenchJson({ n: 1, top1: 1 }), false, 'no latency');
});

// ---- which results the editor shows ----

const profileOf = (model: string, ms: number) => ({ model, runs: 20, totalMs: ms, layers: [{ name: 'conv1', op: 'Conv', ms, share: 1 }] });
const sensitivity = { model: '/w/q.onnx', mode: 'weight', bits: 8, n: 10, baseline: { top1: 0.9 }, layers: [{ name: 'conv1', op: 'Conv', params: 1, top1: 0.8, deltaTop1: -10, agreement: 0.8, sqnrDb: 20 }] };
const bench = { model: '/w/q.onnx', bytes: 1, top1: 0.8, top5: 1, latencyMs: { p50: 2, p95: 3, runs: 5 }, n: 10, baseline: { model: '/w/m.onnx', bytes: 4, top1: 0.9, top5: 1, latencyMs: { p50: 2, p95: 3, runs: 5 } }, delta: { top1: -10, top5: 0, latencyRatio: 1, sizeRatio: 0.25, agreement: 0.8, maxAbsDiff: 1 } };

/** A store holding these results (kind:model → result), as ResultStore.latest answers. */
function store(kept: Record<string, unknown>): (kind: string, model: string) => KeptResult | undefined {
  return (kind, model) => (`${kind}:${model}` in kept ? { result: kept[`${kind}:${model}`], time: 1, ...(kind === 'bench' ? { baseline: '/w/m.onnx' } : {}) } : undefined);
}

test('a saved model shows its own results; its baseline\'s profile is the "before" of latency', () => {
  const m = measurementsOf({
    file: '/w/q.onnx', dirty: false, budget: 1,
    latest: store({ 'sensitivity:/w/q.onnx': sensitivity, 'bench:/w/q.onnx': bench, 'profile:/w/q.onnx': profileOf('/w/q.onnx', 1), 'profile:/w/m.onnx': profileOf('/w/m.onnx', 3) }),
  });
  assert.equal(m.sensitivity?.before, false);
  assert.equal(m.bench?.deltaTop1, -10);
  assert.equal(m.latency?.layers.conv1.ms, 1);
  assert.equal(m.latency?.source, undefined);
  assert.deepEqual([m.latencyBefore?.layers.conv1.ms, m.latencyBefore?.source], [3, '/w/m.onnx']);
});

test('an edited model: the file\'s results are "before"; its own latency only from a profile of its current bytes', () => {
  const latest = store({ 'sensitivity:/w/q.onnx': sensitivity, 'profile:/w/q.onnx': profileOf('/w/q.onnx', 1), 'profile:/w/m.onnx': profileOf('/w/m.onnx', 3) });
  const notProfiled = measurementsOf({ file: '/w/q.onnx', dirty: true, budget: 2, latest });
  assert.equal(notProfiled.budget, 2);
  assert.equal(notProfiled.sensitivity?.before, true);
  assert.equal(notProfiled.latency, undefined);
  assert.deepEqual([notProfiled.latencyBefore?.layers.conv1.ms, notProfiled.latencyBefore?.source], [1, '/w/q.onnx'], 'the file on disk, not a baseline');
  const profiled = measurementsOf({ file: '/w/q.onnx', dirty: true, budget: 2, latest, editedProfile: { result: profileOf('/tmp/q.edited.onnx', 0.5), time: 2 } });
  assert.equal(profiled.latency?.layers.conv1.ms, 0.5);
  assert.equal(profiled.latencyBefore?.layers.conv1.ms, 1);
});

test('nothing kept, a non-file model, or malformed results: nothing measured', () => {
  assert.deepEqual(measurementsOf({ file: '/w/q.onnx', dirty: false, budget: 1, latest: store({}) }), { budget: 1 });
  assert.deepEqual(measurementsOf({ dirty: false, budget: 1, latest: store({ 'sensitivity:undefined': sensitivity }) }), { budget: 1 });
  assert.deepEqual(measurementsOf({ file: '/w/q.onnx', dirty: false, budget: 1, latest: store({ 'profile:/w/q.onnx': { runs: 'many' }, 'bench:/w/q.onnx': {} }) }), { budget: 1 });
});
