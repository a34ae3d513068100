import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cholesky, choleskySolve, factorDamped, NormalEquations, solveRestricted } from '../../../src/core/recover/leastSquares';
import { seededRandom } from '../../../src/core/random';

test('Cholesky solves a hand-computed SPD system', () => {
  // A = [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]]; A x = [2, 1] has x = [0.5, 0].
  const l = cholesky(Float64Array.from([4, 2, 2, 3]), 2)!;
  assert.deepEqual([...l].map((v) => +v.toFixed(12)), [2, 0, 1, +Math.SQRT2.toFixed(12)]);
  const x = choleskySolve(l, 2, Float64Array.from([2, 1]));
  assert.ok(Math.abs(x[0] - 0.5) < 1e-12 && Math.abs(x[1]) < 1e-12, `${x}`);
  assert.equal(cholesky(Float64Array.from([1, 2, 2, 1]), 2), null, 'an indefinite matrix has no Cholesky factor');
});

test('the normal equations recover exact weights and bias from noiseless rows, also restricted to a subset', () => {
  const rnd = seededRandom(7);
  const truth = [0.5, -1.25, 0, 2, 0.75]; // last entry = bias (feature fixed at 1); feature 2 unused
  const eq = new NormalEquations(5, 1);
  for (let r = 0; r < 200; r++) {
    const x = [rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1, rnd() * 2 - 1, 1];
    eq.add(x, [x.reduce((a, v, i) => a + v * truth[i], 0)]);
  }
  eq.symmetrize();
  const full = solveRestricted(eq, [0, 1, 2, 3, 4], 0, 1e-12);
  full.forEach((w, i) => assert.ok(Math.abs(w - truth[i]) < 1e-6, `w${i} = ${w}`));
  const subset = [0, 1, 3, 4];
  const restricted = solveRestricted(eq, subset, 0, 1e-12);
  subset.forEach((f, a) => assert.ok(Math.abs(restricted[a] - truth[f]) < 1e-6, `w${f} = ${restricted[a]}`));
});

test('damping survives a singular gram', () => {
  const rnd = seededRandom(3);
  const eq = new NormalEquations(3, 2);
  // feature 2 always zero: the plain gram is singular
  for (let r = 0; r < 50; r++) eq.add([rnd(), rnd(), 0], [rnd(), rnd()]);
  eq.symmetrize();
  const w = solveRestricted(eq, [0, 1, 2], 1, 0.01);
  assert.ok(w.every(Number.isFinite));
  assert.ok(factorDamped(new Float64Array(4), 2, [0, 1], 0).every(Number.isFinite), 'an all-zero gram still factors');
});
