// Tensor data for every element type, stored as raw_data and as the typed fields, decoded by tensorValues and
// by onnxruntime (Cast / DequantizeLinear to float32) after a write/read round trip — against hand-worked values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxFormatError } from '../../../src/core/errors';
import { DataType, dtypeName } from '../../../src/core/onnx/dtypes';
import { readModel } from '../../../src/core/onnx/read';
import { create, TensorProtoSchema, type TensorProto } from '../../../src/core/onnx/proto';
import { encodeValues, makeTensor, rawBytes, tensorNumel, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { castToFloatModel, dequantizeModel, DTYPE_OPSET } from '../../builders/dtypeModels';
import { tempDir } from '../../fixtures/tempDir';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean), (b) => parseInt(b, 16));

interface DtypeCase {
  type: number;
  dims: number[];
  /** raw_data, little-endian, written out by hand */
  raw: string;
  /** the same values in the typed field the spec names for this type */
  typed: Partial<Pick<TensorProto, 'floatData' | 'int32Data' | 'int64Data' | 'doubleData' | 'uint64Data'>>;
  /** exact element values */
  values: number[];
  /** what Cast(to=float32) gives, when it is not just Math.fround(values) */
  asFloat32?: number[];
}

const cases: DtypeCase[] = [
  { type: DataType.FLOAT, dims: [4], raw: '00 00 80 3f  00 00 00 c0  00 00 00 3f  00 e0 7f 47', typed: { floatData: [1, -2, 0.5, 65504] }, values: [1, -2, 0.5, 65504] },
  { type: DataType.DOUBLE, dims: [3], raw: '00 00 00 00 00 00 f0 3f  00 00 00 00 00 00 00 c0  00 00 00 00 00 00 e0 3f', typed: { doubleData: [1, -2, 0.5] }, values: [1, -2, 0.5] },
  {
    type: DataType.FLOAT16, dims: [2, 4], raw: '00 3c  00 c0  01 00  ff 7b  ff 03  00 7c  00 fc  00 80',
    typed: { int32Data: [0x3c00, 0xc000, 0x0001, 0x7bff, 0x03ff, 0x7c00, 0xfc00, 0x8000] },
    values: [1, -2, 2 ** -24, 65504, 1023 * 2 ** -24, Infinity, -Infinity, -0],
  },
  {
    type: DataType.BFLOAT16, dims: [6], raw: '80 3f  00 c0  01 00  7f 7f  ab 3e  80 ff',
    typed: { int32Data: [0x3f80, 0xc000, 0x0001, 0x7f7f, 0x3eab, 0xff80] },
    values: [1, -2, 2 ** -133, 3.3895313892515355e38, 0.333984375, -Infinity],
  },
  { type: DataType.INT8, dims: [4], raw: '00 7f 80 ff', typed: { int32Data: [0, 127, -128, -1] }, values: [0, 127, -128, -1] },
  { type: DataType.UINT8, dims: [4], raw: '00 7f 80 ff', typed: { int32Data: [0, 127, 128, 255] }, values: [0, 127, 128, 255] },
  { type: DataType.INT16, dims: [4], raw: 'ff 7f  00 80  ff ff  02 01', typed: { int32Data: [32767, -32768, -1, 258] }, values: [32767, -32768, -1, 258] },
  { type: DataType.UINT16, dims: [3], raw: 'ff ff  00 80  01 00', typed: { int32Data: [65535, 32768, 1] }, values: [65535, 32768, 1] },
  {
    type: DataType.INT32, dims: [4], raw: 'ff ff ff ff  00 00 00 01  40 e2 01 00  00 00 00 80',
    typed: { int32Data: [-1, 16777216, 123456, -2147483648] }, values: [-1, 16777216, 123456, -2147483648],
  },
  {
    type: DataType.INT64, dims: [3], raw: 'ff ff ff ff ff ff ff ff  00 00 00 00 00 01 00 00  fd ff ff ff ff ff ff ff',
    typed: { int64Data: [-1n, 2n ** 40n, -3n] }, values: [-1, 2 ** 40, -3],
  },
  { type: DataType.UINT32, dims: [2], raw: 'ff ff ff ff  01 00 00 00', typed: { uint64Data: [4294967295n, 1n] }, values: [4294967295, 1], asFloat32: [4294967296, 1] },
  {
    type: DataType.UINT64, dims: [2], raw: '01 00 00 00 00 00 00 00  00 00 00 00 00 01 00 00',
    typed: { uint64Data: [1n, 2n ** 40n] }, values: [1, 2 ** 40],
  },
  { type: DataType.BOOL, dims: [4], raw: '00 01 01 00', typed: { int32Data: [0, 1, 1, 0] }, values: [0, 1, 1, 0] },
  // int4: two per byte, first element in the low nibble — [1, -1, 7, -8, 3] → F1 87 03.
  { type: DataType.INT4, dims: [5], raw: 'f1 87 03', typed: { int32Data: [0xf1, 0x87, 0x03] }, values: [1, -1, 7, -8, 3] },
  { type: DataType.UINT4, dims: [3], raw: 'f0 05', typed: { int32Data: [0xf0, 0x05] }, values: [0, 15, 5] },
  {
    type: DataType.FLOAT8E4M3FN, dims: [7], raw: '38 c0 7e fe 01 08 80', typed: { int32Data: [0x38, 0xc0, 0x7e, 0xfe, 0x01, 0x08, 0x80] },
    values: [1, -2, 448, -448, 2 ** -9, 2 ** -6, -0],
  },
  {
    type: DataType.FLOAT8E4M3FNUZ, dims: [6], raw: '40 c0 7f ff 01 00', typed: { int32Data: [0x40, 0xc0, 0x7f, 0xff, 0x01, 0x00] },
    values: [1, -1, 240, -240, 2 ** -10, 0],
  },
  {
    type: DataType.FLOAT8E5M2, dims: [7], raw: '3c c0 7b 7c fc 01 80', typed: { int32Data: [0x3c, 0xc0, 0x7b, 0x7c, 0xfc, 0x01, 0x80] },
    values: [1, -2, 57344, Infinity, -Infinity, 2 ** -16, -0],
  },
  {
    type: DataType.FLOAT8E5M2FNUZ, dims: [5], raw: '40 c0 7f ff 01', typed: { int32Data: [0x40, 0xc0, 0x7f, 0xff, 0x01] },
    values: [1, -1, 57344, -57344, 2 ** -17],
  },
];

function assertValues(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

const rawTensor = (c: DtypeCase) => create(TensorProtoSchema, { name: 'w', dataType: c.type, dims: c.dims.map(BigInt), rawData: hex(c.raw) as Uint8Array<ArrayBuffer> });
const typedTensor = (c: DtypeCase) => create(TensorProtoSchema, { name: 'w', dataType: c.type, dims: c.dims.map(BigInt), ...c.typed });

test('tensorValues decodes raw_data and typed fields of every element type to the hand-worked values', () => {
  for (const c of cases) {
    assertValues(tensorValues(rawTensor(c)), c.values, `${dtypeName(c.type)} raw_data`);
    assertValues(tensorValues(typedTensor(c)), c.values, `${dtypeName(c.type)} typed field`);
    assert.deepEqual(rawBytes(typedTensor(c)), hex(c.raw), `${dtypeName(c.type)}: typed field packs to the same bytes as raw_data`);
  }
});

test('encodeValues writes the hand-worked bytes for every element type', () => {
  for (const c of cases) {
    // Encoding saturates (Cast saturate=1), so E5M2 ±inf become ±57344; that case is checked against onnxruntime below.
    if (c.type === DataType.FLOAT8E5M2) continue;
    assert.deepEqual(encodeValues(c.type, c.values), hex(c.raw), dtypeName(c.type));
  }
});

test('float8 encoding agrees with onnxruntime Cast(float32 → float8, saturate=1) on ties, overflow, infinities and NaN', async () => {
  const inputs = [0, -0, 1, 1.0625, 1.1875, 1.07, 0.1, 300, 1000, -1000, 60000, Infinity, -Infinity, 2 ** -12, 3e-3, -5e-5, NaN];
  const float8Types = [DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ];
  for (const type of float8Types) {
    const x = makeTensor('x', DataType.FLOAT, [inputs.length], inputs);
    const proto = model(graph({
      nodes: [node('Cast', ['x'], ['q'], { to: type, saturate: 1 }), node('Cast', ['q'], ['y'], { to: DataType.FLOAT })],
      inputs: [], outputs: [valueInfo('y', DataType.FLOAT, [inputs.length])], initializers: [x],
    }), { opset: DTYPE_OPSET, irVersion: 10 });
    const fromOrt = await runFloatOutput(encodeModel(proto));
    const ours = tensorValues(create(TensorProtoSchema, { name: 'q', dataType: type, dims: [BigInt(inputs.length)], rawData: encodeValues(type, inputs) as Uint8Array<ArrayBuffer> }));
    inputs.forEach((v, i) => assert.ok(Object.is(ours[i], fromOrt[i]), `${dtypeName(type)} of ${v}: ours ${ours[i]}, onnxruntime ${fromOrt[i]}`));
  }
});

test('NaN codes decode to NaN: float16 0x7E00, bfloat16 0x7FC0, E4M3FN 0x7F, E5M2 0x7E, FNUZ 0x80', () => {
  const one = (type: number, raw: string, dims = [1]) =>
    tensorValues(create(TensorProtoSchema, { name: 'n', dataType: type, dims: dims.map(BigInt), rawData: hex(raw) as Uint8Array<ArrayBuffer> }))[0];
  assert.ok(Number.isNaN(one(DataType.FLOAT16, '00 7e')));
  assert.ok(Number.isNaN(one(DataType.BFLOAT16, 'c0 7f')));
  assert.ok(Number.isNaN(one(DataType.FLOAT8E4M3FN, '7f')));
  assert.ok(Number.isNaN(one(DataType.FLOAT8E5M2, '7e')));
  assert.ok(Number.isNaN(one(DataType.FLOAT8E4M3FNUZ, '80')));
  assert.ok(Number.isNaN(one(DataType.FLOAT8E5M2FNUZ, '80')));
});

test('unaligned raw_data (byteOffset % 4 = 1, 2, 3) decodes correctly for 2-, 4- and 8-byte types', () => {
  const f32 = hex('00 00 80 3f  00 00 00 c0  00 00 00 3f');
  const i64 = hex('ff ff ff ff ff ff ff ff  00 00 00 00 00 01 00 00');
  const f64 = hex('00 00 00 00 00 00 f0 3f  00 00 00 00 00 00 00 c0');
  const i16 = hex('ff 7f  00 80  ff ff');
  for (const shift of [1, 2, 3, 5]) {
    const place = (bytes: Uint8Array) => {
      const backing = new Uint8Array(bytes.length + shift + 8);
      backing.set(bytes, shift);
      return backing.subarray(shift, shift + bytes.length) as Uint8Array<ArrayBuffer>;
    };
    const tensor = (dataType: number, dims: number[], rawData: Uint8Array<ArrayBuffer>) => create(TensorProtoSchema, { name: 't', dataType, dims: dims.map(BigInt), rawData });
    const rawF32 = place(f32);
    assert.equal(rawF32.byteOffset % 4, shift % 4);
    assertValues(tensorValues(tensor(DataType.FLOAT, [3], rawF32)), [1, -2, 0.5], `float32 at offset ${shift}`);
    assertValues(tensorValues(tensor(DataType.INT64, [2], place(i64))), [-1, 2 ** 40], `int64 at offset ${shift}`);
    assertValues(tensorValues(tensor(DataType.DOUBLE, [2], place(f64))), [1, -2], `float64 at offset ${shift}`);
    assertValues(tensorValues(tensor(DataType.INT16, [3], place(i16))), [32767, -32768, -1], `int16 at offset ${shift}`);
  }
});

test('unaligned raw_data inside a Node Buffer (as read from disk) decodes correctly', () => {
  const file = Buffer.alloc(32);
  Buffer.from(hex('00 00 80 3f  00 00 00 c0  00 00 00 3f')).copy(file, 7);
  const rawData = file.subarray(7, 19) as Uint8Array<ArrayBuffer>;
  const t = create(TensorProtoSchema, { name: 't', dataType: DataType.FLOAT, dims: [3n], rawData });
  assertValues(tensorValues(t), [1, -2, 0.5], 'float32 at Buffer offset 7');
});

test('aligned float32 raw_data is returned as a view, not a copy', () => {
  const backing = new Uint8Array(64);
  backing.set(hex('00 00 80 3f  00 00 00 c0'), 8);
  const t = create(TensorProtoSchema, { name: 't', dataType: DataType.FLOAT, dims: [2n], rawData: backing.subarray(8, 16) });
  const values = tensorValues(t);
  assert.equal(values.buffer, backing.buffer);
  backing.set(hex('00 00 40 40'), 8); // 3.0 written into the file buffer shows through the view
  assert.equal(values[0], 3);
});

test('inconsistent tensors are OnnxFormatError: wrong raw_data length, wrong typed-field count', () => {
  const short = create(TensorProtoSchema, { name: 's', dataType: DataType.FLOAT, dims: [3n], rawData: hex('00 00 80 3f') as Uint8Array<ArrayBuffer> });
  assert.throws(() => tensorValues(short), OnnxFormatError);
  const fewTyped = create(TensorProtoSchema, { name: 'f', dataType: DataType.FLOAT16, dims: [4n], int32Data: [0x3c00] });
  assert.throws(() => tensorValues(fewTyped), OnnxFormatError);
  const hugeTyped = create(TensorProtoSchema, { name: 'h', dataType: DataType.FLOAT, dims: [1n << 40n], floatData: [1] });
  assert.throws(() => tensorValues(hugeTyped), OnnxFormatError);
  const strings = create(TensorProtoSchema, { name: 'str', dataType: DataType.STRING, dims: [1n], stringData: [hex('61')] as Uint8Array<ArrayBuffer>[] });
  assert.throws(() => tensorValues(strings), OnnxFormatError);
});

test('makeTensor / tensorNumel: element count from dims, mismatched values refused', () => {
  const t = makeTensor('w', DataType.INT4, [2, 3], [0, 1, 2, 3, -4, -8]);
  assert.equal(tensorNumel(t), 6);
  assert.equal(t.rawData.length, 3);
  assert.deepEqual(t.rawData, hex('10 32 8c'));
  assert.throws(() => makeTensor('w', DataType.FLOAT, [2, 2], [1, 2, 3]));
});

async function runFloatOutput(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
  try {
    const { y } = await session.run({});
    assert.equal(y.type, 'float32');
    return y.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Write → read from disk → encode: the bytes onnxruntime gets went through the whole engine. */
async function roundTrip(dir: string, name: string, proto: Parameters<typeof encodeModel>[0]): Promise<{ bytes: Uint8Array; w: TensorProto; model: Awaited<ReturnType<typeof readModel>> }> {
  const file = path.join(dir, `${name}.onnx`);
  writeModel(proto, file);
  const model = await readModel(file);
  const w = model.proto.graph!.initializer.find((t) => t.name === 'w')!;
  return { bytes: encodeModel(model.proto), w, model };
}

test('onnxruntime casts every element type to the hand-worked float32 values after a write/read round trip', async (t) => {
  const dir = tempDir('onnx-lens-dtypes-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const c of cases) {
    for (const [storage, make] of [['raw_data', rawTensor], ['typed field', typedTensor]] as const) {
      const what = `${dtypeName(c.type)} ${storage}`;
      const { bytes, w, model } = await roundTrip(dir, `${dtypeName(c.type)}_${storage.replace(' ', '_')}`, castToFloatModel(make(c)));
      assertValues(tensorValues(w, model), c.values, `${what} after round trip`);
      const expected = c.asFloat32 ?? c.values.map(Math.fround);
      assertValues(await runFloatOutput(bytes), expected, `${what} through onnxruntime Cast`);
    }
  }
});

test('onnxruntime DequantizeLinear (opset 21) of int4 / uint4 / float8 weights matches (w - zero_point) * scale', async (t) => {
  const dir = tempDir('onnx-lens-dq-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const scale = (v: number) => create(TensorProtoSchema, { name: 's', dataType: DataType.FLOAT, dims: [], floatData: [v] });
  const zp = (type: number, raw: string) => create(TensorProtoSchema, { name: 'zp', dataType: type, dims: [], rawData: hex(raw) as Uint8Array<ArrayBuffer> });
  const w = (type: number, dims: number[], raw: string) => create(TensorProtoSchema, { name: 'w', dataType: type, dims: dims.map(BigInt), rawData: hex(raw) as Uint8Array<ArrayBuffer> });
  const dq = [
    // int4 [1, -1, 7, -8, 3], zero point -2 (0x0E), scale 0.5 → [1.5, 0.5, 4.5, -3, 2.5]
    { name: 'int4', proto: dequantizeModel(w(DataType.INT4, [5], 'f1 87 03'), scale(0.5), zp(DataType.INT4, '0e')), expected: [1.5, 0.5, 4.5, -3, 2.5] },
    // uint4 [0, 15, 5, 8], zero point 8, scale 0.25 → [-2, 1.75, -0.75, 0]
    { name: 'uint4', proto: dequantizeModel(w(DataType.UINT4, [4], 'f0 85'), scale(0.25), zp(DataType.UINT4, '08')), expected: [-2, 1.75, -0.75, 0] },
    // E4M3FN [1, -2, 448], scale 2 → [2, -4, 896]
    { name: 'e4m3fn', proto: dequantizeModel(w(DataType.FLOAT8E4M3FN, [3], '38 c0 7e'), scale(2)), expected: [2, -4, 896] },
    // E5M2 [1, 57344, 2^-16], scale 0.5 → [0.5, 28672, 2^-17]
    { name: 'e5m2', proto: dequantizeModel(w(DataType.FLOAT8E5M2, [3], '3c 7b 01'), scale(0.5)), expected: [0.5, 28672, 2 ** -17] },
    // E4M3FNUZ [1, -240], E5M2FNUZ [1, 57344], scale 1
    { name: 'e4m3fnuz', proto: dequantizeModel(w(DataType.FLOAT8E4M3FNUZ, [2], '40 ff'), scale(1)), expected: [1, -240] },
    { name: 'e5m2fnuz', proto: dequantizeModel(w(DataType.FLOAT8E5M2FNUZ, [2], '40 7f'), scale(1)), expected: [1, 57344] },
  ];
  for (const c of dq) {
    const { bytes } = await roundTrip(dir, `dq_${c.name}`, c.proto);
    assertValues(await runFloatOutput(bytes), c.expected, `DequantizeLinear ${c.name}`);
  }
});
