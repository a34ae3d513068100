// The Problems messages and severities of sensitivity, fit and measured recipe steps, with expectations written out
// by hand from the numbers in the results.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitVerdict, type FitJson } from '../../../src/extension/bench/fitVerdict';
import { sensitivityVerdicts, type SensitivityJson } from '../../../src/extension/bench/sensitivityVerdict';
import { stepVerdicts, type ApplyJson } from '../../../src/extension/bench/stepVerdict';

/** Layers as `sensitivity --json` lists them, most sensitive first (Δtop-1 in pp). */
function sensitivity(layers: [name: string, delta: number | null, agreement: number, sqnr: number | null][]): SensitivityJson {
  return {
    model: '/ws/m.onnx', mode: 'weight', bits: 4, n: 200, baseline: { top1: layers.some((l) => l[1] === null) ? null : 0.99 },
    layers: layers.map(([name, deltaTop1, agreement, sqnrDb]) => ({ name, op: 'Conv', params: 100, top1: null, deltaTop1, agreement, sqnrDb })),
  };
}

test('sensitivity: one diagnostic per layer over half the budget — Error over it, Warning over half — naming the layer, Δ, agreement, SQNR and the fix', () => {
  const r = sensitivity([['/down/Conv', -1.5, 0.98, 16.44], ['/res/b/Conv', -1.0, 0.985, 17.0], ['/pw/Conv', -0.5, 0.995, 24.9], ['/fc/Gemm', 0, 1, null]]);
  const v = sensitivityVerdicts(r, 1.0);
  assert.deepEqual(v.map((x) => [x.layer, x.severity]), [['/down/Conv', 'error'], ['/res/b/Conv', 'warning']], '−1.00 pp is not over a 1.0 pp budget; −0.50 pp is not over half');
  assert.equal(v[0].message, 'layer /down/Conv (Conv): weight-only int4 on this layer alone changes top-1 by −1.50 pp (agreement 98.00 %, SQNR 16.4 dB) — over the 1.0 pp budget: keep it in float ("ONNX Lens: Keep Selected Layers in Float") or exclude it from the quantize step');
  assert.match(v[1].message, /^layer \/res\/b\/Conv \(Conv\): .* top-1 by −1\.00 pp \(agreement 98\.50 %, SQNR 17\.0 dB\) — more than half of the 1\.0 pp budget; to keep it in float: "ONNX Lens: Keep Selected Layers in Float"$/);
  // A 0.4 pp budget: −0.50 pp is over it too.
  assert.deepEqual(sensitivityVerdicts(r, 0.4).map((x) => x.severity), ['error', 'error', 'error']);
  // Unlabelled data has no Δtop-1 to judge.
  assert.deepEqual(sensitivityVerdicts(sensitivity([['/a', null, 0.9, 10]]), 0), []);
});

const fit = (more: Partial<FitJson>): FitJson => ({
  model: '/ws/cls.onnx', device: { name: 'nano33ble', title: 'Arduino Nano 33 BLE Sense (nRF52840)' }, weightBytes: 534_512, flashBytes: 1_048_576,
  arenaBytes: 485_376, arenaComplete: true, ramBytes: 262_144, estimatedLatencyMs: 510, fits: false, reasons: ['activation arena 485,376 B exceeds RAM 262,144 B by 223,232 B'], notes: [], ...more,
});

test('fit: an Error naming what overflows by how much; nothing when it fits; a Warning when undecided', () => {
  const v = fitVerdict(fit({}))!;
  assert.equal(v.severity, 'error');
  // 485,376 − 262,144 = 223,232
  assert.ok(v.message.startsWith('does not fit nano33ble (Arduino Nano 33 BLE Sense (nRF52840)): activation arena 485,376 B overflows RAM 262,144 B by 223,232 B — quantize to static int8'), v.message);
  // 2,000,000 − 1,048,576 = 951,424
  const both = fitVerdict(fit({ weightBytes: 2_000_000 }))!;
  assert.match(both.message, /: weights 2,000,000 B overflow flash 1,048,576 B by 951,424 B; activation arena 485,376 B overflows RAM/);
  assert.equal(fitVerdict(fit({ fits: true, arenaBytes: 100_000, reasons: [] })), undefined);
  const undecided = fitVerdict(fit({ fits: null, arenaComplete: false, arenaBytes: 1000, reasons: ['activation arena unknown: 3 activations have symbolic sizes (pass --shape x=1,3,N,N)'] }))!;
  assert.equal(undecided.severity, 'warning');
  assert.match(undecided.message, /^fit on nano33ble .* undecided: activation arena unknown/);
});

test('apply --data: a verdict per measured step from its change vs the original; none without measurements', () => {
  const step = (delta: number | null, bytes: number) => ({ kind: 'quantize' as const, measured: { top1: delta === null ? null : 0.99 + delta / 100, delta, agreement: 0.97, bytes } });
  const r: ApplyJson = {
    model: '/ws/m.onnx', output: '/ws/o.onnx', bytesBefore: 100_000, bytesAfter: 25_000,
    steps: [{ ...step(-0.25, 100_000), kind: 'prune' }, step(-1.5, 25_000)], evaluation: { data: '/ws/v.npy', n: 200, top1: 0.99, bytes: 100_000 },
  };
  const v = stepVerdicts(r, 1.0);
  assert.deepEqual(v.map((x) => [x.step, x.severity]), [[0, 'information'], [1, 'error']]);
  assert.equal(v[0].message, 'after this prune step: top-1 −0.25 pp vs the original (agreement 97.00 %, 100,000 bytes, size ×1.000) — within the 1.0 pp budget');
  assert.match(v[1].message, /^after this quantize step: top-1 −1\.50 pp vs the original \(agreement 97\.00 %, 25,000 bytes, size ×0\.250\) — over the 1\.0 pp budget/);
  assert.equal(stepVerdicts(r, 2.0)[1].severity, 'warning', '1.5 pp is over half of 2');
  assert.deepEqual(stepVerdicts({ ...r, steps: [{ kind: 'prune' }], evaluation: undefined }, 1), []);
  assert.match(stepVerdicts({ ...r, steps: [step(null, 1)] }, 1)[0].message, /top-1 unknown \(unlabelled data/);
});
