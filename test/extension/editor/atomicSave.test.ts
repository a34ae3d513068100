// Tests writeFileAtomicAsync (src/core/onnx/write.ts), which the editor's Save / Save As / backup use: the new
// bytes replace the file whole, and a failure in the middle of writing leaves the original file intact.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeFileAtomicAsync } from '../../../src/core/onnx/write';
import { tempDir } from '../../fixtures/tempDir';

test('save replaces the file with the new bytes and leaves no temp file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, 'original');
  await writeFileAtomicAsync(file, new TextEncoder().encode('edited model'));
  assert.equal(fs.readFileSync(file, 'utf8'), 'edited model');
  assert.deepEqual(fs.readdirSync(dir), ['model.onnx']);
});

test('a failure mid-write leaves the original file intact and removes the partial copy', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.onnx');
  const original = new Uint8Array(1 << 20).map((_, i) => i % 251);
  fs.writeFileSync(file, original);
  function* failing(): Generator<Uint8Array> {
    yield new Uint8Array(1 << 19).fill(7);
    throw new Error('disk full');
  }
  await assert.rejects(writeFileAtomicAsync(file, failing()), /disk full/);
  assert.deepEqual(fs.readFileSync(file), Buffer.from(original));
  assert.deepEqual(fs.readdirSync(dir), ['model.onnx']);
});

test('a folder that cannot be written to fails without touching the original', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, 'original');
  fs.chmodSync(dir, 0o500);
  try {
    if (process.getuid?.() === 0) return; // root writes anyway: nothing to check
    await assert.rejects(writeFileAtomicAsync(file, new Uint8Array(10)));
    assert.equal(fs.readFileSync(file, 'utf8'), 'original');
  } finally {
    fs.chmodSync(dir, 0o700);
  }
});
