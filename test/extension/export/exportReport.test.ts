// Tests src/extension/export/exportReport.ts: the `onnx-lens export` arguments of the command's answers, its --json
// summary read back, and the verdict against a board (Arduino Nano 33 BLE Sense: 1 MB flash, 256 KB SRAM).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findAnyDevice } from '../../../src/core/device/userProfiles';
import { deviceFit, exportArgs, nodesText, parseExportJson, sizeText } from '../../../src/extension/export/exportReport';

const nano = findAnyDevice('nano33ble', [])!;

test('the arguments follow the CLI contract: --calib only for float models, --c-array only with a header, always --json', () => {
  assert.deepEqual(exportArgs({ model: 'm.int8.onnx', output: 'm.tflite', io: 'float' }), ['export', 'm.int8.onnx', '-o', 'm.tflite', '--io', 'float', '--json']);
  assert.deepEqual(exportArgs({ model: 'm.onnx', output: 'o/m.tflite', io: 'int8', calib: 'calib/', header: 'o/m.h' }),
    ['export', 'm.onnx', '-o', 'o/m.tflite', '--io', 'int8', '--calib', 'calib/', '--c-array', 'o/m.h', '--json']);
  assert.deepEqual(exportArgs({ model: 'cls.onnx', output: 'cls.tflite', io: 'float', shapes: { x: [1, 3, 48, 192] } }),
    ['export', 'cls.onnx', '-o', 'cls.tflite', '--io', 'float', '--shape', 'x=1,3,48,192', '--json'], 'the editor\'s input shapes become --shape');
});

test('the --json summary: sizes and ops; the arena estimate of the C header; anything else is refused', () => {
  const base = { model: 'm.onnx', output: 'm.tflite', io: 'float', onnxBytes: 120_000, tfliteBytes: 100_000, inputs: [], outputs: [], ops: ['CONV_2D', 'SOFTMAX'] };
  assert.deepEqual(parseExportJson(JSON.stringify(base)), { onnxBytes: 120_000, tfliteBytes: 100_000, ops: ['CONV_2D', 'SOFTMAX'] });
  const cArray = { file: 'm.h', name: 'm_tflite', resolver: ['AddConv2D()'], arena: { total: 12_345, activations: 10_000 } };
  assert.equal(parseExportJson(JSON.stringify({ ...base, cArray }))?.arenaBytes, 12_345, "the C header's estimate (--c-array)");
  assert.equal(parseExportJson(JSON.stringify({ ...base, cArray: null }))?.arenaBytes, undefined);
  assert.equal(parseExportJson(JSON.stringify({ ...base, tfliteBytes: -1 })), undefined);
  assert.equal(parseExportJson('wrote m.tflite'), undefined);
});

test('sizes: the .tflite next to the ONNX model, with its share', () => {
  assert.equal(sizeText('m.tflite', { onnxBytes: 4096, tfliteBytes: 1024, ops: [] }), 'm.tflite: 1.00 KB (the ONNX model 4.00 KB, 25 %)');
});

test('the Nano 33 BLE: 1 MiB flash and 256 KiB RAM; over either is named with the excess, under both with the use', () => {
  assert.equal(nano.flashBytes, 1024 * 1024);
  assert.equal(nano.ramBytes, 256 * 1024);
  const big = deviceFit({ onnxBytes: 0, tfliteBytes: 1024 * 1024 + 512 * 1024, arenaBytes: 300 * 1024, ops: [] }, nano);
  assert.equal(big.fits, false);
  assert.match(big.text, /exceeds its 1\.00 MB flash by 512\.0 KB/);
  assert.match(big.text, /exceeds its 256\.0 KB RAM by 44\.0 KB/);
  const small = deviceFit({ onnxBytes: 0, tfliteBytes: 100 * 1024, arenaBytes: 20 * 1024, ops: [] }, nano);
  assert.equal(small.fits, true);
  assert.match(small.text, /flash 100\.0 KB of 1\.00 MB, arena ~20\.0 KB of 256\.0 KB RAM/);
  const noArena = deviceFit({ onnxBytes: 0, tfliteBytes: 100 * 1024, ops: [] }, nano);
  assert.equal(noArena.fits, true);
  assert.match(noArena.text, /RAM not checked/);
});

test('the nodes without a converter, named with their op; long lists are cut', () => {
  assert.equal(nodesText([{ name: 'up', op: 'Resize' }]), 'Resize (up)');
  assert.equal(nodesText([{ name: 'a', op: 'Sigmoid' }, { name: 'b', op: 'Tanh' }]), 'Sigmoid (a) and Tanh (b)');
  assert.equal(nodesText(Array.from({ length: 6 }, (_, i) => ({ name: `n${i}`, op: 'Erf' })), 2), 'Erf (n0), Erf (n1) and 4 more');
});
