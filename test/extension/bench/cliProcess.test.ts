// The forked CLI of a task: result, progress lines, a crash's last stderr line, and a stop within 1 s.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, type ProgressEvent } from '../../../src/extension/bench/cliProcess';
import { tempDir } from '../../fixtures/tempDir';

/** A stand-in for dist/cli.js: a script with the same streams (stdout result, fd 3 progress, stderr errors). */
function script(body: string): string {
  const file = path.join(tempDir(), 'fake-cli.js');
  fs.writeFileSync(file, `const fs = require('fs');\n${body}\n`);
  return file;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test('progress lines from fd 3 and the stdout result of a successful run', async () => {
  const cli = script(`
    for (const done of [0, 5, 10]) fs.writeSync(3, JSON.stringify({ type: 'progress', message: 'm', fraction: done / 10, done, total: 10 }) + '\\n');
    fs.writeSync(3, 'not json\\n');
    process.stdout.write(JSON.stringify({ n: 10, args: process.argv.slice(2) }) + '\\n');`);
  const seen: ProgressEvent[] = [];
  const run = runCli(cli, ['bench', 'a b.onnx'], { onProgress: (p) => seen.push(p) });
  const outcome = await run.outcome;
  assert.equal(outcome.kind, 'done');
  assert.deepEqual(JSON.parse((outcome as { stdout: string }).stdout), { n: 10, args: ['bench', 'a b.onnx'] });
  assert.deepEqual(seen.map((p) => p.done), [0, 5, 10]);
});

test('a crash is reported with the last stderr line, and the caller keeps running', async () => {
  const cli = script(`process.stderr.write('warning: something\\nonnx-lens: data.npy: samples are [1, 28, 28] but the model input is [1, 3, 48, 192]\\n'); process.exit(1);`);
  const outcome = await runCli(cli, []).outcome;
  assert.deepEqual({ kind: outcome.kind, code: (outcome as { code: number }).code, last: (outcome as { lastStderrLine: string }).lastStderrLine },
    { kind: 'failed', code: 1, last: 'onnx-lens: data.npy: samples are [1, 28, 28] but the model input is [1, 3, 48, 192]' });
  const killed = await runCli(script(`process.kill(process.pid, 'SIGSEGV');`), []).outcome;
  assert.equal(killed.kind, 'failed');
  assert.equal((killed as { signal: string }).signal, 'SIGSEGV');
});

test('stop(): a child that ignores SIGTERM is killed within 1 s', async () => {
  const cli = script(`process.on('SIGTERM', () => {}); fs.writeSync(3, JSON.stringify({ type: 'progress', message: 'started', fraction: 0 }) + '\\n'); setInterval(() => {}, 1000);`);
  let started!: () => void;
  const ready = new Promise<void>((r) => { started = r; });
  const run = runCli(cli, [], { onProgress: () => started() });
  await ready;
  assert.ok(alive(run.pid!));
  const t0 = Date.now();
  await run.stop();
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  assert.equal(alive(run.pid!), false);
  assert.deepEqual(await run.outcome, { kind: 'stopped' });
});
