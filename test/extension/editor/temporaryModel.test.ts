// An edited document's bytes as a temporary file: there while used, gone after, also when the use fails.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { withTemporaryModel } from '../../../src/extension/editor/temporaryModel';

test('the bytes are in <name>.edited.onnx while used; the file and its folder are removed after, also on failure', async () => {
  const bytes = new Uint8Array([8, 1, 2, 3]);
  let seen = '';
  const size = await withTemporaryModel('net.onnx', bytes, async (file) => {
    seen = file;
    assert.equal(path.basename(file), 'net.edited.onnx');
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), bytes);
    return fs.statSync(file).size;
  });
  assert.equal(size, 4);
  assert.equal(fs.existsSync(path.dirname(seen)), false);
  await assert.rejects(withTemporaryModel('net.onnx', bytes, async (file) => { seen = file; throw new Error('child failed'); }), /child failed/);
  assert.equal(fs.existsSync(path.dirname(seen)), false);
});
