import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signedPp } from '../../src/core/format';

test('signedPp: two decimals, a real minus sign, and no "−0.00"', () => {
  assert.equal(signedPp(-0.75), '−0.75 pp');
  assert.equal(signedPp(1.5), '+1.50 pp');
  assert.equal(signedPp(-0.004), '+0.00 pp');
  assert.equal(signedPp(0), '+0.00 pp');
});
