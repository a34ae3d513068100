import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/core/eval/datasets';
import { agreement, maxAbsDiff } from '../../src/core/eval/metrics';
import { openSession, runModel } from '../../src/core/eval/runner';
import { readModelSync } from '../../src/core/onnx/read';
import { tensorValues } from '../../src/core/onnx/tensor';
import { MNIST_MEAN, MNIST_MODEL, MNIST_STD, tempDir, writeMnistNpy, writeMnistPngs } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';

const CLI = fromRoot('dist', 'cli.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('prune --reconstruct --distill-head writes a model that ORT runs and that agrees with the original', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 128);
  const testSplit = writeMnistNpy(dir, 'test', 500);
  const out = path.join(dir, 'pruned.onnx');
  const before = sha(MNIST_MODEL);
  const r = cli('prune', MNIST_MODEL, '-o', out, '--sparsity', '60%', '--calib', calib.data, '--reconstruct', '--distill-head', '--exclude', '/stem/*', '--json');
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.mode, 'unstructured');
  assert.ok(!summary.layers.some((l: { name: string }) => l.name.startsWith('/stem/')), 'the excluded stem is not pruned');
  assert.equal(summary.reconstructed.length, summary.layers.length);
  assert.equal(summary.headDistilled.name, '/fc/Gemm');
  assert.equal(sha(MNIST_MODEL), before, 'the input model is untouched');

  const m = readModelSync(out);
  const stem = m.proto.graph!.initializer.find((t) => t.name === m.proto.graph!.node.find((n) => n.name === '/stem/stem.0/stem.0.0/Conv')!.input[1])!;
  assert.equal(tensorValues(stem, m).filter((v) => v === 0).length, 0);
  const data = await openDataset(testSplit.data, { labels: testSplit.labels });
  const ref = await runModel(await openSession(MNIST_MODEL), data);
  const got = await runModel(await openSession(out), data);
  console.log(`CLI 60 % + reconstruct + distill-head: agreement ${agreement(ref, got).toFixed(3)}, max |Δlogit| ${maxAbsDiff(ref, got).toFixed(3)}`);
  assert.ok(agreement(ref, got) >= 0.98);
});

test('prune --structured reads a PNG calibration folder with preprocessing flags and shrinks the model', async () => {
  const dir = tempDir();
  const pngs = await writeMnistPngs(dir, 'calib', 64);
  const out = path.join(dir, 'structured.onnx');
  const r = cli('prune', MNIST_MODEL, '-o', out, '--sparsity', '0.3', '--structured', '--scope', 'global', '--round-to', '16',
    '--importance', 'activation', '--calib', pngs.folder, '--mean', String(MNIST_MEAN), '--std', String(MNIST_STD), '--reconstruct');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /structured channel pruning: 27,002 → [\d,]+ parameters/);
  const kept = [...r.stdout.matchAll(/(\d+) → +(\d+) channels/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(kept.length, 5);
  assert.ok(kept.every(([, k]) => k % 16 === 0 || k === 10), `kept counts ${JSON.stringify(kept)}`);
  assert.ok(kept.some(([c, k]) => k < c), 'something was pruned');
  assert.match(r.stdout, /\/fc\/Gemm\s+10 →\s+10 channels {2}\(kept: graph output 'logits'\)/);
  assert.ok(fs.statSync(out).size < fs.statSync(MNIST_MODEL).size);
  const session = await openSession(out);
  assert.deepEqual(session.inputShape, ['N', 1, 28, 28]);
});

test('bad input: one line on stderr, non-zero exit, nothing written', () => {
  const dir = tempDir();
  const out = path.join(dir, 'x.onnx');
  const corrupt = path.join(dir, 'corrupt.onnx');
  fs.writeFileSync(corrupt, Buffer.from('not a model at all'));
  const copy = path.join(dir, 'model.onnx');
  fs.copyFileSync(MNIST_MODEL, copy);
  const cases: [string[], RegExp][] = [
    [[copy, '-o', copy, '--sparsity', '0.5'], /would overwrite the input model/],
    [[copy, '-o', out, '--sparsity', '2'], /--sparsity must be a fraction/],
    [[copy, '-o', out, '--sparsity', '0.5', '--reconstruct'], /need --calib/],
    [[copy, '-o', out, '--sparsity', '0.5', '--importance', 'activation'], /--importance activation needs --structured and --calib/],
    [[copy, '-o', out, '--sparsity', '0.5', '--layers', 'no_such_layer'], /selector 'no_such_layer' matches no layer/],
    [[corrupt, '-o', out, '--sparsity', '0.5'], /corrupt\.onnx: not a valid ONNX model/],
    [[copy, '-o', out, '--sparsity', '0.5', '--calib', path.join(dir, 'missing.npy'), '--reconstruct'], /missing\.npy: data set not found/],
  ];
  for (const [args, message] of cases) {
    const r = cli('prune', ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^onnx-lens: /);
    assert.ok(!fs.existsSync(out), `${args.join(' ')} wrote an output`);
  }
  assert.equal(sha(copy), sha(MNIST_MODEL));
});
