// The Problems message and severity of a benchmark result, with expectations written out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchVerdict, type BenchJson } from '../../../src/extension/bench/benchVerdict';

/** A result as `bench --json --baseline` prints it: the model's top-1 and the baseline's, both on 400 samples. */
function result(top1: number, baseTop1: number, more: Partial<NonNullable<BenchJson['delta']>> = {}): BenchJson {
  return {
    model: '/ws/model.int8.onnx', n: 400, top1, top5: 1, bytes: 31_000, latencyMs: { p50: 1.12, p95: 1.5, runs: 50 },
    baseline: { model: '/ws/model.onnx', top1: baseTop1, top5: 1, bytes: 100_000, latencyMs: { p50: 1.0, p95: 1.2 } },
    delta: { top1: (top1 - baseTop1) * 100, top5: 0, latencyRatio: 1.12, sizeRatio: 0.31, agreement: 0.99, ...more },
  };
}

test('a 0.75 pp drop with a 1.0 pp budget is a Warning (over half the budget) naming the fix command', () => {
  // 0.9825 − 0.99 = −0.0075 → −0.75 pp
  const v = benchVerdict(result(0.9825, 0.99), 1.0);
  assert.equal(v.severity, 'warning');
  assert.match(v.message, /^top-1 −0\.75 pp vs model\.onnx \(agreement 99\.00 %, latency ×1\.12, size ×0\.310\) — more than half of the 1\.0 pp budget; "ONNX Lens: Keep Selected Layers in Float"/);
});

test('a drop over the budget is an Error naming the commands that fix it', () => {
  // 0.95 − 0.99 = −4 pp
  const v = benchVerdict(result(0.95, 0.99, { agreement: 0.9425 }), 1.0);
  assert.equal(v.severity, 'error');
  assert.ok(v.message.startsWith('top-1 −4.00 pp vs model.onnx (agreement 94.25 %, latency ×1.12, size ×0.310) — over the 1.0 pp budget: '), v.message);
  for (const title of ['ONNX Lens: Keep Selected Layers in Float', 'ONNX Lens: Quantize Selected Layers…', 'ONNX Lens: Prune Selected Layers…']) {
    assert.ok(v.message.includes(`"${title}"`), title);
  }
});

test('the severity boundaries: exactly the budget is not over it, exactly half is not over half; gains are Information', () => {
  assert.equal(benchVerdict(result(0.98, 0.99), 1.0).severity, 'warning', '−1.00 pp = the budget');
  assert.equal(benchVerdict(result(0.97, 0.99), 1.0).severity, 'error', '−2.00 pp');
  assert.equal(benchVerdict(result(0.985, 0.99), 1.0).severity, 'information', '−0.50 pp = half');
  assert.equal(benchVerdict(result(0.985, 0.99), 0.8).severity, 'warning', '−0.50 pp > 0.4');
  const gain = benchVerdict(result(0.9925, 0.99), 1.0);
  assert.equal(gain.severity, 'information');
  assert.match(gain.message, /^top-1 \+0\.25 pp vs model\.onnx .* — within the 1\.0 pp budget$/);
  assert.equal(benchVerdict(result(0.9, 0.99), 10).severity, 'warning', '−9 pp: within a 10 pp budget but over half of it');
  assert.equal(benchVerdict(result(0.96, 0.99), 10).severity, 'information', '−3 pp: under half of 10 pp');
});

test('without labels or without a baseline there is no drop to judge: Information that says so', () => {
  const unlabelled = benchVerdict({ ...result(0, 0), top1: null, top5: null, delta: { ...result(0, 0).delta!, top1: null, top5: null } }, 1.0);
  assert.equal(unlabelled.severity, 'information');
  assert.match(unlabelled.message, /^top-1 unknown \(no labels\) vs model\.onnx \(agreement 99\.00 %/);
  const alone = benchVerdict({ model: '/ws/m.onnx', n: 400, top1: 0.9875, top5: 1, bytes: 12_345, latencyMs: { p50: 1.5, p95: 2 } }, 1.0);
  assert.equal(alone.severity, 'information');
  assert.match(alone.message, /^top-1 98\.75 % on 400 samples, no baseline \(latency p50 1\.500 ms, 12,345 bytes\)/);
});
