// Tests src/extension/measure/measurementMarks.ts: the CLI's --json results (as the ResultStore keeps them) become the
// editor's per-layer marks and header figures; malformed results are recognised and not shown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult } from '../../../src/core/eval/benchmark';
import type { SensitivityResult } from '../../../src/core/eval/sensitivity';
import { benchMark, isBenchJson, isProfileJson, isSensitivityJson, latencyMarks, sensitivityMarks } from '../../../src/extension/measure/measurementMarks';

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
