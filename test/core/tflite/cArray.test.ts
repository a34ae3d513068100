import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { cArrayHeader, cIdentifier } from '../../../src/core/tflite/cArray';
import { tinyModel } from '../../builders/tinyTflite';
import { tempDir } from '../../fixtures/tempDir';

test('cIdentifier: file names become valid C identifiers', () => {
  assert.equal(cIdentifier('out/person-detect.int8.h'), 'person_detect_int8');
  assert.equal(cIdentifier('model.h'), 'model');
  assert.equal(cIdentifier('3d.h'), 'model_3d');
  assert.equal(cIdentifier('int.h'), 'model_int');
  assert.equal(cIdentifier('-.h'), 'model_');
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
