// `onnx-lens demo` (the README's quick start) runs on the bundled PaddleOCR classifier and prints its table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

test('demo: inspects the PaddleOCR classifier at its 48×192 input', () => {
  const r = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'demo'], { encoding: 'utf8', timeout: 60_000, cwd: '/' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ch_ppocr_mobile_v2\.0_cls_infer\.onnx/);
  assert.match(r.stdout, /^p2o\.MatMul\.0\s+MatMul\s+\[200×2\]/m);
  // 133,628 params as python3-onnx counts them; the first conv alone is 8·24·96·27 = 497,664 MACs at 48×192.
  assert.match(r.stdout, /params\s+133,628/);
  assert.match(r.stdout, /^p2o\.Conv\.0 .* 498K$/m);
});
