// `onnx-lens demo` (the README's quick start) inspects, quantizes, prunes and benchmarks the bundled PaddleOCR classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../fixtures/cli';
import { tempDir } from '../fixtures/tempDir';

test('demo: inspects the classifier at 48×192, quantizes and prunes it, and benchmarks both against the original', () => {
  const out = tempDir('onnx-lens-demo-test-');
  const r = spawnSync(process.execPath, [CLI, 'demo', '--out', out], { encoding: 'utf8', timeout: 180_000, cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ch_ppocr_mobile_v2\.0_cls_infer\.onnx/);
  assert.match(r.stdout, /^p2o\.MatMul\.0\s+MatMul\s+\[200×2\]/m);
  // 133,628 params as python3-onnx counts them; the first conv alone is 8·24·96·27 = 497,664 MACs at 48×192.
  assert.match(r.stdout, /params\s+133,628/);
  assert.match(r.stdout, /^p2o\.Conv\.0 .* 498K$/m);

  // 400 rendered images, half per class; the int8 model is written and benchmarked against the float one.
  const count = (d: string) => fs.readdirSync(path.join(out, 'eval', d)).length;
  assert.deepEqual([count('0_upright'), count('1_rotated')], [200, 200]);
  assert.ok(fs.statSync(path.join(out, 'cls.int8.onnx')).size < 0.5 * 578_966);
  // Two benchmarks against the original: the int8 model, then the 30 % pruned and reconstructed one.
  const changes = [...r.stdout.matchAll(/top-1 change\s+([+−])(\d+\.\d+) pp/g)];
  assert.equal(changes.length, 2, r.stdout);
  for (const [, sign, pp] of changes) assert.ok(sign === '+' || Number(pp) <= 1, `the compressed model loses ${pp} pp`);
  assert.match(r.stdout, /agreement\s+\d+\.\d+ % of predictions match the baseline/);
  assert.ok(fs.existsSync(path.join(out, 'cls.pruned30.onnx')));
  fs.rmSync(out, { recursive: true, force: true });
});

test('demo without --out leaves no files behind', () => {
  const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('onnx-lens-demo-')));
  const r = spawnSync(process.execPath, [CLI, 'demo'], { encoding: 'utf8', timeout: 180_000, cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  const left = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('onnx-lens-demo-') && !before.has(f));
  assert.deepEqual(left, []);
});
