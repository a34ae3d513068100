// Writing models: atomic replacement (no temp files, failures leave the old file), external-data layout checked
// byte by byte against the raw file, typed fields moved out, in-place rewrites, and onnxruntime on the results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType } from '../../../src/core/onnx/dtypes';
import { externalRef, isExternal } from '../../../src/core/onnx/externalData';
import { readModel } from '../../../src/core/onnx/read';
import { create, TensorProtoSchema } from '../../../src/core/onnx/proto';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel, writeFileAtomic, writeFilesAtomic, writeModel } from '../../../src/core/onnx/write';
import { addWeightModel } from '../../builders/dtypeModels';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-write-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function runAdd(model: string | Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    return (await session.run({ x: new ort.Tensor('float32', x, dims) }))[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

test('writeFileAtomic replaces the target in one step and leaves no temp file; a failed write keeps the old file', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'm.onnx');
  writeFileAtomic(file, Uint8Array.from([1, 2, 3]));
  writeFileAtomic(file, [Uint8Array.from([4, 5]), Uint8Array.from([6])]);
  assert.deepEqual([...fs.readFileSync(file)], [4, 5, 6]);
  assert.deepEqual(fs.readdirSync(dir), ['m.onnx']);
  // Renaming onto a non-empty folder fails: the folder and its content stay, and the temp file is removed.
  const folder = path.join(dir, 'taken');
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'keep'), 'x');
  assert.throws(() => writeFileAtomic(folder, Uint8Array.from([9])));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['m.onnx', 'taken']);
  assert.equal(fs.readFileSync(path.join(folder, 'keep'), 'utf8'), 'x');
  assert.throws(() => writeFileAtomic(path.join(dir, 'no-such-folder', 'm.onnx'), Uint8Array.from([1])));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['m.onnx', 'taken']);
});

test('writeFilesAtomic replaces every target or none: a second file that cannot be written leaves the first as it was', (t) => {
  const dir = tempDir(t);
  const model = path.join(dir, 'm.tflite');
  const header = path.join(dir, 'm.h');
  fs.writeFileSync(model, 'old');
  assert.throws(() => writeFilesAtomic([{ file: model, data: Uint8Array.from([1]) }, { file: path.join(dir, 'no-such-folder', 'm.h'), data: Uint8Array.from([2]) }]));
  assert.equal(fs.readFileSync(model, 'utf8'), 'old');
  assert.deepEqual(fs.readdirSync(dir), ['m.tflite']);
  writeFilesAtomic([{ file: model, data: Uint8Array.from([1]) }, { file: header, data: Uint8Array.from([2]) }]);
  assert.deepEqual([...fs.readFileSync(model)], [1]);
  assert.deepEqual([...fs.readFileSync(header)], [2]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['m.h', 'm.tflite']);
});

test('external data layout: big tensors at 4 KiB-aligned offsets hold exactly their bytes, small ones stay inline', async (t) => {
  const dir = tempDir(t);
  const big = makeTensor('big', DataType.FLOAT, [1000], Float32Array.from({ length: 1000 }, (_, i) => i / 8));
  const typed = create(TensorProtoSchema, { name: 'typed', dataType: DataType.FLOAT, dims: [1000n], floatData: Array.from({ length: 1000 }, (_, i) => -i) });
  const proto = addWeightModel(big, [typed]);
  proto.graph!.initializer.push(makeTensor('small', DataType.FLOAT, [4], [1, 2, 3, 4])); // 16 bytes: under the 1 KiB threshold
  const bigRaw = big.rawData.slice();
  const file = path.join(dir, 'm.onnx');
  writeModel(proto, file, { externalData: { location: 'm.data' } });
  assert.deepEqual(big.rawData, bigRaw, 'the caller’s model is not changed');
  assert.equal(typed.floatData.length, 1000);

  const model = await readModel(file);
  const byName = new Map(model.proto.graph!.initializer.map((i) => [i.name, i]));
  const data = fs.readFileSync(path.join(dir, 'm.data'));
  const at = (name: string) => externalRef(byName.get(name)!);
  assert.equal(at('big').offset, 0);
  assert.equal(at('typed').offset, 4096, 'second tensor starts at the next 4 KiB boundary');
  assert.equal(data.length, 4096 + 4000);
  // Bytes in the data file, read without the engine: little-endian float32 of the original values.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const i of [0, 1, 999]) {
    assert.equal(view.getFloat32(i * 4, true), i / 8);
    assert.equal(view.getFloat32(4096 + i * 4, true), -i);
  }
  const inline = byName.get('small')!;
  assert.equal(isExternal(inline), false);
  assert.equal(inline.rawData.length, 16);
  const typedOut = byName.get('typed')!;
  assert.equal(typedOut.floatData.length, 0, 'typed field cleared once the bytes moved out');

  const x = Float32Array.from({ length: 1000 }, (_, i) => i);
  const y = await runAdd(file, x, [1000]);
  assert.equal(y[0], 0);
  assert.equal(y[8], 8 + 1 - 8); // x + big + typed = 8 + 1 - 8
  assert.equal(y[999], 999 + 999 / 8 - 999);
});

test('rewriting an external-data model in place (same file, same data file) keeps its outputs', async (t) => {
  const dir = tempDir(t);
  const n = 2048;
  const w = makeTensor('w', DataType.FLOAT, [n], Float32Array.from({ length: n }, (_, i) => Math.sin(i)));
  const w1 = makeTensor('w1', DataType.FLOAT, [n], Float32Array.from({ length: n }, (_, i) => Math.cos(i)));
  const proto = addWeightModel(w, [w1]);
  const x = Float32Array.from({ length: n }, (_, i) => i / n);
  const expected = await runAdd(encodeModel(proto), x, [n]);
  const file = path.join(dir, 'm.onnx');
  writeModel(proto, file, { externalData: { location: 'm.data' } });
  const model = await readModel(file);
  writeModel(model.proto, file, { externalData: { location: 'm.data' }, source: model });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['m.data', 'm.onnx']);
  const again = await runAdd(file, x, [n]);
  assert.ok(Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)));
});
