import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateSparsity, layerErrorTable, type LayerErrorTable } from '../../../src/core/obs/obcAllocation';
import { seededRandom } from '../../../src/core/random';

const table = (name: string, params: number, removed: number[], error: number[]): LayerErrorTable => ({ name, params, removed, error });

test('OBC allocation: on three hand-made error tables the DP picks the hand-computed optimum, then hands the surplus back exactly', () => {
  // Target 200 weights. By hand: without C's top level nothing reaches 200 cheaply (A 50 + B 50 + C 100 = 1.7;
  // A 90 + B 90 = 180 is too few); with C at 180 (0.6) 20 more are needed: B 50 (0.2) beats A 50 (1.0) → 0.8.
  // A greedy "least error per removed weight" pass would take C 100 first (0.005/weight) and end at ≥ 1.7.
  const tables = [
    table('A', 100, [0, 50, 90], [0, 1, 5]),
    table('B', 100, [0, 50, 90], [0, 0.2, 3]),
    table('C', 200, [0, 100, 180], [0, 0.5, 0.6]),
  ];
  const r = allocateSparsity(tables, 200);
  assert.deepEqual(r.levels, [0, 1, 2]);
  assert.ok(Math.abs(r.error - 0.8) < 1e-12);
  // Surplus 30 of 230 handed back in proportion: 50·200/230 = 43.48, 180·200/230 = 156.52 → 43 and 157 (largest remainder).
  assert.deepEqual(r.counts, [0, 43, 157]);
});

test('OBC allocation: equals the brute-force optimum over every combination of grid levels, and meets the target exactly (200 seeded toys)', () => {
  const rand = seededRandom(11);
  for (let trial = 0; trial < 200; trial++) {
    const layers = 2 + Math.floor(rand() * 3);
    const tables = Array.from({ length: layers }, (_, l) => {
      const params = 10 + Math.floor(rand() * 90);
      const grid = [0, 0.3, 0.6, 0.9];
      // errors rise with sparsity, at layer-specific and level-specific rates (not convex in general)
      let e = 0;
      return table(`L${l}`, params, grid.map((s) => Math.round(s * params)), grid.map((s) => (s === 0 ? 0 : (e += rand() * rand()))));
    });
    const most = tables.reduce((a, t) => a + t.removed.at(-1)!, 0);
    const target = Math.floor(rand() * most);
    // brute force: every combination of levels removing at least `target`
    let bestError = Infinity;
    const walk = (l: number, removed: number, error: number) => {
      if (l === tables.length) { if (removed >= target && error < bestError) bestError = error; return; }
      tables[l].removed.forEach((r, k) => walk(l + 1, removed + r, error + tables[l].error[k]));
    };
    walk(0, 0, 0);
    const r = allocateSparsity(tables, target);
    assert.ok(Math.abs(r.error - bestError) < 1e-12, `trial ${trial}: DP ${r.error} vs brute force ${bestError}`);
    assert.equal(r.counts.reduce((a, c) => a + c, 0), target, `trial ${trial}: the total is exact`);
    const chosen = r.levels.map((k, l) => tables[l].removed[k]);
    const sum = chosen.reduce((a, c) => a + c, 0);
    r.counts.forEach((c, l) => {
      const share = sum > 0 ? (chosen[l] * target) / sum : 0;
      assert.ok(c >= Math.floor(share) && c <= Math.ceil(share) && c <= chosen[l], `trial ${trial}: layer ${l} gets ${c}, its share is ${share}`);
    });
  }
});

test('OBC allocation: a coarse budget (more weights than DP steps) still never removes fewer than the target', () => {
  const tables = [table('A', 10_000, [0, 3_333, 6_667], [0, 0.1, 0.5]), table('B', 10_000, [0, 3_333, 6_667], [0, 0.2, 0.3])];
  for (const target of [1, 3_333, 3_334, 6_667, 10_000, 13_334]) {
    const r = allocateSparsity(tables, target, { steps: 7 });
    assert.equal(r.counts[0] + r.counts[1], target);
    const levelSum = r.levels.reduce((a, k, l) => a + tables[l].removed[k], 0);
    assert.ok(levelSum >= target, `target ${target}: the levels remove ${levelSum}`);
  }
  assert.throws(() => allocateSparsity(tables, 13_335), /cannot remove 13335 weights, the grid allows at most 13334/);
});

test('OBC error table: with H = I the OBS mask is the magnitude mask with no update, and the error is the pruned share of Σw² (hand-computed)', () => {
  const weights = Float64Array.from([3, -1, 2, 0.5, 0, 4]); // 2 rows × 3 columns
  const h = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const t = layerErrorTable('toy', [{ weights, rows: 2, cols: 3, u: h }], [h], [0, 1 / 6, 0.5, 1]);
  const total = 9 + 1 + 4 + 0.25 + 0 + 16;
  assert.deepEqual(t.removed, [0, 1, 3, 6]);
  // 1 weight: the 0; 3 weights: 0, 0.5, −1; all: everything
  assert.deepEqual(t.error.map((e) => Math.round(e * 1e12) / 1e12), [0, 0, Math.round((1.25 / total) * 1e12) / 1e12, 1]);
  assert.deepEqual([...weights], [3, -1, 2, 0.5, 0, 4], 'the layer itself is not changed');
});

test('OBC error table: the error is ‖X(W − Ŵ)ᵀ‖² / ‖XWᵀ‖² measured on the inputs themselves, and a row scale weighs rows', () => {
  const rand = seededRandom(3);
  const n = 40, d = 6, rows = 3;
  const x = Float64Array.from({ length: n * d }, () => rand() * 2 - 1 + (rand() < 0.5 ? 1 : 0));
  const h = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) h[a * d + b] += x[i * d + a] * x[i * d + b];
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  const identity = Float64Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0));
  // U = I makes the pruned weights predictable (magnitude mask, no update), so the expected error is computed from X directly.
  const rowScale = [1, 4, 0.25];
  const t = layerErrorTable('toy', [{ weights: w, rows, cols: d, u: identity, rowScale }], [h], [0.5]);
  const order = [...w.keys()].sort((a, b) => Math.abs(w[a]) * Math.sqrt(rowScale[Math.floor(a / d)]) - Math.abs(w[b]) * Math.sqrt(rowScale[Math.floor(b / d)]) || a - b);
  // sparseGptPrune ranks w²·rowScale per block of 3 columns (its minimum block), with cumulative targets
  // round-half-even(9 · 3/6) = 4 after the first block and 9 after the second
  const pruned = new Set<number>();
  for (const [b0, b1, upTo] of [[0, 3, 4], [3, 6, 9]]) {
    const inBlock = order.filter((k) => k % d >= b0 && k % d < b1);
    const count = upTo - pruned.size;
    inBlock.slice(0, count).forEach((k) => pruned.add(k));
  }
  let err = 0, ref = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let full = 0, lost = 0;
      for (let f = 0; f < d; f++) { full += x[i * d + f] * w[r * d + f]; if (pruned.has(r * d + f)) lost += x[i * d + f] * w[r * d + f]; }
      err += rowScale[r] * lost * lost;
      ref += rowScale[r] * full * full;
    }
  }
  assert.equal(t.removed[0], 9);
  assert.ok(Math.abs(t.error[0] - err / ref) < 1e-9 * (err / ref), `${t.error[0]} vs ${err / ref}`);
});
