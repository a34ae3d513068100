import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreement, argmax, maxAbsDiff, topKAccuracy } from '../../../src/core/eval/metrics';
import type { Outputs } from '../../../src/core/eval/runner';

const rows = (values: number[][]): Outputs => ({ n: values.length, width: values[0].length, values: Float32Array.from(values.flat()) });

// Four samples, four classes. Hand-ranked: sample 0 → [2, 0, 3, 1]; 1 → [0, 1, 2, 3]; 2 → [3, 2, 1, 0];
// 3 ties classes 1 and 2 at the top, so class 1 ranks first.
const logits = rows([
  [0.5, -1, 2, 0.25],
  [9, 8, 7, 6],
  [0, 1, 2, 3],
  [0, 5, 5, 1],
]);

test('argmax takes the first of tied maxima', () => {
  assert.deepEqual([...argmax(logits)], [2, 0, 3, 1]);
});

test('top-k accuracy on hand-ranked logits', () => {
  const labels = Int32Array.from([0, 0, 1, 2]);
  // top-1 hits: only sample 1. top-2: + sample 0 (rank 1) and sample 3 (class 2 ties at rank 1) → 3.
  // top-3: + sample 2 (class 1 has rank 2) → 4.
  assert.equal(topKAccuracy(logits, labels, 1), 1 / 4);
  assert.equal(topKAccuracy(logits, labels, 2), 3 / 4);
  assert.equal(topKAccuracy(logits, labels, 3), 4 / 4);
  assert.equal(topKAccuracy(logits, labels, 5), 1);
  assert.throws(() => topKAccuracy(logits, Int32Array.from([0]), 1), RangeError);
});

test('agreement counts equal predictions; max abs diff is the largest elementwise gap', () => {
  const other = rows([
    [0.5, -1, 1.9, 2.5], // predicts 3 (baseline 2)
    [9, 8, 7, 6],
    [0, 1, 2, 3.25],
    [0, 5, 4, 1],
  ]);
  assert.equal(agreement(logits, other), 3 / 4);
  assert.equal(maxAbsDiff(logits, other), 2.25); // |0.25 − 2.5|
  assert.equal(maxAbsDiff(logits, logits), 0);
  assert.throws(() => agreement(logits, rows([[1, 2]])), RangeError);
});
