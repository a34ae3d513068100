import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { forEachLayerHessian, groupHessian, hessianBytes, hessianGroups, inverseCholeskyUpper, layerHessians, type LayerHessian } from '../../../src/core/obs/hessian';
import { weightedLayers } from '../../../src/core/prune/layers';
import { seededRandom } from '../../../src/core/random';
import { arraySource as source } from '../quantize/ortRun';

const F = DataType.FLOAT;

function randoms(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rnd() * 2 - 1);
}

/** A 3×3 pad-1 Conv on [N, C, 5, 5] inputs with `group` groups and `out` output channels. */
function convModel(c: number, out: number, group: number) {
  const w = makeTensor('w', F, [out, c / group, 3, 3], randoms(out * (c / group) * 9, 7));
  return model(graph({
    nodes: [node('Conv', ['x', 'w'], ['y'], { pads: [1, 1, 1, 1], group }, 'conv')],
    inputs: [valueInfo('x', F, ['N', c, 5, 5])], outputs: [valueInfo('y', F, ['N', out, 5, 5])], initializers: [w],
  }));
}

/** Hand-written im2col of the input channels `channels` of one [N, C, 5, 5] batch: a row per image and position, (c, ky, kx) features. */
function unfold(x: Float32Array, n: number, c: number, channels: number[]): Float32Array {
  const rows: number[] = [];
  for (let i = 0; i < n; i++) for (let oy = 0; oy < 5; oy++) for (let ox = 0; ox < 5; ox++) {
    for (const ch of channels) for (let ky = -1; ky <= 1; ky++) for (let kx = -1; kx <= 1; kx++) {
      const y = oy + ky, xx = ox + kx;
      rows.push(y >= 0 && y < 5 && xx >= 0 && xx < 5 ? x[((i * c + ch) * 5 + y) * 5 + xx] : 0);
    }
  }
  return Float32Array.from(rows);
}

/** (1/rows) XᵀX of row-major rows × f. */
function gram(x: Float32Array, f: number): Float64Array {
  const rows = x.length / f;
  const h = new Float64Array(f * f);
  for (let r = 0; r < rows; r++) for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) h[a * f + b] += (x[r * f + a] * x[r * f + b]) / rows;
  return h;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `element ${i}: ${a[i]} vs ${b[i]}`);
};

test('Conv Hessian via im2col equals the Gemm-form H of the same layer as a MatMul on the unfolded inputs', async () => {
  const n = 6, c = 2;
  const x = randoms(n * c * 25, 1);
  const conv = convModel(c, 3, 1);
  const rows = n * 25; // every output position is a row
  const hc = (await layerHessians({ proto: conv }, source(x, [c, 5, 5]), ['conv'], { rows })).get('conv')!;
  assert.deepEqual([hc.n, hc.groups, hc.rows], [18, 1, rows]);
  const unfolded = unfold(x, n, c, [0, 1]);
  const mm = model(graph({
    nodes: [node('MatMul', ['u', 'b'], ['z'], {}, 'mm')],
    inputs: [valueInfo('u', F, ['N', 18])], outputs: [valueInfo('z', F, ['N', 3])], initializers: [makeTensor('b', F, [18, 3], randoms(54, 3))],
  }));
  const hm = (await layerHessians({ proto: mm }, source(unfolded, [18]), ['mm'])).get('mm')!;
  assert.deepEqual([hm.n, hm.groups, hm.rows], [18, 1, rows]);
  close(hc.h, hm.h, 1e-9);
  close(hm.h, gram(unfolded, 18), 1e-6);
});

test('grouped and depthwise Conv: one H per group, over that group\'s input channels only', async () => {
  const n = 4, c = 4;
  const x = randoms(n * c * 25, 2);
  for (const group of [2, 4]) {
    const lh = (await layerHessians({ proto: convModel(c, 4, group) }, source(x, [c, 5, 5]), ['conv'], { rows: n * 25 })).get('conv')!;
    const cinG = c / group;
    assert.deepEqual([lh.n, lh.groups], [cinG * 9, group]);
    for (let g = 0; g < group; g++) {
      const channels = Array.from({ length: cinG }, (_, k) => g * cinG + k);
      close(groupHessian(lh, g), gram(unfold(x, n, c, channels), cinG * 9), 1e-6);
    }
  }
});

test('auto_pad SAME_UPPER / SAME_LOWER give the Hessian of the explicit pads they stand for', async () => {
  const x = randoms(3 * 2 * 25, 4);
  const w = makeTensor('w', F, [2, 2, 2, 2], randoms(16, 8));
  const conv = (attrs: Record<string, string | number[]>) => model(graph({
    nodes: [node('Conv', ['x', 'w'], ['y'], attrs, 'conv')],
    inputs: [valueInfo('x', F, ['N', 2, 5, 5])], outputs: [valueInfo('y', F, ['N', 2, 5, 5])], initializers: [w],
  }));
  // A 2×2 kernel keeping 5×5 needs one row and column of padding: at the end (UPPER) or the start (LOWER).
  for (const [autoPad, pads] of [['SAME_UPPER', [0, 0, 1, 1]], ['SAME_LOWER', [1, 1, 0, 0]]] as const) {
    const [same, explicit] = await Promise.all([conv({ auto_pad: autoPad }), conv({ pads: [...pads] })]
      .map(async (m) => (await layerHessians({ proto: m }, source(x, [2, 5, 5]), ['conv'], { rows: 75 })).get('conv')!));
    close(same.h, explicit.h, 1e-12);
  }
});

test('inverseCholeskyUpper: UᵀU (H + λI) = I with λ = 1 % of the mean diagonal, U upper', () => {
  // Hand-picked SPD H with mean diagonal 3: λ = 0.03.
  const h = Float64Array.of(4, 1, 0, 1, 3, 1, 0, 1, 2);
  const u = inverseCholeskyUpper(h, 3, 0.01);
  for (let i = 0; i < 3; i++) for (let j = 0; j < i; j++) assert.equal(u[i * 3 + j], 0);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    let s = 0;
    for (let k = 0; k < 3; k++) {
      let hinv = 0; // (UᵀU)[i, k]
      for (let m = 0; m < 3; m++) hinv += u[m * 3 + i] * u[m * 3 + k];
      s += hinv * (h[k * 3 + j] + (k === j ? 0.03 : 0));
    }
    assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12, `(${i}, ${j}): ${s}`);
  }
  // 2×2 by hand: H = diag(4, 1), damp 0 → U = diag(1/2, 1).
  close(inverseCholeskyUpper(Float64Array.of(4, 0, 0, 1), 2, 0), [0.5, 0, 0, 1], 1e-9);
});

/** Conv (2→4) → Relu → grouped Conv (4→4, 2 groups) → Relu → MatMul along the last axis (5→3): three layers in a chain. */
function chainModel() {
  return model(graph({
    nodes: [
      node('Conv', ['x', 'w1'], ['a'], { pads: [1, 1, 1, 1] }, 'c1'), node('Relu', ['a'], ['ar']),
      node('Conv', ['ar', 'w2'], ['b'], { pads: [1, 1, 1, 1], group: 2 }, 'c2'), node('Relu', ['b'], ['br']),
      node('MatMul', ['br', 'w3'], ['y'], {}, 'mm'),
    ],
    inputs: [valueInfo('x', F, ['N', 2, 5, 5])], outputs: [valueInfo('y', F, ['N', 4, 5, 3])],
    initializers: [makeTensor('w1', F, [4, 2, 3, 3], randoms(72, 11)), makeTensor('w2', F, [4, 2, 3, 3], randoms(72, 12)), makeTensor('w3', F, [5, 3], randoms(15, 13))],
  }));
}

test('streamed Hessians, one layer per calibration pass, equal the all-at-once ones bit for bit and hold one layer\'s at a time', async () => {
  const m = { proto: chainModel() };
  const calib = source(randoms(20 * 2 * 25, 5), [2, 5, 5]);
  const names = ['c1', 'c2', 'mm'];
  const all = await layerHessians(m, calib, names, { rows: 300, batchSize: 8 });
  const streamed: [string, LayerHessian][] = [];
  const r = await forEachLayerHessian(m, calib, names, { rows: 300, batchSize: 8, budgetBytes: 0 }, (name, h) => { streamed.push([name, h]); });
  assert.deepEqual(streamed.map(([name]) => name), names, 'topological order');
  for (const [name, h] of streamed) {
    const a = all.get(name)!;
    assert.deepEqual([h.n, h.groups, h.rows], [a.n, a.groups, a.rows], name);
    assert.deepEqual(h.h, a.h, name);
  }
  // H bytes by hand: c1 18² · 8 = 2592, c2 two groups of 18² → 5184, mm 5² · 8 = 200.
  const bytes = weightedLayers(m.proto.graph!).map(hessianBytes);
  assert.deepEqual(bytes, [2592, 5184, 200]);
  assert.equal(r.passes, 3);
  assert.ok(r.peakBytes <= 2 * 5184, `peak ${r.peakBytes}`);
  const once = await forEachLayerHessian(m, calib, names, { rows: 300, batchSize: 8, budgetBytes: Infinity }, () => {});
  assert.deepEqual([once.passes, once.peakBytes], [1, 2592 + 5184 + 200 + 5184]);
});

test('hessianGroups: consecutive runs within the budget, a layer larger than the budget alone', () => {
  assert.deepEqual(hessianGroups([3, 4, 2, 9, 1, 1], (b) => b, 7), [[3, 4], [2], [9], [1, 1]]);
  assert.deepEqual(hessianGroups([3, 4], (b) => b, 0), [[3], [4]]);
  assert.deepEqual(hessianGroups([], (b: number) => b, 10), []);
});
