import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Dataset } from '../../../src/core/eval/datasets';
import { openDataset } from '../../../src/core/eval/datasets';
import { writeTextDirectionSet } from '../../../src/core/eval/textDirectionSet';
import { nodeLabel } from '../../../src/core/onnx/graph';
import { readModelSync } from '../../../src/core/onnx/read';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { quantizeWeightOnly, weightCandidates } from '../../../src/core/quantize/weightOnly';
import { layerHessians } from '../../../src/core/obs/hessian';
import { MNIST_MODEL, mnistDatasets, tempDir } from '../../fixtures/mnist';
import { fromRoot } from '../../fixtures/repoRoot';
import { accuracy, compareOutputs, outputs } from '../quantize/ortRun';
import { dequantizeTensor, quantizeTensor, type WeightQuantOptions } from '../../../src/core/quantize/affine';
import { gptqQuantize, gptqRounding, type WeightMatrix } from '../../../src/core/obs/gptq';
import type { LayerHessian } from '../../../src/core/obs/hessian';
import { seededRandom } from '../../../src/core/random';

/** A [rows, cols] weight read as rows = output channels (Gemm transB layout). */
const rowMajor = (outChannels: number, fanIn: number): WeightMatrix => ({ outChannels, fanIn, offset: (o, f) => o * fanIn + f });

function identity(n: number, groups = 1): LayerHessian {
  const h = new Float64Array(groups * n * n);
  for (let g = 0; g < groups; g++) for (let i = 0; i < n; i++) h[g * n * n + i * n + i] = 1;
  return { h, n, groups, rows: 1 };
}

test('GPTQ with H = I rounds every weight exactly as round-to-nearest (per-tensor, per-channel, block-wise, grouped)', () => {
  const rnd = seededRandom(5);
  const cases: [number[], WeightQuantOptions, WeightMatrix, LayerHessian][] = [
    [[6, 40], { type: 'int8', symmetric: true }, rowMajor(6, 40), identity(40)],
    [[6, 40], { type: 'int4', symmetric: true, axis: 0 }, rowMajor(6, 40), identity(40)],
    // Conv [8, 2, 3, 3] with 2 groups (4 output channels each), int4 per output channel.
    [[8, 2, 3, 3], { type: 'int4', symmetric: true, axis: 0 }, rowMajor(8, 18), identity(18, 2)],
    // MatMul [K = 300, N = 5]: blocks of 32 along K, column o at f·5 + o.
    [[300, 5], { type: 'int4', symmetric: true, axis: 0, blockSize: 32 }, { outChannels: 5, fanIn: 300, offset: (o, f) => f * 5 + o }, identity(300)],
  ];
  for (const [dims, quant, matrix, h] of cases) {
    const values = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rnd() * 2 - 1);
    const rtn = quantizeTensor(values, dims, quant);
    const q = gptqQuantize(values, dims, quant, matrix, h, { blockSize: 16 });
    assert.deepEqual(q.values, rtn.values, JSON.stringify(quant));
    assert.deepEqual(q.scales, rtn.scales);
  }
});

test('GPTQ on a 2-column toy: the first column\'s rounding error moves the second by −H₀₁/H₁₁ · error, as computed by hand', () => {
  // int4 per-tensor: row 1 holds the maximum 0.7, so the scale is 0.1. Row 0 = [0.34, 0.24] rounds to [3, 2] by
  // nearest; with H = [[4, 1.8], [1.8, 1]] the error 0.04 of column 0 is compensated by 1.8 · 0.04 = 0.072 on
  // column 1: 0.24 + 0.072 = 0.312 → 3. Output error dᵀHd: nearest d = [0.04, 0.04] → 0.01376, GPTQ d = [0.04, −0.06] → 0.00136.
  const values = Float32Array.of(0.34, 0.24, 0.7, 0);
  const quant: WeightQuantOptions = { type: 'int4', symmetric: true };
  const h: LayerHessian = { h: Float64Array.of(4, 1.8, 1.8, 1), n: 2, groups: 1, rows: 1 };
  const q = gptqQuantize(values, [2, 2], quant, rowMajor(2, 2), h, { damp: 0, actOrder: false });
  assert.deepEqual([...quantizeTensor(values, [2, 2], quant).values], [3, 2, 7, 0]);
  assert.deepEqual([...q.values], [3, 3, 7, 0]);
  const quadratic = (d0: number, d1: number) => 4 * d0 * d0 + 3.6 * d0 * d1 + d1 * d1;
  const deq = dequantizeTensor(q, [2, 2]);
  assert.ok(Math.abs(quadratic(values[0] - deq[0], values[1] - deq[1]) - 0.00136) < 1e-6);
});

test('GPTQ\'s layer output error ‖XWᵀ − XŴᵀ‖² on correlated inputs: never worse than nearest on average, better in most trials', () => {
  const gauss = gaussian(11);
  const trials = 40, rows = 256, n = 48, out = 8;
  let better = 0, sumGptq = 0, sumNearest = 0;
  for (let t = 0; t < trials; t++) {
    const { x, h } = correlatedInputs(gauss, rows, n);
    const w = Float32Array.from({ length: out * n }, gauss);
    const quant: WeightQuantOptions = { type: 'int4', symmetric: true, axis: 0 };
    const outputError = (wq: Float32Array) => layerOutputError(x, w, wq, rows, n, out);
    const eNearest = outputError(dequantizeTensor(quantizeTensor(w, [out, n], quant), [out, n]));
    const eGptq = outputError(dequantizeTensor(gptqQuantize(w, [out, n], quant, rowMajor(out, n), { h, n, groups: 1, rows }, { blockSize: 16 }), [out, n]));
    sumNearest += eNearest;
    sumGptq += eGptq;
    if (eGptq < eNearest) better++;
  }
  console.log(`GPTQ vs nearest, int4 per-channel, ${trials} trials: mean output error ${(sumGptq / trials).toFixed(1)} vs ${(sumNearest / trials).toFixed(1)}, better in ${better}`);
  assert.ok(sumGptq < sumNearest, `${sumGptq} vs ${sumNearest}`);
  assert.ok(better >= 0.9 * trials, `better in ${better} of ${trials}`);
});

/** Seeded standard normal draws. */
function gaussian(seed: number): () => number {
  const rnd = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
}

/** ‖X(W − Ŵ)ᵀ‖²: the layer's squared output error on inputs X (rows × n), weights out × n. */
function layerOutputError(x: Float64Array, w: Float32Array, wq: Float32Array, rows: number, n: number, out: number): number {
  let e = 0;
  for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[r * n + j] * (w[o * n + j] - wq[o * n + j]);
    e += s * s;
  }
  return e;
}

/** (1/rows) XᵀX of correlated inputs X = Z A (rows × n) and X itself. */
function correlatedInputs(gauss: () => number, rows: number, n: number): { x: Float64Array; h: Float64Array } {
  const a = Float64Array.from({ length: n * n }, (_, k) => gauss() + (k % (n + 1) === 0 ? 2 : 0));
  const z = Float64Array.from({ length: rows * n }, gauss);
  const x = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += z[r * n + k] * a[k * n + j];
    x[r * n + j] = s;
  }
  const h = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j] += (x[r * n + i] * x[r * n + j]) / rows;
  return { x, h };
}

/** A weight with about `sparsity` of its entries set to exactly zero (a pruned weight). */
function prunedWeight(gauss: () => number, rnd: () => number, length: number, sparsity: number): Float32Array {
  return Float32Array.from({ length }, () => { const v = gauss(); return rnd() < sparsity ? 0 : v; });
}

const zerosOf = (v: ArrayLike<number>) => Array.from(v, (x, i) => (x === 0 ? i : -1)).filter((i) => i >= 0);

test('joint prune + quantize: with H = I, GPTQ on a pruned weight equals masked round-to-nearest exactly (pruned zeros stay zero), per-row and shared', () => {
  const gauss = gaussian(21), rnd = seededRandom(22);
  for (const quant of [{ type: 'int4', symmetric: true, axis: 0 }, { type: 'int8', symmetric: true }] as WeightQuantOptions[]) {
    const values = prunedWeight(gauss, rnd, 8 * 40, 0.5);
    // Masked nearest: round-to-nearest everywhere, then the pruned positions zero (they round to 0 anyway).
    const masked = quantizeTensor(values, [8, 40], quant).values.map((v, i) => (values[i] === 0 ? 0 : v));
    for (const zeroRows of ['per-row', 'shared'] as const) {
      const q = gptqQuantize(values, [8, 40], quant, rowMajor(8, 40), identity(40), { blockSize: 16, zeroRows });
      assert.deepEqual(q.values, masked, `${zeroRows} ${JSON.stringify(quant)}`);
      for (const i of zerosOf(values)) assert.equal(q.values[i], 0);
    }
  }
});

test('joint prune + quantize, 3 columns by hand: the pruned middle column takes none of column 0\'s error, column 2 takes −H₀₂/H₂₂ of it', () => {
  // Row 0 = [0.34, 0, 0.24], pruned in the middle; row 1 = [0.7, 0, 0] sets the int4 scale to 0.1. H couples column
  // 0 strongly with the pruned column 1. Over the kept columns {0, 2}, H = [[4, 1.8], [1.8, 1]]: column 0's
  // error 0.04 moves column 2 by 1.8 · 0.04 = 0.072 → 0.312 → 3, and column 1 stays 0.
  const values = Float32Array.of(0.34, 0, 0.24, 0.7, 0, 0);
  const quant: WeightQuantOptions = { type: 'int4', symmetric: true };
  const h: LayerHessian = { h: Float64Array.of(4, 3, 1.8, 3, 5, 0, 1.8, 0, 1), n: 3, groups: 1, rows: 1 };
  const q = gptqQuantize(values, [2, 3], quant, rowMajor(2, 3), h, { damp: 0, actOrder: false });
  assert.deepEqual([...q.values], [3, 0, 3, 7, 0, 0]);
});

test('joint prune + quantize on correlated inputs: pruned zeros stay zero (plain GPTQ fills them), output error ≤ masked nearest in every trial', () => {
  const gauss = gaussian(31), rnd = seededRandom(32);
  const trials = 40, rows = 256, n = 48, out = 8;
  let filled = 0, better = 0, sumGptq = 0, sumNearest = 0, sumShared = 0, sharedBetter = 0;
  for (let t = 0; t < trials; t++) {
    const { x, h } = correlatedInputs(gauss, rows, n);
    const w = prunedWeight(gauss, rnd, out * n, 0.5);
    const zeros = zerosOf(w);
    const quant: WeightQuantOptions = { type: 'int4', symmetric: true, axis: 0 };
    const outputError = (wq: Float32Array) => layerOutputError(x, w, wq, rows, n, out);
    const lh: LayerHessian = { h, n, groups: 1, rows };
    const masked = gptqQuantize(w, [out, n], quant, rowMajor(out, n), lh, { blockSize: 16 });
    const shared = gptqQuantize(w, [out, n], quant, rowMajor(out, n), lh, { blockSize: 16, zeroRows: 'shared' });
    const plain = gptqQuantize(w, [out, n], quant, rowMajor(out, n), lh, { blockSize: 16, keepZeros: false });
    for (const i of zeros) assert.equal(masked.values[i], 0, `trial ${t}: pruned weight ${i} became ${masked.values[i]}`);
    for (const i of zeros) assert.equal(shared.values[i], 0, `trial ${t} (shared): pruned weight ${i} became ${shared.values[i]}`);
    filled += zeros.filter((i) => plain.values[i] !== 0).length;
    const eNearest = outputError(dequantizeTensor(quantizeTensor(w, [out, n], quant), [out, n]));
    const eGptq = outputError(dequantizeTensor(masked, [out, n]));
    const eShared = outputError(dequantizeTensor(shared, [out, n]));
    assert.ok(eGptq <= eNearest, `trial ${t}: masked GPTQ ${eGptq} vs masked nearest ${eNearest}`);
    sumShared += eShared;
    if (eShared < eNearest) sharedBetter++;
    sumNearest += eNearest;
    sumGptq += eGptq;
    if (eGptq < eNearest) better++;
  }
  console.log(`masked GPTQ vs masked nearest, 50 % pruned, int4 per-channel, ${trials} trials: mean output error per-row ${(sumGptq / trials).toFixed(1)} (better in ${better}), shared ${(sumShared / trials).toFixed(1)} (better in ${sharedBetter}), nearest ${(sumNearest / trials).toFixed(1)}; plain GPTQ made ${filled} pruned zeros non-zero`);
  assert.ok(sumShared < sumNearest && sharedBetter >= 0.9 * trials, `shared: ${sumShared} vs ${sumNearest}, better in ${sharedBetter}`);
  assert.ok(filled > 0, 'plain GPTQ is expected to fill pruned zeros on correlated inputs');
});

const CLS = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/**
 * int4 per-channel weights of every layer, rounded to nearest and by GPTQ: top-1 and agreement with the fp32
 * model's onnxruntime outputs on held-out data. GPTQ must not lose more than one sample to nearest on either.
 */
async function int4NearestVsGptq(name: string, file: string, calib: Dataset, held: Dataset, blockSize?: number): Promise<void> {
  const m = readModelSync(file);
  const ref = await outputs(fs.readFileSync(file), held);
  const chosen = weightCandidates(m.proto);
  const hessians = await layerHessians(m, calib, chosen.map(nodeLabel));
  const nearest = await outputs(quantizeWeightOnly(m.proto, chosen, { bits: 4, perChannel: true, blockSize }, m).proto, held);
  const gptq = await outputs(quantizeWeightOnly(m.proto, chosen, { bits: 4, perChannel: true, blockSize, rounding: gptqRounding(m.proto, hessians) }, m).proto, held);
  const [fp32, n, g] = [ref, nearest, gptq].map((o) => accuracy(o, held.labels!));
  const [an, ag] = [nearest, gptq].map((o) => compareOutputs(ref, o).agreement);
  console.log(`${name} int4 ${blockSize ? `blocks of ${blockSize}` : 'per-channel'} weights, ${held.n} held-out samples: fp32 top-1 ${(100 * fp32).toFixed(2)} %; nearest ${(100 * n).toFixed(2)} % (agreement ${(100 * an).toFixed(2)} %); GPTQ ${(100 * g).toFixed(2)} % (agreement ${(100 * ag).toFixed(2)} %)`);
  const oneSample = 1 / held.n + 1e-9;
  assert.ok(g >= n - oneSample, `top-1: GPTQ ${g} vs nearest ${n}`);
  assert.ok(ag >= an - oneSample, `agreement: GPTQ ${ag} vs nearest ${an}`);
}

test('MNIST CNN, int4 weights: GPTQ on 256 calibration digits keeps top-1 and agreement with fp32 at least at nearest\'s', async () => {
  const dir = tempDir();
  const { testSet, calib } = await mnistDatasets(dir);
  await int4NearestVsGptq('MNIST CNN', MNIST_MODEL, calib, testSet);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Rendered text-direction lines: 400 held out (seed 1) and 128 for calibration (seed 2), rendered once for both tests. */
let textLines: Promise<{ calib: Dataset; held: Dataset }> | undefined;
function textDirectionSets(): Promise<{ calib: Dataset; held: Dataset }> {
  textLines ??= (async () => {
    const dir = tempDir('onnx-lens-gptq-');
    await writeTextDirectionSet(path.join(dir, 'held'), { count: 400, seed: 1 });
    await writeTextDirectionSet(path.join(dir, 'calib'), { count: 128, seed: 2 });
    const preprocess = { size: [48, 192] as [number, number], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
    const [calib, held] = await Promise.all(['calib', 'held'].map((s) => openDataset(path.join(dir, s), { preprocess })));
    return { calib, held };
  })();
  return textLines;
}

test('PaddleOCR text-direction classifier, int4 weights per channel and in blocks of 16: GPTQ keeps top-1 and agreement with fp32 at least at nearest\'s', async () => {
  const { calib, held } = await textDirectionSets();
  await int4NearestVsGptq('PaddleOCR cls', CLS, calib, held);
  await int4NearestVsGptq('PaddleOCR cls', CLS, calib, held, 16);
});

test('PaddleOCR classifier, static QDQ W8A8 and W4A8: GPTQ-rounded weights keep top-1 and agreement with fp32 at least at nearest\'s', async () => {
  const { calib, held } = await textDirectionSets();
  const m = readModelSync(CLS);
  const ref = await outputs(fs.readFileSync(CLS), held);
  const oneSample = 1 / held.n + 1e-9;
  for (const weightBits of [8, 4] as const) {
    const measured = [];
    for (const weightRounding of ['nearest', 'gptq'] as const) {
      const q = await quantizeStatic(m.proto, calib, { perChannel: true, activationType: 'uint8', method: 'minmax', weightRounding, weightBits }, m);
      const out = await outputs(q, held);
      measured.push({ top1: accuracy(out, held.labels!), agreement: compareOutputs(ref, out).agreement });
    }
    const [n, g] = measured;
    console.log(`PaddleOCR cls static W${weightBits}A8 (portable), ${held.n} held-out samples: fp32 top-1 ${accuracy(ref, held.labels!)}; nearest top-1 ${n.top1} agreement ${n.agreement}; GPTQ top-1 ${g.top1} agreement ${g.agreement}`);
    assert.ok(g.top1 >= n.top1 - oneSample, `W${weightBits}A8 top-1: ${JSON.stringify(measured)}`);
    assert.ok(g.agreement >= n.agreement - oneSample, `W${weightBits}A8 agreement: ${JSON.stringify(measured)}`);
  }
});
