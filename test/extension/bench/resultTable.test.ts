// The tables the task terminal prints at the end of sensitivity, fit, plan and apply runs, checked against numbers
// written out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyTable, fitTable, planTable, sensitivityTable, type PlanJson } from '../../../src/extension/bench/resultTable';

test('sensitivity: a row per layer in the order the CLI ranked them, Δ as signed pp, ∞ for identical outputs', () => {
  const lines = sensitivityTable({
    model: '/ws/m.onnx', mode: 'static', bits: 8, n: 200, baseline: { top1: 0.99 },
    layers: [
      { name: '/down/Conv', op: 'Conv', params: 4608, top1: 0.98, deltaTop1: -1, agreement: 0.985, sqnrDb: 16.44 },
      { name: '/fc/Gemm', op: 'Gemm', params: 650, top1: 0.99, deltaTop1: 0, agreement: 1, sqnrDb: null },
    ],
  });
  assert.equal(lines[0], '2 layers, each quantized alone (static int8); 200 samples, original top-1 99.00 %; most sensitive first');
  assert.match(lines[2], /^\/down\/Conv  Conv\s+4,608\s+−1\.00 pp\s+98\.50 %\s+16\.4 dB$/);
  assert.match(lines[3], /^\/fc\/Gemm\s+Gemm\s+650\s+\+0\.00 pp\s+100\.00 %\s+∞ dB$/);
});

test('fit: flash and RAM use as a share of the device, the overflow marked, the verdict', () => {
  const lines = fitTable({
    model: '/ws/cls.onnx', device: { name: 'nano33ble', title: 'Nano' }, weightBytes: 534_512, flashBytes: 1_048_576, arenaBytes: 485_376, arenaComplete: true,
    ramBytes: 262_144, estimatedLatencyMs: 509.86, fits: false, reasons: ['activation arena exceeds RAM'], notes: [],
  });
  // 534,512 / 1,048,576 = 51.0 %; 485,376 / 262,144 = 185.2 %
  assert.match(lines[2], /^flash\s+534,512 B\s+1,048,576 B\s+51\.0 %$/);
  assert.match(lines[3], /^RAM\s+485,376 B\s+262,144 B\s+185\.2 % — over$/);
  assert.match(lines[4], /~510 ms/);
  assert.equal(lines[5], 'verdict   does not fit: activation arena exceeds RAM');
});

test('plan: each layer\'s choice, then the measured result against the original', () => {
  const plan: PlanJson = {
    model: '/ws/m.onnx', budget: 1, n: 100, withinBudget: true,
    layers: [{ name: '/a/Conv', op: 'Conv', params: 9216, deltaTop1: -2, choice: 'float' }, { name: '/b/Conv', op: 'Conv', params: 288, deltaTop1: 0, choice: 'int8' }],
    original: { top1: 0.99, bytes: 120_000, latencyMs: { p50: 1 } },
    measured: { top1: 0.985, deltaTop1: -0.5, bytes: 40_000, latencyMs: { p50: 0.8 }, latencyRatio: 0.8, sizeRatio: 1 / 3 },
    recipeFile: '/ws/m.plan.onnxlens.yaml', modelOut: null,
  };
  const lines = planTable(plan);
  assert.match(lines[2], /^\/a\/Conv  Conv\s+9,216\s+−2\.00 pp  float$/);
  assert.match(lines[3], /^\/b\/Conv  Conv\s+288\s+\+0\.00 pp  int8$/);
  assert.equal(lines[5], 'measured on 100 samples: top-1 98.50 % (−0.50 pp vs 99.00 %), size ×0.333 (40,000 of 120,000 bytes), latency ×0.80');
  assert.equal(lines[6], 'within the 1 pp budget');
  assert.equal(lines[7], 'recipe: /ws/m.plan.onnxlens.yaml');
});

test('apply: a row per step, its measurement or dashes without data', () => {
  const lines = applyTable({
    model: '/ws/m.onnx', output: '/ws/o.onnx', bytesBefore: 100_000, bytesAfter: 30_000,
    steps: [{ kind: 'prune', measured: { top1: 0.5433, delta: -44.67, agreement: 0.5467, bytes: 100_000 } }, { kind: 'quantize' }],
    evaluation: { data: '/ws/x.npy', n: 300, top1: 0.99, bytes: 100_000 },
  });
  assert.equal(lines[0], 'original: top-1 99.00 % on 300 samples');
  assert.match(lines[2], /^1\. prune\s+54\.33 %\s+−44\.67 pp\s+54\.67 %\s+100,000$/);
  assert.match(lines[3], /^2\. quantize\s+—\s+—\s+—\s+—$/);
  assert.equal(lines[4], 'size 100,000 → 30,000 bytes; wrote /ws/o.onnx');
});
