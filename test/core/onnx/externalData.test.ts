// External data: a model written with its weights outside runs in onnxruntime with the original's outputs, each
// tensor's bytes are read only when touched, and every location that escapes the model folder is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { MissingExternalData, OnnxFormatError, UnsafeExternalDataPath } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/dtypes';
import { externalRef, isExternal } from '../../../src/core/onnx/externalData';
import { decodeModel, readModel } from '../../../src/core/onnx/read';
import { create, StringStringEntryProtoSchema, TensorProtoSchema, TensorProto_DataLocation, type TensorProto } from '../../../src/core/onnx/proto';
import { makeTensor, rawBytes, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { addWeightModel } from '../../builders/dtypeModels';

function tempDir(t: { after: (fn: () => void) => void }, name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `onnx-lens-${name}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every path under dir with its size and modification time, to prove that nothing was written. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) * scale - 1);

/** Three weights (64×64 each, 16 KiB) and y = x + w + w1 + w2. */
function threeWeightModel() {
  const n = 64 * 64;
  const w = makeTensor('w', DataType.FLOAT, [64, 64], ramp(n, 0.01));
  const w1 = makeTensor('w1', DataType.FLOAT, [64, 64], ramp(n, 0.02));
  const w2 = makeTensor('w2', DataType.FLOAT, [64, 64], ramp(n, 0.03));
  return addWeightModel(w, [w1, w2]);
}

async function run(model: string | Uint8Array, x: Float32Array): Promise<Uint8Array> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const { [session.outputNames[0]]: y } = await session.run({ x: new ort.Tensor('float32', x, [64, 64]) });
    const data = y.data as Float32Array;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  } finally {
    await session.release();
  }
}

test('writeModel with externalData: weights go to a 4 KiB-aligned data file, onnxruntime gives the original outputs', async (t) => {
  const dir = tempDir(t, 'ext-write');
  const proto = threeWeightModel();
  const file = path.join(dir, 'model.onnx');
  writeModel(proto, file, { externalData: { location: 'model.weights' } });
  assert.ok(fs.statSync(file).size < 2048, 'the .onnx file keeps no weights');
  assert.ok(fs.statSync(path.join(dir, 'model.weights')).size >= 3 * 16384);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.onnx', 'model.weights'], 'no temp files left behind');

  const model = await readModel(file);
  const inits = model.proto.graph!.initializer;
  for (const init of inits) {
    assert.ok(isExternal(init), `${init.name} is external`);
    assert.equal(init.rawData.length, 0);
    const ref = externalRef(init);
    assert.equal(ref.location, 'model.weights');
    assert.equal(ref.offset % 4096, 0);
    assert.equal(ref.length, 16384);
  }
  assert.deepEqual(Array.from(tensorValues(inits[1], model).subarray(0, 3)), Array.from(ramp(3, 0.02)));

  const x = ramp(64 * 64, 0.005);
  const expected = await run(encodeModel(proto), x);
  assert.ok(Buffer.from(await run(file, x)).equals(Buffer.from(expected)), 'onnxruntime on the external-data file');
  // Re-writing the read model inline (its bytes fetched from the data file) gives the same outputs again.
  const inline = path.join(dir, 'inline.onnx');
  writeModel(model.proto, inline, { externalData: { location: 'inline.weights', threshold: Infinity }, source: model });
  const rewritten = await readModel(inline);
  writeModel(rewritten.proto, path.join(dir, 'again.onnx'), { externalData: { location: 'again.weights' }, source: rewritten });
  assert.ok(Buffer.from(await run(path.join(dir, 'again.onnx'), x)).equals(Buffer.from(expected)), 'after a second external write');
});

test('external data is read lazily: decoding touches no data file, each tensor reads only its own bytes', async (t) => {
  const dir = tempDir(t, 'ext-lazy');
  const file = path.join(dir, 'model.onnx');
  writeModel(threeWeightModel(), file, { externalData: { location: 'w.bin' } });
  const dataFile = path.join(dir, 'w.bin');
  const [w, w1, w2] = (await readModel(file)).proto.graph!.initializer;
  const lastOffset = externalRef(w2).offset;

  // Cut the data file in the middle of the last tensor: the first two still read, the last is MissingExternalData.
  fs.truncateSync(dataFile, lastOffset + 100);
  const model = await readModel(file);
  const first = rawBytes(w, model);
  assert.equal(first.length, 16384);
  assert.equal(first.buffer.byteLength, 16384, 'only the tensor bytes were read, not the whole file');
  assert.deepEqual(Array.from(tensorValues(w1, model).subarray(0, 2)), Array.from(ramp(2, 0.02)));
  assert.throws(() => tensorValues(w2, model), (e: unknown) => e instanceof MissingExternalData && /w2/.test(e.message) && e.message.includes(file));

  // Without the data file the model still opens; only touching a weight fails.
  fs.rmSync(dataFile);
  const opened = await readModel(file);
  assert.equal(opened.proto.graph!.initializer.length, 3);
  assert.throws(() => tensorValues(opened.proto.graph!.initializer[0], opened), MissingExternalData);
  // Decoded from bytes with no folder known: a typed error, not a guess at the current directory.
  assert.throws(() => tensorValues(decodeModel(fs.readFileSync(file)).proto.graph!.initializer[0]), OnnxFormatError);
});

/** A model whose one weight points at `location` (64 floats). */
function externalModel(location: string, extra: Record<string, string> = {}): Uint8Array {
  const w = create(TensorProtoSchema, {
    name: 'w', dataType: DataType.FLOAT, dims: [64n], dataLocation: TensorProto_DataLocation.EXTERNAL,
    externalData: Object.entries({ location, offset: '0', length: '256', ...extra }).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
  const proto = addWeightModel(makeTensor('w', DataType.FLOAT, [64], new Float32Array(64)));
  proto.graph!.initializer = [w];
  return encodeModel(proto);
}

const unsafeLocations = [
  '../secret.bin', 'sub/../../secret.bin', '..\\secret.bin', '/etc/passwd', 'C:\\Windows\\win.ini', 'C:secret.bin', 'c:/secret.bin',
  '\\\\server\\share\\w.bin', 'w.bin\0.txt', 'link-out.bin', 'sub/link-dir/secret.bin',
];

test('locations that leave the model folder are UnsafeExternalDataPath, and nothing is read or written', async (t) => {
  const root = tempDir(t, 'ext-evil');
  const modelDir = path.join(root, 'model');
  fs.mkdirSync(path.join(modelDir, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'secret.bin'), new Uint8Array(1024).fill(7));
  fs.symlinkSync(path.join(root, 'secret.bin'), path.join(modelDir, 'link-out.bin'));
  fs.symlinkSync(root, path.join(modelDir, 'sub', 'link-dir'));
  const before = snapshot(root);
  for (const location of unsafeLocations) {
    const file = path.join(modelDir, 'evil.onnx');
    const bytes = externalModel(location);
    const model = decodeModel(bytes, { file, dir: modelDir }); // opening is fine: the location is only followed when read
    const w = model.proto.graph!.initializer[0];
    assert.throws(() => tensorValues(w, model), (e: unknown) => e instanceof UnsafeExternalDataPath && e.message.includes(file), JSON.stringify(location));
    assert.throws(() => rawBytes(w, model), UnsafeExternalDataPath);
    assert.throws(() => writeModel(model.proto, path.join(modelDir, 'copy.onnx'), { externalData: { location: 'copy.bin' }, source: model }), UnsafeExternalDataPath);
  }
  assert.deepEqual(snapshot(root), before, 'the folders are unchanged');
});

test('writeModel refuses unsafe external-data locations before writing anything', (t) => {
  const root = tempDir(t, 'ext-write-evil');
  const modelDir = path.join(root, 'model');
  fs.mkdirSync(modelDir);
  const before = snapshot(root);
  for (const location of ['../out.bin', 'a/../../out.bin', path.join(root, 'abs.bin'), 'D:\\out.bin', 'out\0.bin', '', '.', './']) {
    assert.throws(() => writeModel(threeWeightModel(), path.join(modelDir, 'm.onnx'), { externalData: { location } }), UnsafeExternalDataPath, JSON.stringify(location));
  }
  assert.deepEqual(snapshot(root), before);
});

test('missing, short, or odd external data is MissingExternalData / OnnxFormatError, never a raw fs error', (t) => {
  const dir = tempDir(t, 'ext-missing');
  fs.writeFileSync(path.join(dir, 'short.bin'), new Uint8Array(100));
  fs.writeFileSync(path.join(dir, 'full.bin'), new Uint8Array(256));
  fs.mkdirSync(path.join(dir, 'folder.bin'));
  const file = path.join(dir, 'm.onnx');
  const cases: [string, Record<string, string>, new (...a: never[]) => Error][] = [
    ['absent.bin', {}, MissingExternalData],
    ['short.bin', {}, MissingExternalData],
    ['full.bin', { offset: '4096' }, MissingExternalData],
    ['folder.bin', {}, MissingExternalData],
    ['full.bin', { offset: '-4' }, OnnxFormatError],
    ['full.bin', { length: '12abc' }, OnnxFormatError],
    ['full.bin', { length: '128' }, OnnxFormatError], // 128 bytes cannot hold 64 floats
  ];
  const before = snapshot(dir);
  for (const [location, extra, type] of cases) {
    const model = decodeModel(externalModel(location, extra), { file, dir });
    assert.throws(() => tensorValues(model.proto.graph!.initializer[0], model), type, `${location} ${JSON.stringify(extra)}`);
  }
  const ok = decodeModel(externalModel('full.bin'), { file, dir });
  assert.equal(tensorValues(ok.proto.graph!.initializer[0], ok).length, 64);
  const noLocation = create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [1n], dataLocation: TensorProto_DataLocation.EXTERNAL });
  assert.throws(() => rawBytes(noLocation as TensorProto, { dir, file }), OnnxFormatError);
  assert.deepEqual(snapshot(dir), before);
});

test('CLI: inspect of a model with an escaping location exits non-zero with one line naming the file', { skip: !fs.existsSync('src/cli/inspect.ts') || !fs.existsSync('dist/cli.js') }, (t) => {
  const root = tempDir(t, 'ext-cli');
  const modelDir = path.join(root, 'model');
  fs.mkdirSync(modelDir);
  fs.writeFileSync(path.join(root, 'secret.bin'), new Uint8Array(256));
  const file = path.join(modelDir, 'evil.onnx');
  fs.writeFileSync(file, externalModel('../secret.bin'));
  const before = snapshot(root);
  const r = spawnSync(process.execPath, ['dist/cli.js', 'inspect', file], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
  assert.ok(lines[0].includes('evil.onnx'), lines[0]);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.deepEqual(snapshot(root), before);
});
