// `bench --progress-fd N`: JSON progress lines on descriptor N while stdout keeps the one result object.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';

interface Progress { type: string; message: string; fraction: number; phase: string; done?: number; total?: number; model?: string; models?: number }

/** Runs bench with fd 3 as a pipe and collects what arrives on each stream. */
function benchWithProgress(...args: string[]): { status: number | null; stdout: string; stderr: string; progress: string } {
  const r = spawnSync(process.execPath, [CLI, 'bench', ...args, '--progress-fd', '3'], {
    cwd: fromRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, progress: String(r.output[3] ?? '') };
}

test('bench --progress-fd 3: valid JSON lines whose counts reach the totals, stdout the result alone, stderr quiet', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', 300);
  const runs = 12;
  const r = benchWithProgress(MNIST_MODEL, '--baseline', MNIST_MODEL, '--data', split.data, '--labels', split.labels, '--json', '--runs', String(runs), '--batch', '16');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress text on stderr when it goes to the descriptor');
  const result = JSON.parse(r.stdout);
  assert.equal(result.n, 300);

  const text = r.progress;
  assert.ok(text.endsWith('\n'));
  const lines: Progress[] = text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.ok(lines.every((l) => l.type === 'progress' && typeof l.message === 'string' && l.fraction >= 0 && l.fraction <= 1));
  const fractions = lines.map((l) => l.fraction);
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b), 'the overall fraction never goes back');
  assert.equal(fractions.at(-1), 1);

  const accuracy = lines.filter((l) => l.phase === 'accuracy');
  // Two accuracy passes (model, baseline) over the same 300 samples, counted by batches of 16.
  for (const index of [0, 1]) {
    const pass = accuracy.filter((l) => (l as { modelIndex?: number }).modelIndex === index);
    assert.ok(pass.length >= 2, `pass ${index} reports more than its end`);
    assert.ok(pass.every((l) => l.total === 300 && l.done! % 16 === 0 || l.done === 300));
    assert.equal(pass.at(-1)!.done, 300);
    assert.equal(path.resolve(fromRoot(), pass[0].model!), MNIST_MODEL);
  }
  const latency = lines.filter((l) => l.phase === 'latency');
  assert.equal(latency[0].done, 0);
  assert.equal(latency.at(-1)!.done, 2 * runs, 'both models, every timed run');
  assert.equal(latency.at(-1)!.total, 2 * runs);
});

test('bench --progress-fd refuses a descriptor that is not open, in one line', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'calib', 8);
  const r = cli('bench', MNIST_MODEL, '--data', split.data, '--progress-fd', '99');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^onnx-lens: --progress-fd 99: no such open file descriptor\n$/);
  assert.match(cli('bench', MNIST_MODEL, '--data', split.data, '--progress-fd', '1').stderr, /--progress-fd must be a file descriptor number ≥ 3/);
});

test('SIGTERM stops bench promptly, with nothing on stdout', async () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test');
  const child = spawn(process.execPath, [CLI, 'bench', MNIST_MODEL, '--data', split.data, '--labels', split.labels, '--json', '--runs', '100000', '--progress-fd', '3'], {
    cwd: fromRoot(), stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  // Wait until it is inside the latency runs (the longest part), then stop it.
  await new Promise<void>((resolve) => {
    let buffer = '';
    child.stdio[3]!.on('data', (d) => {
      buffer += d;
      if (buffer.includes('"phase":"latency"')) resolve();
    });
  });
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(Date.now() - t0 < 1000, `stopped after ${Date.now() - t0} ms`);
  assert.notEqual(code, 0);
  assert.equal(stdout, '');
});
