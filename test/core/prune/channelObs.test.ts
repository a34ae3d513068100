import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greedyChannelCosts, type ChannelConsumer } from '../../../src/core/prune/channelObs';
import { seededRandom } from '../../../src/core/random';
import { cholesky, choleskySolve } from '../../../src/core/recover/leastSquares';

/** Least-squares error ‖X_S w − y‖² summed over outputs, re-solved on the columns S (independent of the code under test). */
function refitError(x: Float64Array, rowsX: number, d: number, y: Float64Array, outs: number, keep: number[]): number {
  const k = keep.length;
  if (k === 0) return y.reduce((a, v) => a + v * v, 0);
  const g = new Float64Array(k * k);
  for (let r = 0; r < rowsX; r++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) g[i * k + j] += x[r * d + keep[i]] * x[r * d + keep[j]];
  const l = cholesky(g, k)!;
  let err = 0;
  for (let o = 0; o < outs; o++) {
    const c = new Float64Array(k);
    for (let r = 0; r < rowsX; r++) for (let i = 0; i < k; i++) c[i] += x[r * d + keep[i]] * y[r * outs + o];
    const w = choleskySolve(l, k, c);
    for (let r = 0; r < rowsX; r++) {
      let p = 0;
      for (let i = 0; i < k; i++) p += x[r * d + keep[i]] * w[i];
      err += (p - y[r * outs + o]) ** 2;
    }
  }
  return err;
}

test('channel OBS: the greedy order and its cumulative errors equal brute-force least-squares re-solves (blocks of 1 and 2 columns per channel, 2 consumers)', () => {
  const rand = seededRandom(4);
  for (const spatial of [1, 2]) {
    const atoms = 5, d = atoms * spatial, rowsX = 80;
    // two consumers reading the same channels, each with its own inputs and weights
    const setups = [0, 1].map(() => {
      const x = new Float64Array(rowsX * d);
      for (let r = 0; r < rowsX; r++) {
        const z = rand() * 2 - 1;
        for (let f = 0; f < d; f++) x[r * d + f] = rand() * 2 - 1 + 0.7 * z * (f % 3);
      }
      const outs = 3;
      const w = Float64Array.from({ length: outs * d }, () => rand() * 2 - 1);
      const y = new Float64Array(rowsX * outs);
      for (let r = 0; r < rowsX; r++) for (let o = 0; o < outs; o++) for (let f = 0; f < d; f++) y[r * outs + o] += x[r * d + f] * w[o * d + f];
      return { x, outs, w, y };
    });
    const consumers: ChannelConsumer[] = setups.map(({ x, outs, w, y }) => {
      const h = new Float64Array(d * d);
      for (let r = 0; r < rowsX; r++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) h[i * d + j] += x[r * d + i] * x[r * d + j];
      const l = cholesky(h, d)!;
      const hinv = new Float64Array(d * d);
      for (let j = 0; j < d; j++) { const e = new Float64Array(d); e[j] = 1; const col = choleskySolve(l, d, e); for (let i = 0; i < d; i++) hinv[i * d + j] = col[i]; }
      return {
        weights: w.slice(), rows: outs, n: d, hinv, scale: y.reduce((a, v) => a + v * v, 0),
        columns: Array.from({ length: atoms }, (_, a) => Array.from({ length: spatial }, (_, s) => a * spatial + s)),
      };
    });
    const costs = greedyChannelCosts(consumers, atoms);
    // brute force: at each step remove the channel whose re-solve leaves the least Σ relative error
    const alive = Array.from({ length: atoms }, (_, a) => a);
    const order: number[] = [];
    const cumulative: number[] = [];
    while (alive.length > 0) {
      let best = -1, bestErr = Infinity;
      for (const a of alive) {
        const keep = alive.filter((b) => b !== a).flatMap((b) => Array.from({ length: spatial }, (_, s) => b * spatial + s)).sort((p, q) => p - q);
        const e = setups.reduce((sum, s) => sum + refitError(s.x, rowsX, d, s.y, s.outs, keep) / s.y.reduce((t, v) => t + v * v, 0), 0);
        if (e < bestErr) { bestErr = e; best = a; }
      }
      order.push(best);
      cumulative.push(bestErr);
      alive.splice(alive.indexOf(best), 1);
    }
    const codeOrder = [...costs.keys()].sort((a, b) => costs[a] - costs[b]);
    assert.deepEqual(codeOrder, order, `spatial ${spatial}: removal order`);
    order.forEach((a, i) => assert.ok(Math.abs(costs[a] - cumulative[i]) < 1e-7 * Math.max(1, cumulative[i]), `spatial ${spatial}, step ${i}: ${costs[a]} vs ${cumulative[i]}`));
  }
});
