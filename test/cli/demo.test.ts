// `onnx-lens demo` (the README's quick start) runs the whole job on the bundled PaddleOCR classifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../fixtures/cli';
import { tempDir } from '../fixtures/tempDir';

test('demo: inspects and profiles the classifier, quantizes, plans within 1 pp, prunes channels, benchmarks, fits a Nano 33 BLE, exports for TFLite Micro, and tables every variant', () => {
  const out = tempDir('onnx-lens-demo-test-');
  const r = spawnSync(process.execPath, [CLI, 'demo', '--out', out], { encoding: 'utf8', timeout: 240_000, cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ch_ppocr_mobile_v2\.0_cls_infer\.onnx/);
  assert.match(r.stdout, /^p2o\.MatMul\.0\s+MatMul\s+\[200×2\]/m);
  // 133,628 params as python3-onnx counts them; the first conv alone is 8·24·96·27 = 497,664 MACs at 48×192.
  assert.match(r.stdout, /params\s+133,628/);
  assert.match(r.stdout, /^p2o\.Conv\.0 .* 498K$/m);

  // Three disjoint rendered sets, half per class.
  const count = (set: string, d: string) => fs.readdirSync(path.join(out, set, d)).length;
  assert.deepEqual([count('eval', '0_upright'), count('eval', '1_rotated')], [200, 200]);
  assert.deepEqual([count('plan', '0_upright'), count('plan', '1_rotated')], [100, 100]);
  const original = 578_966;
  assert.ok(fs.statSync(path.join(out, 'cls.int8.onnx')).size < 0.5 * original);
  // The plan is a recipe and a model; on the held-out images its top-1 drop stays within the 1 pp budget, up to the
  // sampling error of a drop measured on 400 images: the drop is a mean over the images where the two models
  // disagree, so allow 2·√(disagreement/n) (about a one-sided 97.7 % bound).
  assert.match(fs.readFileSync(path.join(out, 'cls.plan.onnxlens.yaml'), 'utf8'), /quantize/);
  assert.ok(fs.statSync(path.join(out, 'cls.plan.onnx')).size < 0.5 * original);
  const change = /top-1 change\s+([+−±])(\d+\.\d+) pp/.exec(r.stdout);
  const agree = /agreement\s+(\d+\.\d+) % of predictions match the baseline/.exec(r.stdout);
  assert.ok(change && agree, r.stdout);
  const drop = change[1] === '−' ? Number(change[2]) : 0;
  const margin = 200 * Math.sqrt((1 - Number(agree[1]) / 100) / 400);
  assert.ok(drop <= 1 + margin, `the plan loses ${drop} pp on held-out images (budget 1 pp, margin ${margin.toFixed(2)} pp)`);
  // Structured pruning removes channels: the file shrinks (unstructured zeros would not).
  assert.ok(fs.statSync(path.join(out, 'cls.channels20.onnx')).size < 0.9 * original);
  assert.match(r.stdout, /^verdict\s+fits$/m, 'the planned model fits the Nano 33 BLE');
  // The int8 model exported for TFLite Micro: a flatbuffer with the TFL3 identifier and a C header of its bytes.
  const tflite = fs.readFileSync(path.join(out, 'cls.int8.tflite'));
  assert.equal(tflite.subarray(4, 8).toString('latin1'), 'TFL3');
  assert.match(fs.readFileSync(path.join(out, 'cls_int8.h'), 'utf8'), new RegExp(`cls_int8_len = ${tflite.length};`));
  // The final table: one row per variant, the reference first.
  const rows = [...r.stdout.matchAll(/^(fp32 original|int8 \(all layers\)|plan \(1 pp budget\)|20 % channels pruned)\s+(\d+) KB/gm)].map((m) => m[1]);
  assert.deepEqual(rows, ['fp32 original', 'int8 (all layers)', 'plan (1 pp budget)', '20 % channels pruned']);
  fs.rmSync(out, { recursive: true, force: true });
});

test('demo without --out leaves no files behind', () => {
  const before = new Set(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('onnx-lens-demo-')));
  const r = spawnSync(process.execPath, [CLI, 'demo'], { encoding: 'utf8', timeout: 240_000, cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  const left = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('onnx-lens-demo-') && !before.has(f));
  assert.deepEqual(left, []);
});
