import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateArena } from '../../../src/core/tflite/arena';
import { readTflite } from '../../../src/core/tflite/read';
import { BuiltinOperator, encodeTflite, TensorType } from '../../../src/core/tflite/schema';
import { tinyModel } from '../../builders/tinyTflite';

test('readTflite and estimateArena: the tensors and op order read back, and the greedy plan of the hand-computed example', () => {
  const m = readTflite(tinyModel());
  assert.deepEqual(m.builtins, [BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.RESHAPE]);
  assert.deepEqual(m.tensors.map((t) => [t.name, t.shape]), [['in', [1, 100]], ['h', [1, 200]], ['out', [1, 50]], ['w', [200, 100]]]);
  assert.deepEqual(m.operators.map((o) => [o.builtin, o.inputs, o.outputs]), [[BuiltinOperator.FULLY_CONNECTED, [0, 3], [1]], [BuiltinOperator.RESHAPE, [1], [2]]]);
  assert.equal(m.bufferBytes[1], 20000);
  const a = estimateArena(m);
  // Largest first: h at 0..208; in (alive with h at op 0) at 208..320; out (alive with h at op 1, not with in) at 208..272.
  assert.equal(a.activations, 320);
  assert.equal(a.largestTensor, 200);
  // 4 tensors · 16 + 2 operators · 64, no convolution channels.
  assert.equal(a.persistent, 192);
  assert.equal(a.total, 512);
});

test('estimateArena: a CONV_2D adds 8 bytes per output channel to the persistent part', () => {
  const q = { scale: [0.1], zeroPoint: [0] };
  const m = readTflite(encodeTflite({
    description: 'test',
    operatorCodes: [{ builtin: BuiltinOperator.CONV_2D, version: 3 }],
    tensors: [
      { name: 'in', shape: [1, 4, 4, 3], type: TensorType.INT8, buffer: 0, quantization: q },
      { name: 'w', shape: [8, 1, 1, 3], type: TensorType.INT8, buffer: 1, quantization: q },
      { name: 'out', shape: [1, 4, 4, 8], type: TensorType.INT8, buffer: 0, quantization: q },
    ],
    inputs: [0], outputs: [2],
    operators: [{ opcodeIndex: 0, inputs: [0, 1, -1], outputs: [2] }],
    buffers: [new Uint8Array(0), new Uint8Array(24)],
  }));
  const a = estimateArena(m);
  // out (128 B) at 0, in (48 B) alive at the same op at 128: 176; 3 tensors · 16 + 1 operator · 64 + 8 channels · 8 = 176.
  assert.deepEqual([a.activations, a.persistent, a.total], [176, 176, 352]);
});
