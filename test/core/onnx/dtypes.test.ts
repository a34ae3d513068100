// Element-type conversions checked against values worked out by hand from the IEEE 754 / ONNX float8 definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataType, bfloat16ToFloat, dtypeBits, dtypeName, float16ToFloat, floatToBfloat16, floatToFloat16, floatToMiniFloat,
  miniFloatTable, rawByteLength, roundHalfEven,
} from '../../../src/core/onnx/dtypes';

/** Object.is compares NaN with NaN and tells -0 from +0. */
function assertSame(actual: number, expected: number, what: string): void {
  assert.ok(Object.is(actual, expected), `${what}: got ${actual}, expected ${expected}`);
}

test('float16 decode: normals, subnormals, extremes, specials', () => {
  const cases: [number, number][] = [
    [0x3c00, 1], [0xc000, -2], [0x3800, 0.5], [0x7bff, 65504], [0xfbff, -65504],
    [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x0400, 2 ** -14], [0x3555, 0.333251953125],
    [0x0000, 0], [0x8000, -0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0xfe01, NaN],
  ];
  for (const [bits, value] of cases) assertSame(float16ToFloat(bits), value, `0x${bits.toString(16)}`);
});

test('float16 encode rounds to nearest, ties to even, overflows to infinity', () => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [1 / 3, 0x3555], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00],
    [1 + 2 ** -11, 0x3c00], // halfway between 0x3C00 and 0x3C01: even wins
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3C01 and 0x3C02: even wins
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000],
    [-0, 0x8000], [Infinity, 0x7c00], [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) assert.equal(floatToFloat16(value), bits, `${value}`);
  assert.ok(Number.isNaN(float16ToFloat(floatToFloat16(NaN))));
});

test('bfloat16 decode and encode (round to nearest even on the upper 16 bits of float32)', () => {
  const decode: [number, number][] = [
    [0x3f80, 1], [0xc000, -2], [0x3eab, 0.333984375], [0x7f7f, 3.3895313892515355e38], [0x0001, 2 ** -133],
    [0xff80, -Infinity], [0x7fc0, NaN], [0x8000, -0],
  ];
  for (const [bits, value] of decode) assertSame(bfloat16ToFloat(bits), value, `0x${bits.toString(16)}`);
  const encode: [number, number][] = [
    [1, 0x3f80], [1 / 3, 0x3eab], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [-2, 0xc000], [-Infinity, 0xff80],
  ];
  for (const [value, bits] of encode) assert.equal(floatToBfloat16(value), bits, `${value}`);
  assert.ok(Number.isNaN(bfloat16ToFloat(floatToBfloat16(NaN))));
});

// Code tables from the ONNX float8 specification (docs/technical/float8.md): bias, max finite, NaN codes.
const float8: { type: number; codes: [number, number][] }[] = [
  {
    type: DataType.FLOAT8E4M3FN,
    codes: [[0x38, 1], [0xc0, -2], [0x7e, 448], [0xfe, -448], [0x01, 2 ** -9], [0x07, 7 * 2 ** -9], [0x08, 2 ** -6],
      [0x7f, NaN], [0xff, NaN], [0x78, 256], [0x00, 0], [0x80, -0]],
  },
  {
    type: DataType.FLOAT8E4M3FNUZ,
    codes: [[0x40, 1], [0xc0, -1], [0x7f, 240], [0xff, -240], [0x01, 2 ** -10], [0x80, NaN], [0x00, 0]],
  },
  {
    type: DataType.FLOAT8E5M2,
    codes: [[0x3c, 1], [0xc0, -2], [0x7b, 57344], [0xfb, -57344], [0x01, 2 ** -16], [0x7c, Infinity], [0xfc, -Infinity],
      [0x7d, NaN], [0x7f, NaN], [0x80, -0]],
  },
  {
    type: DataType.FLOAT8E5M2FNUZ,
    codes: [[0x40, 1], [0xc0, -1], [0x7f, 57344], [0xff, -57344], [0x01, 2 ** -17], [0x80, NaN], [0x00, 0]],
  },
];

test('float8 code tables match the ONNX spec', () => {
  for (const { type, codes } of float8) {
    const table = miniFloatTable(type);
    assert.equal(table.length, 256);
    for (const [code, value] of codes) assertSame(table[code], value, `${dtypeName(type)} 0x${code.toString(16)}`);
    // FNUZ types have exactly one NaN (0x80); E4M3FN has two (S.1111.111); E5M2 has six (exponent 11111, mantissa ≠ 0).
    const nans = Array.from(table).filter(Number.isNaN).length;
    const expectedNans = { [DataType.FLOAT8E4M3FN]: 2, [DataType.FLOAT8E4M3FNUZ]: 1, [DataType.FLOAT8E5M2]: 6, [DataType.FLOAT8E5M2FNUZ]: 1 }[type];
    assert.equal(nans, expectedNans, `${dtypeName(type)} NaN count`);
  }
});

test('float8 encode: nearest code, ties to even, saturates at the largest finite value', () => {
  const E4M3FN = DataType.FLOAT8E4M3FN;
  assert.equal(floatToMiniFloat(1, E4M3FN), 0x38);
  assert.equal(floatToMiniFloat(448, E4M3FN), 0x7e);
  assert.equal(floatToMiniFloat(1000, E4M3FN), 0x7e);
  assert.equal(floatToMiniFloat(-1000, E4M3FN), 0xfe);
  assert.equal(floatToMiniFloat(Infinity, E4M3FN), 0x7e, '+inf saturates to +448');
  assert.equal(floatToMiniFloat(-Infinity, E4M3FN), 0xfe, '-inf saturates to -448');
  // 1.0625 lies halfway between 1 (0x38) and 1.125 (0x39): the even code 0x38 wins; 1.1875 → 0x3A (1.25).
  assert.equal(floatToMiniFloat(1.0625, E4M3FN), 0x38);
  assert.equal(floatToMiniFloat(1.1875, E4M3FN), 0x3a);
  assert.equal(floatToMiniFloat(1.07, E4M3FN), 0x39);
  assert.equal(floatToMiniFloat(-0, E4M3FN), 0x80, '-0 keeps its sign where the format has -0');
  assert.equal(floatToMiniFloat(NaN, E4M3FN) & 0x7f, 0x7f);
  assert.equal(floatToMiniFloat(60000, DataType.FLOAT8E5M2), 0x7b);
  assert.equal(floatToMiniFloat(Infinity, DataType.FLOAT8E5M2FNUZ), 0x7f);
  assert.equal(floatToMiniFloat(NaN, DataType.FLOAT8E4M3FNUZ), 0x80);
  assert.equal(floatToMiniFloat(-0, DataType.FLOAT8E4M3FNUZ), 0x00, 'FNUZ has no -0: 0x80 is NaN');
  assert.equal(floatToMiniFloat(2 ** -12, DataType.FLOAT8E4M3FN), 0x00, 'below half the smallest subnormal → 0');
});

test('storage bits and packed byte lengths', () => {
  assert.equal(dtypeBits(DataType.INT4), 4);
  assert.equal(dtypeBits(DataType.BFLOAT16), 16);
  assert.equal(dtypeBits(DataType.DOUBLE), 64);
  assert.equal(rawByteLength(DataType.INT4, 5), 3);
  assert.equal(rawByteLength(DataType.UINT4, 4), 2);
  assert.equal(rawByteLength(DataType.FLOAT16, 3), 6);
  assert.equal(rawByteLength(DataType.BOOL, 3), 3);
  assert.equal(dtypeName(DataType.FLOAT8E5M2FNUZ), 'float8e5m2fnuz');
  assert.equal(dtypeName(999), 'type999');
});

test('roundHalfEven: halves go to the even neighbour, everything else to the nearest', () => {
  const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999, 2], [2.5001, 3], [-2.6, -3], [7, 7]];
  for (const [x, r] of cases) assert.equal(roundHalfEven(x), r, `${x}`);
});
