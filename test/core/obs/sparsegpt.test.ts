import assert from 'node:assert/strict';
import { test } from 'node:test';
import { obsMaskChooser, sparseGptPrune, type ObsGroup } from '../../../src/core/obs/sparsegpt';
import type { WeightedLayer } from '../../../src/core/prune/layers';
import { seededRandom } from '../../../src/core/random';
import { cholesky, choleskySolve, NormalEquations, solveRestricted } from '../../../src/core/recover/leastSquares';

/** n×d inputs with correlated features: X = Z·A, Z standard normal, A a random mixing matrix plus the identity. */
function correlatedInputs(rand: () => number, n: number, d: number): Float64Array {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const a = Float64Array.from({ length: d * d }, (_, k) => normal() * 0.6 + (k % (d + 1) === 0 ? 1 : 0));
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: d }, normal);
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += z[k] * a[k * d + j];
      x[i * d + j] = s;
    }
  }
  return x;
}

/** H = XᵀX, plus damping × its mean diagonal on the diagonal. */
const gram = (x: Float64Array, n: number, d: number, damping = 0) => {
  const h = new Float64Array(d * d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) h[a * d + b] += x[i * d + a] * x[i * d + b];
  let mean = 0;
  for (let a = 0; a < d; a++) mean += h[a * d + a] / d;
  for (let a = 0; a < d; a++) h[a * d + a] += damping * mean;
  return h;
};

/** U with H⁻¹ = UᵀU, computed here independently: H⁻¹ column by column, then its lower Cholesky factor transposed. */
function invCholUpper(h: Float64Array, d: number): Float64Array {
  const l = cholesky(h, d)!;
  const inv = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    const e = new Float64Array(d);
    e[j] = 1;
    choleskySolve(l, d, e).forEach((v, i) => { inv[i * d + j] = v; });
  }
  const li = cholesky(inv, d)!;
  const u = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) u[i * d + j] = li[j * d + i];
  return u;
}

/** ‖X(W − Ŵ)ᵀ‖² over all rows. */
function outputError(x: Float64Array, n: number, d: number, w: Float64Array, pruned: Float64Array, rows: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * (w[r * d + j] - pruned[r * d + j]);
      e += s * s;
    }
  }
  return e;
}

/** Magnitude pruning of the same matrix: the `count` smallest |w| (unstructured) or the n smallest of every m. */
function magnitude(w: Float64Array, rows: number, d: number, opts: { count?: number; pattern?: { n: number; m: number } }): Float64Array {
  const out = w.slice();
  if (opts.pattern) {
    const { n, m } = opts.pattern;
    for (let r = 0; r < rows; r++) {
      for (let q = 0; q < d; q += m) {
        const idx = Array.from({ length: m }, (_, k) => r * d + q + k).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]));
        for (let k = 0; k < n; k++) out[idx[k]] = 0;
      }
    }
  } else {
    const idx = Array.from({ length: w.length }, (_, k) => k).sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]));
    for (let k = 0; k < opts.count!; k++) out[idx[k]] = 0;
  }
  return out;
}

test('OBS removing one weight equals the least-squares re-solve of the remaining weights on the same inputs', () => {
  const rand = seededRandom(11);
  const n = 200, d = 12, rows = 3;
  const x = correlatedInputs(rand, n, d);
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  w[1 * d + 0] = 1e-3; // row 1, column 0: by far the smallest saliency
  const original = w.slice();
  const u = invCholUpper(gram(x, n, d), d);
  const { masks } = sparseGptPrune([{ weights: w, rows, cols: d, u }], { count: 1, blockSize: d });
  assert.deepEqual([...masks[0]].map((k, i) => (k ? -1 : i)).filter((i) => i >= 0), [1 * d + 0]);
  // Independent: min ‖X w' − X w‖² over w' with w'_0 = 0, from the normal equations of (x, x·w) pairs.
  const eq = new NormalEquations(d, 1);
  for (let i = 0; i < n; i++) {
    const xi = x.subarray(i * d, (i + 1) * d);
    let y = 0;
    for (let j = 0; j < d; j++) y += xi[j] * original[d + j];
    eq.add(xi, [y]);
  }
  eq.symmetrize();
  const kept = Array.from({ length: d - 1 }, (_, k) => k + 1);
  const refit = solveRestricted(eq, kept, 0, 0);
  assert.equal(w[d], 0);
  kept.forEach((j, a) => assert.ok(Math.abs(w[d + j] - refit[a]) < 1e-6 * (1 + Math.abs(refit[a])), `weight ${j}: ${w[d + j]} vs ${refit[a]}`));
  // The other rows are untouched.
  for (const r of [0, 2]) for (let j = 0; j < d; j++) assert.equal(w[r * d + j], original[r * d + j]);
});

test('OBS with H = I and one block: the mask is the magnitude mask and the kept weights do not change', () => {
  const rand = seededRandom(3);
  const rows = 6, d = 20;
  const u = new Float64Array(d * d);
  for (let i = 0; i < d; i++) u[i * d + i] = 1;
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  const original = w.slice();
  const { masks } = sparseGptPrune([{ weights: w, rows, cols: d, u }], { sparsity: 0.5, blockSize: d });
  const expected = magnitude(original, rows, d, { count: rows * d / 2 });
  assert.deepEqual([...w], [...expected]);
  assert.deepEqual([...masks[0]], [...expected].map((v) => (v === 0 ? 0 : 1)));
});

test('OBS: the loss it reports is the output error ‖X(W − Ŵ)ᵀ‖² (undamped H = XᵀX)', () => {
  const rand = seededRandom(5);
  const n = 300, d = 16, rows = 4;
  const x = correlatedInputs(rand, n, d);
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  const original = w.slice();
  const { loss } = sparseGptPrune([{ weights: w, rows, cols: d, u: invCholUpper(gram(x, n, d), d) }], { sparsity: 0.6, blockSize: 8 });
  const e = outputError(x, n, d, original, w, rows);
  assert.ok(Math.abs(loss - e) < 1e-8 * e, `${loss} vs ${e}`);
});

test('OBS 2:4: exactly 2 zeros in every group of 4 consecutive weights of every row, across blocks', () => {
  const rand = seededRandom(7);
  const n = 400, d = 48, rows = 10;
  const x = correlatedInputs(rand, n, d);
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  const { masks } = sparseGptPrune([{ weights: w, rows, cols: d, u: invCholUpper(gram(x, n, d), d) }], { pattern: { n: 2, m: 4 }, blockSize: 16 });
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < d; q += 4) {
      const zeros = [0, 1, 2, 3].filter((k) => w[r * d + q + k] === 0).length;
      const maskZeros = [0, 1, 2, 3].filter((k) => masks[0][r * d + q + k] === 0).length;
      assert.equal(zeros, 2, `row ${r} columns ${q}..${q + 3}`);
      assert.equal(maskZeros, 2);
    }
  }
  assert.throws(() => sparseGptPrune([{ weights: new Float64Array(9), rows: 1, cols: 9, u: new Float64Array(81) }], { pattern: { n: 2, m: 4 } }), /multiple of 4/);
});

test('OBS grouped: one mask selection across groups, each group updated with its own Hessian; the total is exact', () => {
  const rand = seededRandom(9);
  const n = 100, d = 9;
  const groups: ObsGroup[] = [0, 1, 2, 3].map(() => ({
    weights: Float64Array.from({ length: d }, () => rand() * 2 - 1), rows: 1, cols: d, u: invCholUpper(gram(correlatedInputs(rand, n, d), n, d), d),
  }));
  groups[2].weights.forEach((_, k, a) => { a[k] *= 1e-3; }); // a channel of tiny weights goes first
  const { masks } = sparseGptPrune(groups, { sparsity: 0.3 });
  const zeros = masks.map((m) => m.filter((k) => k === 0).length);
  assert.equal(zeros.reduce((a, b) => a + b, 0), Math.round(0.3 * 4 * d));
  assert.equal(zeros[2], d);
});

test('OBS output error ≤ magnitude\'s on random correlated inputs (unstructured 50 %, 70 % and 2:4; H damped 1 %; 40 seeded trials each)', () => {
  const n = 256, d = 32, rows = 8;
  for (const opts of [{ sparsity: 0.5 }, { sparsity: 0.7 }, { pattern: { n: 2, m: 4 } }]) {
    let obsTotal = 0, magTotal = 0;
    for (let trial = 0; trial < 40; trial++) {
      const rand = seededRandom(1000 + trial);
      const x = correlatedInputs(rand, n, d);
      const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
      const pruned = w.slice();
      sparseGptPrune([{ weights: pruned, rows, cols: d, u: invCholUpper(gram(x, n, d, 0.01), d) }], opts);
      const obs = outputError(x, n, d, w, pruned, rows);
      const mag = outputError(x, n, d, w, magnitude(w, rows, d, { count: Math.round((opts.sparsity ?? 0) * rows * d), pattern: opts.pattern }), rows);
      assert.ok(obs <= mag, `trial ${trial} ${JSON.stringify(opts)}: obs ${obs} > magnitude ${mag}`);
      obsTotal += obs;
      magTotal += mag;
    }
    assert.ok(obsTotal < 0.8 * magTotal, `${JSON.stringify(opts)}: obs ${obsTotal} vs magnitude ${magTotal}`);
  }
});

test('OBS masks inside reconstruction: with a fitted bias, shifting every input by a constant changes nothing (H is the Schur complement, i.e. centred); the count is exact', () => {
  const rand = seededRandom(21);
  const n = 400, d = 12, rows = 5;
  const x = correlatedInputs(rand, n, d);
  const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
  // A Gemm with transB = 1: weight [rows, d], element (o, f) at o·d + f.
  const layer = { kind: 'gemm', transB: true, dims: [rows, d], group: 1 } as unknown as WeightedLayer;
  const maskFor = (shift: number) => {
    const eq = new NormalEquations(d + 1, rows);
    for (let i = 0; i < n; i++) {
      const xi = [...x.subarray(i * d, (i + 1) * d)].map((v) => v + shift);
      const y = Array.from({ length: rows }, (_, o) => xi.reduce((a, v, f) => a + v * w[o * d + f], 0) + 0.3 * o);
      eq.add([...xi, 1], y);
    }
    return obsMaskChooser(layer, 30, {})([eq], true);
  };
  const centred = maskFor(0);
  assert.equal(centred.filter((k) => k === 0).length, 30);
  assert.deepEqual([...maskFor(5)], [...centred]);
});

test('OBS masks inside reconstruction, safeguard: the kept mask re-fits at least as well as both the OBS and the magnitude mask (error measured here on X); 30 seeded layers', () => {
  const rand = seededRandom(8);
  let magnitudeKept = 0;
  for (let trial = 0; trial < 30; trial++) {
    const n = 60 + Math.floor(rand() * 200), d = 6 + Math.floor(rand() * 10), rows = 3;
    const x = correlatedInputs(rand, n, d);
    const w = Float64Array.from({ length: rows * d }, () => rand() * 2 - 1);
    const layer = { kind: 'gemm', transB: true, dims: [rows, d], group: 1, name: 'fc' } as unknown as WeightedLayer;
    const eq = new NormalEquations(d + 1, rows);
    const ys: number[][] = [];
    for (let i = 0; i < n; i++) {
      const xi = [...x.subarray(i * d, (i + 1) * d)];
      // targets from the trained weights plus noise: what the pruned layer's inputs no longer reproduce exactly
      const y = Array.from({ length: rows }, (_, o) => xi.reduce((a, v, f) => a + v * w[o * d + f], 0) + 0.3 * (rand() - 0.5));
      ys.push(y);
      eq.add([...xi, 1], y);
    }
    const prior = (o: number, f: number) => (f < d ? w[o * d + f] : 0);
    const count = Math.round(rows * d * (0.3 + 0.5 * rand()));
    const choices: string[] = [];
    const kept = obsMaskChooser(layer, count, { safeguard: true, onChoice: (c) => choices.push(c.kept) })([eq], true, prior);
    const obsOnly = obsMaskChooser(layer, count, {})([eq], true, prior);
    // magnitude: the `count` smallest |w|, ties in element order
    const order = [...w.keys()].sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
    const magnitude = new Uint8Array(rows * d).fill(1);
    order.slice(0, count).forEach((k) => { magnitude[k] = 0; });
    // Independent error: per output, the fit (G + λI)w = c + λw₀ on the kept columns + bias (λ = 1 % of their mean
    // diagonal, the trained weights as the prior), then Σ(Xw − y)² over the rows.
    const refit = (mask: Uint8Array) => {
      let err = 0;
      for (let o = 0; o < rows; o++) {
        const idx = [...Array(d).keys()].filter((f) => mask[o * d + f]).concat([d]);
        const g = new Float64Array(idx.length * idx.length);
        let mean = 0;
        idx.forEach((a, i) => { mean += eq.gram[a * (d + 1) + a] / idx.length; idx.forEach((b, j) => { g[i * idx.length + j] = eq.gram[a * (d + 1) + b]; }); });
        idx.forEach((_, i) => { g[i * idx.length + i] += 0.01 * mean; });
        const rhs = Float64Array.from(idx, (a, i) => eq.cross[a * rows + o] + 0.01 * mean * prior(o, a));
        const exact = choleskySolve(cholesky(g, idx.length)!, idx.length, rhs);
        for (let i = 0; i < n; i++) {
          let p = 0;
          idx.forEach((f, a) => { p += (f < d ? x[i * d + f] : 1) * exact[a]; });
          err += (p - ys[i][o]) ** 2;
        }
      }
      return err;
    };
    const [eKept, eObs, eMag] = [refit(kept), refit(obsOnly), refit(magnitude)];
    assert.ok(eKept <= Math.min(eObs, eMag) * (1 + 1e-9), `trial ${trial}: kept ${eKept}, obs ${eObs}, magnitude ${eMag}`);
    assert.equal(kept.filter((k) => k === 0).length, count);
    if (choices[0] === 'magnitude') magnitudeKept++;
  }
  assert.ok(magnitudeKept > 0 && magnitudeKept < 30, `magnitude kept in ${magnitudeKept} of 30 layers: the safeguard decides something`);
});
