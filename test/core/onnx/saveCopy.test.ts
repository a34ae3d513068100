// Save As of a model with external data: its data files are copied beside the new file, which then runs in
// onnxruntime with the original's outputs; an existing data file at the destination is never overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxLensError } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/dtypes';
import { externalDataFiles } from '../../../src/core/analysis/analyze';
import { readModelSync } from '../../../src/core/onnx/read';
import { saveModelCopy } from '../../../src/core/onnx/saveCopy';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { addWeightModel } from '../../builders/dtypeModels';
import { tempDir } from '../../fixtures/tempDir';

const weight = makeTensor('w', DataType.FLOAT, [64, 64], Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 17) - 8));

async function output(file: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  try {
    const x = new ort.Tensor('float32', new Float32Array(64 * 64).fill(0.5), [64, 64]);
    return (await session.run({ x }))[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** A model whose weight lives in `weights/w.bin` beside it. */
function externalModel(dir: string): string {
  const file = path.join(dir, 'model.onnx');
  fs.mkdirSync(path.join(dir, 'weights'));
  writeModel(addWeightModel(weight), file, { externalData: { location: 'weights/w.bin' } });
  return file;
}

test('Save As into another folder copies the external data files, and the copy gives the original outputs', async () => {
  const src = tempDir('save-copy-src');
  const dst = tempDir('save-copy-dst');
  const file = externalModel(src);
  const bytes = fs.readFileSync(file);
  const locations = [...externalDataFiles(readModelSync(file)).keys()];
  assert.deepEqual(locations, ['weights/w.bin']);
  const copy = path.join(dst, 'copy.onnx');
  await saveModelCopy(bytes, file, copy, locations);
  assert.deepEqual(fs.readFileSync(path.join(dst, 'weights', 'w.bin')), fs.readFileSync(path.join(src, 'weights', 'w.bin')));
  // Expected: x + w, computed here.
  const expected = Float32Array.from({ length: 64 * 64 }, (_, i) => 0.5 + ((i % 17) - 8));
  assert.deepEqual(await output(copy), expected);
  assert.deepEqual(await output(file), expected);
});

test('Save As refuses to overwrite a data file already at the destination, and writes nothing', async () => {
  const src = tempDir('save-copy-src');
  const dst = tempDir('save-copy-dst');
  const file = externalModel(src);
  fs.mkdirSync(path.join(dst, 'weights'));
  fs.writeFileSync(path.join(dst, 'weights', 'w.bin'), 'another model');
  await assert.rejects(saveModelCopy(fs.readFileSync(file), file, path.join(dst, 'copy.onnx'), ['weights/w.bin']), (e: Error) => e instanceof OnnxLensError && /already exists/.test(e.message));
  assert.equal(fs.readFileSync(path.join(dst, 'weights', 'w.bin'), 'utf8'), 'another model');
  assert.equal(fs.existsSync(path.join(dst, 'copy.onnx')), false);
});

test('a model without external data, or a copy in the same folder, is written as it is', async () => {
  const dir = tempDir('save-copy-inline');
  const bytes = encodeModel(addWeightModel(weight));
  const target = path.join(dir, 'inline.onnx');
  await saveModelCopy(bytes, path.join(tempDir('save-copy-elsewhere'), 'model.onnx'), target, []);
  assert.deepEqual(new Uint8Array(fs.readFileSync(target)), bytes);
  assert.deepEqual(fs.readdirSync(dir), ['inline.onnx']);
});
