import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cli } from '../fixtures/cli';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, tempDir, writeMnistNpy, writeMnistPngs } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';
import { saturationWarnings } from '../../src/cli/bench';
import type { CpuInt8 } from '../../src/core/eval/cpuFeatures';

test('bench --json on the MNIST test split: top-1 ≥ 97 %, every contract field present', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test');
  const r = cli('bench', MNIST_MODEL, '--data', split.data, '--labels', split.labels, '--json', '--runs', '20');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.n, split.n);
  assert.ok(out.top1 >= 0.97, `top-1 ${out.top1}`);
  assert.ok(out.top5 >= out.top1 && out.top5 <= 1);
  assert.ok(out.latencyMs.p50 > 0 && out.latencyMs.p95 >= out.latencyMs.p50);
  assert.equal(out.bytes, fs.statSync(MNIST_MODEL).size);
  assert.equal(out.baseline, undefined);
  assert.match(r.stderr, /evaluating .*mnist-cnn\.onnx: 1994\/1994/);
});

test('bench --baseline: the deltas of a model against itself, on PNG class folders', async () => {
  const dir = tempDir();
  const pngs = await writeMnistPngs(dir, 'test', 300);
  const r = cli('bench', MNIST_MODEL, '--baseline', MNIST_MODEL, '--data', pngs.folder,
    '--mean', String(MNIST_MEAN), '--std', String(MNIST_STD), '--json', '--runs', '10');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.n, 300);
  assert.ok(out.top1 >= 0.95, `top-1 ${out.top1}`);
  assert.equal(out.baseline.top1, out.top1);
  assert.deepEqual(
    { top1: out.delta.top1, sizeRatio: out.delta.sizeRatio, agreement: out.delta.agreement, maxAbsDiff: out.delta.maxAbsDiff },
    { top1: 0, sizeRatio: 1, agreement: 1, maxAbsDiff: 0 });
  assert.ok(out.delta.latencyRatio > 0);
});

test('bench on unlabelled data reports null accuracy; the text report is readable', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 40);
  const r = cli('bench', MNIST_MODEL, '--data', split.data, '--runs', '5');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /40 samples \(unlabelled\)/);
  const json = JSON.parse(cli('bench', MNIST_MODEL, '--data', split.data, '--runs', '5', '--json').stdout);
  assert.equal(json.top1, null);
});

test('bench errors are one line naming the file', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 10);
  const wrongShape = cli('bench', fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), '--data', split.data);
  assert.notEqual(wrongShape.status, 0);
  assert.match(wrongShape.stderr, /^onnx-lens: .*calib_x\.npy: samples are \[1, 28, 28\] but the model input is \[.*3.*\]\n$/);
  const missing = cli('bench', MNIST_MODEL, '--data', path.join(dir, 'nope'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^onnx-lens: .*nope: data set not found\n$/);
  const badFlag = cli('bench', MNIST_MODEL, '--data', split.data, '--size', '12xq');
  assert.match(badFlag.stderr, /--size must be HxW/);
});

test('bench warns when the CPU saturates int8 pair sums and the model has layers that can; --json carries the warnings', () => {
  const dir = tempDir();
  const full = path.join(dir, 'full.onnx');
  const portable = path.join(dir, 'portable.onnx');
  for (const [out, target] of [[full, 'x86-vnni'], [portable, 'portable']]) {
    const r = cli('quantize', MNIST_MODEL, '-o', out, '--mode', 'dynamic', '--exclude', 'op:Conv', '--target', target);
    assert.equal(r.status, 0, r.stderr);
  }
  const avx2: CpuInt8 = { name: 'AMD EPYC 7R13 Processor', arch: 'x64', saturates: true, reason: 'AVX2 without VNNI' };
  const vnni: CpuInt8 = { name: 'Intel Xeon 8275CL', arch: 'x64', saturates: false, reason: 'avx512_vnni' };
  const [warning, ...more] = saturationWarnings([full, portable, MNIST_MODEL], avx2);
  assert.equal(more.length, 0, 'the portable and the float model are safe');
  assert.match(warning, /full\.onnx: 1 int8 layers can saturate 16-bit sums on this CPU \(AMD EPYC 7R13 Processor: AVX2 without VNNI\).*--target portable/);
  assert.deepEqual(saturationWarnings([full], vnni), []);

  const split = writeMnistNpy(dir, 'test', 64);
  const r = cli('bench', full, '--data', split.data, '--labels', split.labels, '--json', '--runs', '5');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(Array.isArray(out.warnings), 'warnings is always present in --json');
  // The dynamic MatMulInteger's uint8 activations measured on 32 of the 64 samples (one per run, as batch 1 quantizes them).
  assert.equal(out.saturationSamples, 32);
  assert.equal(out.saturation.length, 1);
  const [layer] = out.saturation;
  assert.equal(layer.op, 'MatMulInteger');
  assert.ok(layer.pairSums > 0 && layer.saturatedPairSums <= layer.pairSums);
  assert.equal(layer.verdict, layer.saturatedPairSums > 0 ? 'measured' : 'possible');

  // The warning names the layers that saturated on the data.
  const measured = { samples: 32, layers: [{ layer: 'fc1', op: 'MatMulInteger', verdict: 'measured' as const, saturatedPairSums: 1234, pairSums: 50_000 }] };
  const [named] = saturationWarnings([full], avx2, new Map([[full, measured]]));
  assert.match(named, /full\.onnx: 1 int8 layers can saturate 16-bit sums on this CPU \(.*\); on 32 samples of the data 1 did: fc1 \(1,234 of 50,000 pair sums\), so its accuracy here is lower.*--target portable/);
  const clean = { samples: 32, layers: [{ ...measured.layers[0], verdict: 'possible' as const, saturatedPairSums: 0 }] };
  assert.match(saturationWarnings([full], avx2, new Map([[full, clean]]))[0], /none did on 32 samples of the data, so its accuracy here can be lower/);

  // The text report lists the measured layers after the table.
  const text = cli('bench', full, '--data', split.data, '--runs', '5');
  assert.equal(text.status, 0, text.stderr);
  if (layer.verdict === 'measured') assert.match(text.stdout, /int8 16-bit pair sums on x86 without VNNI \(AVX2\), 32 samples of the data, .*full\.onnx: 1 of 1 layers that can saturate did\n {2}\S+ +[\d,]+ of [\d,]+ pair sums/);
  else assert.match(text.stdout, /0 of 1 layers that can saturate did/);
});

test('bench --json: a float model has no layer that can saturate (saturation [], nothing run)', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 10);
  const out = JSON.parse(cli('bench', MNIST_MODEL, '--data', split.data, '--runs', '3', '--json').stdout);
  assert.deepEqual([out.saturation, out.saturationSamples], [[], 0]);
});
