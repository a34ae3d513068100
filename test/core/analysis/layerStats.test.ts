// Zero counting on hand-made tensors (1 marks a zero below, compared against zero-point 1): element zeros,
// all-zero output channels along any axis, 2:4 groups taken along the reduction axis in memory order (only
// full groups of 4 count), and per-element zero-points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zeroStats } from '../../../src/core/analysis/layerStats';

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
