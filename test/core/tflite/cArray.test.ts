import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { estimateArena } from '../../../src/core/tflite/arena';
import { cArrayHeader, cIdentifier } from '../../../src/core/tflite/cArray';
import { readTflite } from '../../../src/core/tflite/read';
import { BuiltinOperator, encodeTflite, TensorType } from '../../../src/core/tflite/schema';
import { tempDir } from '../../fixtures/tempDir';

/**
 * in [1,100] → FULLY_CONNECTED (weights [200,100] in flash) → h [1,200] → RESHAPE → out [1,50]: lifetimes in: op 0,
 * h: ops 0–1, out: op 1. Byte sizes aligned to 16: 112, 208, 64.
 */
function tinyModel(): Uint8Array {
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

test('cIdentifier: file names become valid C identifiers', () => {
  assert.equal(cIdentifier('out/person-detect.int8.h'), 'person_detect_int8');
  assert.equal(cIdentifier('model.h'), 'model');
  assert.equal(cIdentifier('3d.h'), 'model_3d');
  assert.equal(cIdentifier('int.h'), 'model_int');
  assert.equal(cIdentifier('-.h'), 'model_');
});

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

test('cArrayHeader: aligned array, its length, the resolver calls; it compiles as C++17 and C11, and a program reads TFL3 at offset 4 from a 16-byte-aligned array', (t) => {
  const bytes = tinyModel();
  const { text, info } = cArrayHeader(bytes, 'tiny_model', 'tiny.tflite');
  assert.deepEqual(info.resolverCalls, ['AddFullyConnected()', 'AddReshape()']);
  assert.match(text, /^\/\/   tflite::MicroMutableOpResolver<2> resolver;$/m);
  assert.match(text, /^\/\/   resolver\.AddFullyConnected\(\);$/m);
  assert.match(text, /^alignas\(16\) const unsigned char tiny_model\[\] = \{$/m);
  assert.match(text, new RegExp(`^const unsigned int tiny_model_len = ${bytes.length};$`, 'm'));
  assert.match(text, /Tensor arena: about 512 bytes \(an estimate/);
  const hex = [...text.matchAll(/0x([0-9a-f]{2})/g)].map((m) => parseInt(m[1], 16));
  assert.deepEqual(hex, Array.from(bytes), 'the array holds the file byte for byte');

  if (spawnSync('c++', ['--version']).status !== 0) {
    t.skip('no C++ compiler (c++) on this machine');
    return;
  }
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'tiny_model.h'), text);
  fs.writeFileSync(path.join(dir, 'main.cc'), [
    '#include "tiny_model.h"',
    '#include <cstdint>',
    '#include <cstring>',
    `int main() { return tiny_model_len == ${bytes.length} && std::memcmp(tiny_model + 4, "TFL3", 4) == 0 && reinterpret_cast<std::uintptr_t>(tiny_model) % 16 == 0 ? 0 : 1; }`,
  ].join('\n'));
  const exe = path.join(dir, 'main');
  const build = spawnSync('c++', ['-std=c++17', '-Wall', '-Werror', path.join(dir, 'main.cc'), '-o', exe], { encoding: 'utf8' });
  assert.equal(build.status, 0, build.stderr);
  assert.equal(spawnSync(exe).status, 0, 'length, TFL3 identifier and alignment as written');
  fs.writeFileSync(path.join(dir, 'main.c'), '#include "tiny_model.h"\nint main(void) { return tiny_model[4] == 0x54 && tiny_model_len > 8 ? 0 : 1; }\n');
  const c = spawnSync('cc', ['-std=c11', '-Wall', '-Werror', '-fsyntax-only', path.join(dir, 'main.c')], { encoding: 'utf8' });
  assert.equal(c.status, 0, c.stderr);
});
