import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/core/eval/datasets';
import type { Outputs } from '../../src/core/eval/runner';
import { DOWN, fragileModel, OUTLIER } from '../builders/fragileMnist';
import { cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { outputs } from '../core/quantize/ortRun';

/** 10·log10(Σ y² / Σ (y − ŷ)²), written out here independently of the product's metric. */
function sqnr(ref: Outputs, got: Outputs): number {
  let s = 0, e = 0;
  ref.values.forEach((y, i) => { s += y * y; e += (y - got.values[i]) ** 2; });
  return 10 * Math.log10(s / e);
}

test('sensitivity --mode static ranks the layer with an int8-destroying outlier first; its SQNR is that of quantize --layers name:X', async () => {
  const dir = tempDir();
  const { file, others } = fragileModel(dir);
  const calib = writeMnistNpy(dir, 'calib', 64);
  const split = writeMnistNpy(dir, 'test', 150);
  const data = await openDataset(split.data, { labels: split.labels });
  const float = await outputs(file, data);
  // The outlier leaves the float model's function alone: it multiplies a channel that is always 0.
  const withoutOutlier = await outputs(fragileModel(dir, 0).file, data);
  assert.ok(sqnr(withoutOutlier, float) > 100, `the outlier changed the float model: ${sqnr(withoutOutlier, float)} dB`);
  // Why DOWN must break: with 7-bit symmetric weights (target portable) the scale is OUTLIER / 63 per channel,
  // and every other weight of the layer (|w| ≤ others, before BN folding scales a channel's weights alike) is
  // below half a step, so it becomes 0. Checked here by hand on the numbers:
  assert.ok(others < OUTLIER / 63 / 2, `largest other weight ${others}`);

  const r = cli('sensitivity', file, '--data', split.data, '--labels', split.labels, '--calib', calib.data, '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.mode, 'static');
  assert.equal(result.bits, 8);
  assert.equal(result.n, 150);
  assert.equal(result.layers.length, 7, 'six Convs and the Gemm');
  assert.deepEqual(Object.keys(result.layers[0]).sort(), ['agreement', 'deltaTop1', 'name', 'op', 'params', 'sqnrDb', 'top1']);
  const [first, second] = result.layers;
  console.log(result.layers.map((l: { name: string; deltaTop1: number; sqnrDb: number }) => `${l.name} ${l.deltaTop1.toFixed(2)} pp ${l.sqnrDb.toFixed(1)} dB`).join('\n'));
  assert.equal(first.name, DOWN);
  assert.equal(first.op, 'Conv');
  assert.equal(first.params, 32 * 16 * 9, 'as inspect counts it in the model as given');
  assert.ok(first.deltaTop1 < -30, `Δtop-1 ${first.deltaTop1}`);
  assert.ok(second.deltaTop1 > -2 && first.sqnrDb < second.sqnrDb - 10, JSON.stringify(second));
  assert.ok(Math.abs(result.baseline.top1 - accuracy(float, split.labelValues)) < 1e-12);
  assert.ok(Math.abs(first.top1 - result.baseline.top1 - first.deltaTop1 / 100) < 1e-9);
  // Sorted by Δtop-1, then SQNR.
  for (let i = 1; i < result.layers.length; i++) {
    const [a, b] = [result.layers[i - 1], result.layers[i]];
    assert.ok(a.deltaTop1 < b.deltaTop1 || (a.deltaTop1 === b.deltaTop1 && a.sqnrDb <= b.sqnrDb), `${a.name} before ${b.name}`);
  }

  // The same single-layer model made by `quantize`, run by onnxruntime here: the same SQNR and agreement.
  const single = path.join(dir, 'down.int8.onnx');
  const q = cli('quantize', file, '-o', single, '--mode', 'static', '--calib', calib.data, '--layers', `name:${DOWN}`);
  assert.equal(q.status, 0, q.stderr);
  const got = await outputs(single, data);
  assert.ok(Math.abs(first.sqnrDb - sqnr(float, got)) < 1e-6, `${first.sqnrDb} vs ${sqnr(float, got)}`);
  assert.equal(first.top1, accuracy(got, split.labelValues));
});

test('sensitivity --mode weight --bits 4: the outlier layer ranks first; text table and progress on stderr', () => {
  const dir = tempDir();
  const { file } = fragileModel(dir);
  const split = writeMnistNpy(dir, 'test', 100);
  const r = cli('sensitivity', file, '--data', split.data, '--labels', split.labels, '--mode', 'weight', '--bits', '4');
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.match(rows[0], /each of 7 layers quantized alone \(weight-only int4\).*100 samples/);
  assert.match(rows[1], /layer\s+op\s+params\s+Δtop-1 pp\s+agreement\s+SQNR dB/);
  assert.ok(rows[2].startsWith(DOWN), rows[2]);
  assert.match(r.stderr, /layers: 7\/7/);
});

test('sensitivity bad input: one line on stderr, exit code 1', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', 20);
  const cases: [string[], RegExp][] = [
    [[MNIST_MODEL, '--calib', split.data], /missing --data/],
    [[MNIST_MODEL, '--data', split.data, '--mode', 'dynamic'], /--mode must be static or weight, got 'dynamic'/],
    [[MNIST_MODEL, '--data', split.data], /--mode static needs --calib/],
    [[MNIST_MODEL, '--data', split.data, '--calib', split.data, '--bits', '4'], /--bits 4 is only available with --mode weight/],
    [[path.join(dir, 'none.onnx'), '--data', split.data, '--mode', 'weight'], /none\.onnx/],
  ];
  for (const [args, message] of cases) {
    const r = cli('sensitivity', ...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  assert.ok(fs.existsSync(MNIST_MODEL));
});

function accuracy(out: Outputs, labels: Int32Array): number {
  let hits = 0;
  for (let i = 0; i < out.n; i++) {
    const row = Array.from(out.values.subarray(i * out.width, (i + 1) * out.width));
    if (row.indexOf(Math.max(...row)) === labels[i]) hits++;
  }
  return hits / out.n;
}
