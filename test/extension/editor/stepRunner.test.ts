// Tests src/extension/editor/stepRunner.ts against a stand-in CLI (a script that behaves as the contract in
// DESIGN.md says `onnx-lens apply` does): progress from fd 3, the output read back, a failure's one line, and
// cancellation killing the child with nothing kept.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { runStep, StepCancelled, StepFailed, type StepProgress } from '../../../src/extension/editor/stepRunner';
import { tempDir } from '../../fixtures/tempDir';

const step = { kind: 'quantize' as const, options: { mode: 'weight', bits: 8, layers: ['name:conv1'] }, label: 'q' };

/** A fake CLI: `behaviour` is 'ok' (reverses the model's bytes), 'fail', or 'hang'. Records the recipe it got. */
function fakeCli(behaviour: 'ok' | 'fail' | 'hang'): { cli: string; seen: string } {
  const dir = tempDir();
  const seen = path.join(dir, 'seen.yaml');
  const cli = path.join(dir, 'cli.js');
  fs.writeFileSync(cli, `
const fs = require('fs'); const path = require('path'); const YAML = require(${JSON.stringify(path.resolve('node_modules/yaml'))});
const [cmd, recipe, , out] = process.argv.slice(2);
const text = fs.readFileSync(recipe, 'utf8'); fs.writeFileSync(${JSON.stringify(seen)}, text);
const r = YAML.parse(text);
const progress = (m, f) => fs.writeSync(3, JSON.stringify({ type: 'progress', step: 1, steps: 1, message: m, fraction: f }) + '\\n');
progress('reading', 0.1);
if (${JSON.stringify(behaviour)} === 'fail') { console.error('onnx-lens: layer name:conv1 matches nothing'); process.exit(1); }
if (${JSON.stringify(behaviour)} === 'hang') { progress('working', 0.5); setInterval(() => {}, 1000); } else {
{ const model = fs.readFileSync(path.resolve(path.dirname(recipe), r.model));
fs.writeFileSync(out, Buffer.from(model).reverse());
progress('done', 1); }
console.log(JSON.stringify({ steps: [{ kind: 'quantize' }] }));
}
`);
  return { cli, seen };
}

test('runs apply on a one-step recipe with exact selectors, streams progress, returns the output', async () => {
  const { cli, seen } = fakeCli('ok');
  const progress: StepProgress[] = [];
  const out = await runStep(new Uint8Array([1, 2, 3]), step, { cli, onProgress: (p) => progress.push(p) });
  assert.deepEqual([...out], [3, 2, 1]);
  assert.deepEqual(progress.map((p) => p.message), ['reading', 'done']);
  const recipe = parse(fs.readFileSync(seen, 'utf8'));
  assert.deepEqual(recipe.steps, [{ quantize: { mode: 'weight', bits: 8, layers: ['name:conv1'] } }]);
});

test('a failing step rejects with the CLI\'s one line', async () => {
  const { cli } = fakeCli('fail');
  await assert.rejects(runStep(new Uint8Array([1]), step, { cli }), (e: Error) => e instanceof StepFailed && e.message === 'onnx-lens: layer name:conv1 matches nothing');
});

test('cancelling kills the child and rejects as cancelled', async () => {
  const { cli } = fakeCli('hang');
  const controller = new AbortController();
  const started = Date.now();
  const run = runStep(new Uint8Array([1]), step, { cli, signal: controller.signal, onProgress: (p) => { if (p.message === 'working') controller.abort(); } });
  await assert.rejects(run, (e: Error) => e instanceof StepCancelled);
  assert.ok(Date.now() - started < 10_000);
});
