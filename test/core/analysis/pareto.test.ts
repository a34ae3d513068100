// Tests src/core/analysis/pareto.ts against fronts worked out by hand on small point sets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dominates, paretoFront, type TradeOff } from '../../../src/core/analysis/pareto';

const p = (accuracy: number, cost: number): TradeOff => ({ accuracy, cost });

test('a single point is on the front', () => {
  assert.deepEqual(paretoFront([p(0.9, 100)]), [true]);
  assert.deepEqual(paretoFront([]), []);
});

test('dominance needs one strict improvement: equal points do not dominate each other', () => {
  assert.equal(dominates(p(0.9, 100), p(0.9, 100)), false);
  assert.equal(dominates(p(0.9, 100), p(0.9, 101)), true); // as accurate, cheaper
  assert.equal(dominates(p(0.91, 100), p(0.9, 100)), true); // as cheap, more accurate
  assert.equal(dominates(p(0.91, 101), p(0.9, 100)), false); // a trade-off
  // ties: both copies stay; the cheaper one of equal accuracy removes the dearer
  assert.deepEqual(paretoFront([p(0.9, 100), p(0.9, 100), p(0.9, 120)]), [true, true, false]);
});

test('all dominated but one: the most accurate point is also the cheapest', () => {
  // (0.95, 10) is at least as good as every other point in both, strictly in one.
  assert.deepEqual(paretoFront([p(0.9, 40), p(0.95, 10), p(0.8, 10), p(0.95, 30), p(0.7, 90)]), [false, true, false, false, false]);
});

test('a staircase: the front is the points no other beats in both', () => {
  //   accuracy  cost   on front?
  //   0.99      400    yes (most accurate)
  //   0.98      100    yes (cheaper than 0.99)
  //   0.97      150    no  (0.98 @ 100 beats it)
  //   0.90       25    yes (cheapest)
  //   0.90       30    no  (0.90 @ 25)
  //   0.95      100    no  (0.98 @ 100: same cost, more accurate)
  const points = [p(0.99, 400), p(0.98, 100), p(0.97, 150), p(0.9, 25), p(0.9, 30), p(0.95, 100)];
  assert.deepEqual(paretoFront(points), [true, true, false, true, false, false]);
});

test('the size front and the latency front of the same variants differ', () => {
  // An fp32 baseline, a weight-only int8 copy (a quarter of the bytes, slower: dequantized at run time) and a
  // 50 % channel-pruned copy (half the bytes, faster), with hand-picked top-1.
  const variants = [
    { top1: 0.99, bytes: 4_000_000, p50: 2.0 }, // baseline
    { top1: 0.985, bytes: 1_000_000, p50: 2.6 }, // int8 weights
    { top1: 0.97, bytes: 2_000_000, p50: 1.1 }, // pruned
  ];
  const bySize = paretoFront(variants.map((v) => p(v.top1, v.bytes)));
  const byLatency = paretoFront(variants.map((v) => p(v.top1, v.p50)));
  // size: the pruned copy is bigger and less accurate than int8 → dominated
  assert.deepEqual(bySize, [true, true, false]);
  // latency: int8 is slower and less accurate than the baseline → dominated; pruned is fastest
  assert.deepEqual(byLatency, [true, false, true]);
});
