import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { writeModel } from '../../src/core/onnx/write';
import { convNet } from '../builders/convNet';
import { CLI, cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';

test('profile --json: every layer inspect lists, each with kernel time, and the parts add up to the total', () => {
  const r = cli('profile', MNIST_MODEL, '--json', '--runs', '4', '--warmup', '1');
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(p).sort(), ['layers', 'model', 'other', 'runs', 'totalMs']);
  assert.equal(p.runs, 4);
  assert.deepEqual(Object.keys(p.other).sort(), ['kernels', 'ms', 'ops']);
  assert.equal(p.other.ops.reduce((a: number, o: { kernels: number }) => a + o.kernels, 0), p.other.kernels);
  const inspected = JSON.parse(cli('inspect', MNIST_MODEL, '--json').stdout);
  assert.deepEqual(p.layers.map((l: { name: string }) => l.name).sort(), inspected.layers.map((l: { name: string }) => l.name).sort());
  for (const l of p.layers) {
    assert.ok(l.ms >= 0 && l.share >= 0, JSON.stringify(l));
    // The MNIST CNN's Convs and Gemm run as kernels; its BatchNormalizations are folded into the Convs before them.
    if (l.op === 'BatchNormalization') assert.ok(l.fusedInto && l.kernels.length === 0 && l.ms === 0, JSON.stringify(l));
    else assert.ok(l.kernels.length >= 1, JSON.stringify(l));
  }
  const sum = p.layers.reduce((a: number, l: { ms: number }) => a + l.ms, 0) + p.other.ms;
  assert.ok(Math.abs(sum - p.totalMs) <= 1e-3, `${sum} vs ${p.totalMs}`);
});

test('profile prints a table slowest first with cumulative shares, the other kernels, the total and the CPU', () => {
  const r = cli('profile', MNIST_MODEL, '--runs', '3', '--warmup', '0');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /mnist-cnn\.onnx: kernel time per batch-1 run, one thread, 3 runs after 0 warm-up/);
  assert.match(lines[1], /^layer +op +ms +share +cum\.$/);
  const other = lines.findIndex((l) => l.startsWith('(other)'));
  const rows = lines.slice(2, other);
  assert.equal(rows.length, 13, 'six Convs, six BatchNormalizations and the Gemm');
  const ms = rows.map((l) => Number(l.split(/\s+/)[2]));
  assert.deepEqual(ms, [...ms].sort((a, b) => b - a));
  assert.match(rows.at(-1)!, /fused into \/pw\/pw\.0\/pw\.0\.0\/Conv$/);
  assert.match(lines[other], /^\(other\) +3 kernels/);
  // The MNIST CNN's other kernels: NCHWc's reorder of the pooled output, the pooling and the Flatten.
  assert.deepEqual(lines.slice(other + 1, -1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).sort(), ['Flatten 1', 'GlobalAveragePool 1', 'ReorderOutput 1']);
  assert.match(lines.at(-1)!, /^total [\d.]+ ms of kernel time per run: 13 layers/);
  assert.match(r.stderr, /profiling .*: 3\/3/);
});

test('profile --progress-fd 3: JSON lines up to the last run, stderr quiet', () => {
  const r = spawnSync(process.execPath, [CLI, 'profile', MNIST_MODEL, '--json', '--runs', '3', '--warmup', '2', '--progress-fd', '3'], {
    cwd: fromRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = String(r.output[3]).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.message), ['warm-up 1/2', 'warm-up 2/2', 'run 1/3', 'run 2/3', 'run 3/3']);
  assert.ok(lines.every((l) => l.type === 'progress' && l.total === 5));
  assert.equal(lines.at(-1).fraction, 1);
  assert.equal(JSON.parse(r.stdout).runs, 3);
});

test('profile: bad input is one line and exit code 1', () => {
  const dir = tempDir();
  const symbolic = path.join(dir, 'symbolic.onnx');
  const net = convNet({ channels: [4] });
  const x = net.graph!.input[0].type!.value;
  if (x.case === 'tensorType') x.value.shape!.dim[2].value = { case: 'dimParam', value: 'H' };
  writeModel(net, symbolic);
  const cases: [string[], RegExp][] = [
    [[path.join(dir, 'missing.onnx')], /missing\.onnx/],
    [[symbolic], /input 'x' has symbolic dims \[N, 3, H, 32\]: give its shape \(--shape x=1,3,H,32\)/],
    [[symbolic, '--shape', 'y=1,3,32,32'], /no model input is named 'y'/],
    [[MNIST_MODEL, '--runs', '0'], /--runs must be a positive integer, got '0'/],
    [[MNIST_MODEL, '--warmup', '-1'], /--warmup must be a whole number, got '-1'/],
  ];
  for (const [args, message] of cases) {
    const r = cli('profile', ...args);
    assert.equal(r.status, 1, `${args}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  assert.equal(cli('profile', symbolic, '--shape', 'x=1,3,24,32', '--json', '--runs', '1').status, 0);
});
