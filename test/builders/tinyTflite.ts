// A hand-made two-op .tflite whose arena plan is worked out by hand in test/core/tflite/arena.test.ts.
import { BuiltinOperator, encodeTflite, TensorType } from '../../src/core/tflite/schema';

/**
 * in [1,100] → FULLY_CONNECTED (weights [200,100] in flash) → h [1,200] → RESHAPE → out [1,50]: lifetimes in: op 0,
 * h: ops 0–1, out: op 1. Byte sizes aligned to 16: 112, 208, 64.
 */
export function tinyModel(): Uint8Array {
  const q = { scale: [0.1], zeroPoint: [0] };
  return encodeTflite({
    description: 'test',
    operatorCodes: [{ builtin: BuiltinOperator.FULLY_CONNECTED, version: 1 }, { builtin: BuiltinOperator.RESHAPE, version: 1 }],
    tensors: [
      { name: 'in', shape: [1, 100], type: TensorType.INT8, buffer: 0, quantization: q },
      { name: 'h', shape: [1, 200], type: TensorType.INT8, buffer: 0, quantization: q },
      { name: 'out', shape: [1, 50], type: TensorType.INT8, buffer: 0, quantization: q },
      { name: 'w', shape: [200, 100], type: TensorType.INT8, buffer: 1, quantization: q },
    ],
    inputs: [0], outputs: [2],
    operators: [{ opcodeIndex: 0, inputs: [0, 3], outputs: [1] }, { opcodeIndex: 1, inputs: [1], outputs: [2] }],
    buffers: [new Uint8Array(0), new Uint8Array(200 * 100).fill(1)],
  });
}
