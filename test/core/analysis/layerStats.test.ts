// Zero counting on hand-made tensors (1 marks a zero below, compared against zero-point 1): element zeros,
// all-zero output channels along any axis, 2:4 groups taken along the reduction axis in memory order (only
// full groups of 4 count), and per-element zero-points. Then stored float weights, whose zeros are found on
// their bits, against counts made by definition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FloatZeroGroups } from '../../../src/core/analysis/floatZeroGroups';
import { ZeroCounter, zeroStats, type ZeroStats } from '../../../src/core/analysis/layerStats';
import type { StoredWeight } from '../../../src/core/analysis/quantScheme';
import { DataType, dtypeBits, dtypeName } from '../../../src/core/onnx/dtypes';
import type { TensorProto } from '../../../src/core/onnx/proto';
import { forEachRawChunk, makeTensor, rawBytes, tensorDims, tensorValues } from '../../../src/core/onnx/tensor';

test('zeroStats: conv weight [Cout=2, 8] — channel 1 all zero, channel 0 one 2:4 group', () => {
  const mask = Uint8Array.from([1, 1, 0, 0, 1, 0, 0, 0, /* channel 1 */ 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(zeroStats(mask, [2, 8], 0, 1), { params: 16, zeros: 11, zeroChannels: 1, channels: 2, groups: 4, twoFourGroups: 3 });
});

test('zeroStats: matmul weight [K=4, N=3] with channels along axis 1 groups down the columns', () => {
  // Column 0 = rows' first entries: 1,1,0,0 → one compliant group; column 2 all zero; column 1 none.
  const mask = Uint8Array.from([1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 1]);
  assert.deepEqual(zeroStats(mask, [4, 3], 1, 1), { params: 12, zeros: 6, zeroChannels: 1, channels: 3, groups: 3, twoFourGroups: 2 });
});

test('zeroStats: rows shorter than 4 have no 2:4 groups; 1-D tensors count each element as a channel', () => {
  assert.equal(zeroStats(Uint8Array.from([1, 1, 1, 0, 0, 0]), [2, 3], 0, 1).groups, 0);
  assert.deepEqual(zeroStats(Uint8Array.from([0, 1, 1]), [3], 0, 1), { params: 3, zeros: 2, zeroChannels: 2, channels: 3, groups: 0, twoFourGroups: 0 });
});

test('zeroStats: per-element zero-points (a pruned quantized weight equals its channel\'s zero-point)', () => {
  // [2 channels, 4]: channel 0 zero-point 5, channel 1 zero-point 0; the 0 in channel 0 is not a zero.
  const values = [5, 5, 0, 7, 0, 0, 0, 0];
  assert.deepEqual(zeroStats(values, [2, 4], 0, (i) => (i < 4 ? 5 : 0)), { params: 8, zeros: 6, zeroChannels: 1, channels: 2, groups: 2, twoFourGroups: 2 });
  assert.equal(zeroStats(values, [2, 4], 0).zeros, 5, 'default zero-point 0');
});

// ---- ZeroCounter on stored float weights: bit-level zero tests (WebAssembly SIMD and JS), unaligned raw_data ----

/** A float weight as quantScheme resolves a plain initializer. */
function storedWeight(t: TensorProto): StoredWeight {
  return {
    name: t.name, tensor: t, role: 'weight', shape: tensorDims(t), dtype: dtypeName(t.dataType), bits: dtypeBits(t.dataType),
    scheme: 'float', perChannel: false, quantParams: [], values: () => tensorValues(t), valuesAreTensor: true,
    rawBytes: (into) => rawBytes(t, {}, into), rawChunks: (chunkBytes, into, fn) => forEachRawChunk(t, {}, chunkBytes, into, fn),
    zeroPoint: () => 0, scale: () => 1,
  };
}

/**
 * The statistics by definition, enumerated differently from the code: every element's channel is its
 * coordinate along the axis; a channel's elements in memory order form its groups of 4.
 */
function expectedStats(values: readonly number[], shape: number[], axis: number): ZeroStats {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const perChannel: number[][] = Array.from({ length: shape[axis] }, () => []);
  values.forEach((v, i) => perChannel[Math.floor(i / inner) % shape[axis]].push(v));
  let zeros = 0, zeroChannels = 0, groups = 0, twoFourGroups = 0;
  for (const ch of perChannel) {
    const z = ch.filter((v) => v === 0).length;
    zeros += z;
    if (z === ch.length) zeroChannels++;
    for (let g = 0; g + 4 <= ch.length; g += 4) {
      groups++;
      if (ch.slice(g, g + 4).filter((v) => v === 0).length >= 2) twoFourGroups++;
    }
  }
  return { params: values.length, zeros, zeroChannels, channels: shape[axis], groups, twoFourGroups };
}

/** Values drawn from `pool` (about a third of it zeros), with output channel `zeroChannel` all +0 or −0. */
function weights(n: number, pool: number[], seed: number, zeroChannel?: { shape: number[]; axis: number; c: number }): number[] {
  let s = seed;
  const out = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return pool[(s >>> 8) % pool.length];
  });
  if (zeroChannel) {
    const { shape, axis, c } = zeroChannel;
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    out.forEach((_, i) => { if (Math.floor(i / inner) % shape[axis] === c) out[i] = i % 2 ? -0 : 0; });
  }
  return out;
}

/** A copy of `t` whose raw_data starts `offset` bytes into a larger buffer (as inside a protobuf file). */
function shifted(t: TensorProto, offset: number): TensorProto {
  const bytes = new Uint8Array(t.rawData.length + 8);
  bytes.set(t.rawData, offset);
  return { ...t, rawData: bytes.subarray(offset, offset + t.rawData.length) };
}

const float32Pool = [0, 0, -0, 0.25, -1.5, 3e-38, 1e-45, -1e-45, NaN, Infinity, -7, 2];

test('WebAssembly SIMD is available, so the float32 fast path is the one tested', () => {
  assert.ok(FloatZeroGroups.create());
});

const float32Cases = [
  { what: 'conv [16,8,3,3] (channels are whole 2:4 groups: SIMD)', shape: [16, 8, 3, 3], axis: 0 },
  { what: 'Gemm transB [10,64] (SIMD)', shape: [10, 64], axis: 0 },
  { what: 'stem conv [6,3,7,7] (147 per channel: groups cross nothing, JS flags)', shape: [6, 3, 7, 7], axis: 0 },
  { what: 'MatMul [24,20], channels along axis 1 (strided)', shape: [24, 20], axis: 1 },
  { what: 'bias [1000]', shape: [1000], axis: 0 },
];
for (const { what, shape, axis } of float32Cases) {
  test(`ZeroCounter: float32 ${what}, raw_data at every byte alignment, matches counts by definition`, () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = weights(n, float32Pool, n + axis, { shape, axis, c: 1 });
    const t = makeTensor('w', DataType.FLOAT, shape, values);
    const expected = expectedStats(values, shape, axis);
    assert.ok(expected.zeroChannels >= 1 && expected.twoFourGroups > 0 || expected.groups === 0);
    const counter = new ZeroCounter(t.rawData.length);
    for (let offset = 0; offset < 4; offset++) {
      assert.deepEqual(counter.weightStats(storedWeight(shifted(t, offset)), axis), expected, `raw_data at offset ${offset}`);
    }
    // A counter that has to grow its buffers gives the same.
    assert.deepEqual(new ZeroCounter().weightStats(storedWeight(shifted(t, 3)), axis), expected);
  });
}

test('ZeroCounter: float16 and bfloat16 weights (±0 only; subnormals and NaN are not zero), odd offsets too', () => {
  const pool = [0, -0, 1, -1.5, NaN, 3, 0, 2 ** -14];
  for (const [dtype, tiny] of [[DataType.FLOAT16, 2 ** -24], [DataType.BFLOAT16, 2 ** -126]] as const) {
    for (const { shape, axis } of [{ shape: [8, 16], axis: 0 }, { shape: [8, 6], axis: 1 }, { shape: [5, 7], axis: 0 }]) {
      const values = weights(shape[0] * shape[1], [...pool, tiny, -tiny], shape[1], { shape, axis, c: 2 });
      const t = makeTensor('w', dtype, shape, values);
      assert.deepEqual(tensorValues(t).filter((v) => v === 0).length, values.filter((v) => v === 0).length, 'values are exact in this type');
      const expected = expectedStats(values, shape, axis);
      for (const offset of [0, 1]) {
        assert.deepEqual(new ZeroCounter().weightStats(storedWeight(shifted(t, offset)), axis), expected, `${dtypeName(dtype)} ${shape} offset ${offset}`);
      }
    }
  }
});
