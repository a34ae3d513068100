// Saturation of int8 weights on x86 without VNNI, proved without such a CPU: a TypeScript reference of what
// onnxruntime's AVX2 U8S8 kernels compute — the weight reordered to HWIO (qlinearconv.cc ReorderFilter), packed
// four K rows per column (MlasGemmU8S8CopyPackBAvx2), multiplied by broadcast uint8 activations with VPMADDUBSW's
// saturating int16 pair sums — run on the real PaddleOCR classifier quantized for each target.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { analyzeModel, findLayers } from '../../../src/core/analysis/analyze';
import { pairCanSaturate } from '../../../src/core/analysis/saturation';
import { measureSaturation } from '../../../src/core/analysis/saturationMeasured';
import { ActivationProbe } from '../../../src/core/eval/activations';
import { openDataset } from '../../../src/core/eval/datasets';
import { writeTextDirectionSet } from '../../../src/core/eval/textDirectionSet';
import { attrInt, attrInts, graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { indexGraph } from '../../../src/core/onnx/graph';
import type { ModelProto, NodeProto } from '../../../src/core/onnx/proto';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import { DataType, roundHalfEven } from '../../../src/core/onnx/dtypes';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { quantizeStatic } from '../../../src/core/quantize/qdq';
import { recordedTarget, type QuantTarget } from '../../../src/core/quantize/target';
import * as Q from '../../builders/quantSchemes';
import { tempDir } from '../../fixtures/mnist';
import { fromRoot } from '../../fixtures/repoRoot';

const CLS = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const PREPROCESS = { size: [48, 192] as [number, number], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** VPMADDUBSW on one 16-bit lane: a0·b0 + a1·b1, uint8 × int8, saturated to int16. */
function vpmaddubsw(a0: number, b0: number, a1: number, b1: number): { value: number; saturated: boolean } {
  const exact = a0 * b0 + a1 * b1;
  const value = Math.min(32767, Math.max(-32768, exact));
  return { value, saturated: value !== exact };
}

/** The B matrix of one group's Conv as QLinearConv hands it to MLAS: rows K = (kernel position, input channel), columns = output channels. */
function reorderFilter(w: ArrayLike<number>, outChannels: number, inChannels: number, kernel: number): Int8Array {
  const b = new Int8Array(outChannels * inChannels * kernel);
  let i = 0;
  for (let k = 0; k < kernel; k++) for (let ic = 0; ic < inChannels; ic++) for (let oc = 0; oc < outChannels; oc++) b[i++] = w[(oc * inChannels + ic) * kernel + k];
  return b;
}

/** Per column, the packed 4-byte groups of K (zero-padded to a multiple of 4), as MlasGemmU8S8CopyPackBAvx2 interleaves them. */
function packB(b: Int8Array, rows: number, cols: number): Int8Array[][] {
  const groups = Math.ceil(rows / 4);
  return Array.from({ length: cols }, (_, n) => Array.from({ length: groups }, (_, g) => Int8Array.from({ length: 4 }, (_, j) => {
    const k = 4 * g + j;
    return k < rows ? b[k * cols + n] : 0;
  })));
}

/**
 * Saturated VPMADDUBSW lanes of a packed B with worst-case activations: for each lane the uint8 pair that drives
 * the sum furthest up (255 where the weight is positive) and furthest down (255 where it is negative).
 */
function worstCaseSaturations(packed: Int8Array[][]): number {
  let saturated = 0;
  for (const column of packed) for (const g of column) for (const j of [0, 2]) {
    const up = vpmaddubsw(g[j] > 0 ? 255 : 0, g[j], g[j + 1] > 0 ? 255 : 0, g[j + 1]);
    const down = vpmaddubsw(g[j] < 0 ? 255 : 0, g[j], g[j + 1] < 0 ? 255 : 0, g[j + 1]);
    if (up.saturated || down.saturated) saturated++;
  }
  return saturated;
}

/** Saturated lanes of every fused QDQ Conv of `proto`, by node name (depthwise Convs run widening kernels: 0). */
function convSaturations(proto: ModelProto): Map<string, number> {
  const model = decodeModel(encodeModel(proto));
  const out = new Map<string, number>();
  for (const layer of findLayers(model)) {
    const n = layer.node;
    const w = layer.weights.find((x) => x.role === 'weight')!;
    if (n.opType !== 'Conv' || w.scheme !== 'qdq') continue;
    const [m, c] = w.shape;
    const kernel = w.shape.slice(2).reduce((a, b) => a * b, 1);
    const depthwise = c === 1 && attrInt(n, 'group', 1) > 1;
    out.set(n.name, depthwise ? 0 : worstCaseSaturations(packB(reorderFilter(w.values(), m, c, kernel), c * kernel, m)));
  }
  return out;
}

test('VPMADDUBSW pair bounds, by hand: 255·(64+64) = 32,640 fits in int16, 255·(65+64) = 32,895 does not', () => {
  assert.equal(vpmaddubsw(255, 64, 255, 64).saturated, false);
  assert.equal(vpmaddubsw(255, 65, 255, 64).saturated, true);
  assert.equal(pairCanSaturate(64, 64), false);
  assert.equal(pairCanSaturate(65, 64), true);
  assert.equal(pairCanSaturate(-64, -64), false); // −32,640
  assert.equal(pairCanSaturate(-128, -1), true); // −32,895
  assert.equal(pairCanSaturate(127, -128), false); // opposite signs: 255·127 and −255·128 each fit
  assert.equal(pairCanSaturate(-64, -65), true);
});

test('inspect pairs Conv weights along (kernel position, input channel), as MLAS does, not in storage order', () => {
  // Weight [1 out, 2 in, 1×2 kernel], row-major (ic, kw). MLAS pairs (ic0, ic1) at each kernel position.
  const verdict = (values: number[]) => {
    const proto = Q.qdqConv({ values, dims: [1, 2, 1, 2], scale: 0.01, zeroPoint: 0 });
    return analyzeModel(decodeModel(encodeModel(proto))).layers.find((l) => l.op === 'Conv')!.saturation;
  };
  assert.equal(verdict([100, 0, 100, 0]), 'possible'); // pairs (100, 100) and (0, 0)
  assert.equal(verdict([100, 100, 0, 0]), 'none'); // pairs (100, 0) and (100, 0)
  assert.equal(verdict([-100, 0, -90, 0]), 'possible');
  // uint8 weights (U8U8 kernels) and float layers never saturate.
  const u8 = analyzeModel(decodeModel(encodeModel(Q.qlinearConv({ values: [200, 0, 200, 0], dims: [1, 2, 1, 2], scale: 0.01, zeroPoint: 0 })))).layers;
  assert.equal(u8.find((l) => l.op === 'QLinearConv')!.saturation, 'none');
});

async function quantizedClassifier(target: QuantTarget | undefined): Promise<ModelProto> {
  const dir = tempDir('onnx-lens-sat-');
  await writeTextDirectionSet(path.join(dir, 'calib'), { count: 32, seed: 2 });
  const calib = await openDataset(path.join(dir, 'calib'), { preprocess: PREPROCESS });
  const m = readModelSync(CLS);
  return quantizeStatic(m.proto, calib, { perChannel: true, activationType: 'uint8', method: 'minmax', target }, m);
}

test('PaddleOCR classifier: the default target never saturates the AVX2 pair sums; full-range int8 (x86-vnni) does, where inspect says so', async () => {
  const portable = await quantizedClassifier(undefined);
  const full = await quantizedClassifier('x86-vnni');
  assert.equal(recordedTarget(portable), 'portable');
  assert.equal(recordedTarget(full), 'x86-vnni');

  const safe = convSaturations(portable);
  assert.ok(safe.size >= 50, `${safe.size} Convs`);
  assert.deepEqual([...safe].filter(([, n]) => n > 0), [], 'portable: no saturated lane in any Conv');
  assert.ok(analyzeModel(decodeModel(encodeModel(portable))).layers.every((l) => l.saturation !== 'possible'));

  const risky = convSaturations(full);
  const verdicts = new Map(analyzeModel(decodeModel(encodeModel(full))).layers.map((l) => [l.name, l.saturation]));
  const saturating = [...risky].filter(([, n]) => n > 0);
  console.log(`PaddleOCR cls, x86-vnni target: ${saturating.length} of ${risky.size} Convs have lanes that saturate on AVX2 (${saturating.reduce((a, [, n]) => a + n, 0)} lanes)`);
  assert.ok(saturating.length >= 10);
  for (const [name, lanes] of risky) assert.equal(verdicts.get(name), lanes > 0 ? 'possible' : 'none', name);

  // Real activations through the first Conv (3 input channels: the im2col + QGEMM path, K = 27 padded to 28).
  const realSaturations = async (proto: ModelProto) => {
    const g = indexGraph(proto.graph!);
    const input = proto.graph!.input[0].name;
    const q = g.consumers.get(input)!.find((n) => n.opType === 'QuantizeLinear')!;
    const [scale] = tensorValues(g.constants.get(q.input[1])!);
    const zeroPoint = q.input[2] ? Number(tensorValues(g.constants.get(q.input[2])!)[0]) : 0;
    const dq = g.consumers.get(q.output[0])!.find((n) => n.opType === 'DequantizeLinear')!;
    const conv = g.consumers.get(dq.output[0])!.find((n) => n.opType === 'Conv')!;
    const wDq = g.producer.get(conv.input[1])!;
    const w = tensorValues(g.constants.get(wDq.input[0])!);
    const [outC, inC, kh, kw] = [8, 3, 3, 3];
    const [sh, sw] = attrInts(conv, 'strides') ?? [1, 1];
    const [ph, pw] = attrInts(conv, 'pads') ?? [0, 0];
    const b = reorderFilter(w, outC, inC, kh * kw);
    const packed = packB(b, inC * kh * kw, outC);
    const dir = tempDir('onnx-lens-sat-');
    await writeTextDirectionSet(dir, { count: 8, seed: 3 });
    const data = await openDataset(dir, { preprocess: PREPROCESS });
    const [H, W] = [48, 192];
    let saturated = 0;
    for (let s = 0; s < data.n; s++) {
      const x = await data.batch(s, 1);
      const xq = (c: number, y: number, z: number) => (y < 0 || z < 0 || y >= H || z >= W ? zeroPoint
        : Math.min(255, Math.max(0, roundHalfEven(Math.fround(x[(c * H + y) * W + z] / scale)) + zeroPoint)));
      for (let oy = 0; oy * sh - ph + kh <= H + ph; oy++) for (let ox = 0; ox * sw - pw + kw <= W + pw; ox++) {
        // The im2col row in K order (kernel position, channel), padded to 4 with zeros.
        const a: number[] = [];
        for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let c = 0; c < inC; c++) a.push(xq(c, oy * sh - ph + ky, ox * sw - pw + kx));
        while (a.length % 4) a.push(0);
        for (const column of packed) column.forEach((g4, gi) => {
          for (const j of [0, 2]) if (vpmaddubsw(a[4 * gi + j], g4[j], a[4 * gi + j + 1], g4[j + 1]).saturated) saturated++;
        });
      }
    }
    return saturated;
  };
  const realFull = await realSaturations(full);
  console.log(`first Conv on 8 real text lines, AVX2 arithmetic: ${realFull} saturated pair sums with x86-vnni weights`);
  assert.equal(await realSaturations(portable), 0);
});

/**
 * Reference: saturated VPMADDUBSW lanes of a group-1 2-D Conv on uint8 activations x [N, C, H, W]: per output
 * position the im2col row in K order (kernel position, channel), the zero point where it reads padding, padded
 * to 4 with zeros, against the packed weight.
 */
function referenceConv(conv: NodeProto, w: ArrayLike<number>, wShape: number[], x: ArrayLike<number>, dims: number[], zeroPoint: number): number {
  const [outC, inC, kh, kw] = wShape;
  const [N, , H, W] = dims;
  assert.equal(attrInt(conv, 'group', 1), 1);
  const [sh, sw] = attrInts(conv, 'strides') ?? [1, 1];
  const [dh, dw] = attrInts(conv, 'dilations') ?? [1, 1];
  const [ph, pw, phEnd, pwEnd] = attrInts(conv, 'pads') ?? [0, 0, 0, 0];
  const packed = packB(reorderFilter(w, outC, inC, kh * kw), inC * kh * kw, outC);
  const outH = Math.floor((H + ph + phEnd - (kh - 1) * dh - 1) / sh) + 1;
  const outW = Math.floor((W + pw + pwEnd - (kw - 1) * dw - 1) / sw) + 1;
  let saturated = 0;
  for (let s = 0; s < N; s++) {
    const xq = (c: number, y: number, z: number) => (y < 0 || z < 0 || y >= H || z >= W ? zeroPoint : x[((s * inC + c) * H + y) * W + z]);
    for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) {
      const a: number[] = [];
      for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let c = 0; c < inC; c++) a.push(xq(c, oy * sh - ph + ky * dh, ox * sw - pw + kx * dw));
      while (a.length % 4) a.push(0);
      for (const column of packed) column.forEach((g4, gi) => {
        for (const j of [0, 2]) if (vpmaddubsw(a[4 * gi + j], g4[j], a[4 * gi + j + 1], g4[j + 1]).saturated) saturated++;
      });
    }
  }
  return saturated;
}

/** Reference: saturated lanes of a MatMul / Gemm weight b [K, N] on uint8 activation rows x [..., K], K padded to 4. */
function referenceMatrix(b: ArrayLike<number>, [K, N]: number[], x: ArrayLike<number>): number {
  const packed = packB(Int8Array.from(b), K, N);
  let saturated = 0;
  for (let r = 0; r < x.length / K; r++) {
    const a = Array.from({ length: 4 * Math.ceil(K / 4) }, (_, k) => (k < K ? x[r * K + k] : 0));
    for (const column of packed) column.forEach((g4, gi) => {
      for (const j of [0, 2]) if (vpmaddubsw(a[4 * gi + j], g4[j], a[4 * gi + j + 1], g4[j + 1]).saturated) saturated++;
    });
  }
  return saturated;
}

/**
 * Reference per Conv (and the MatMul / Gemm without transposes): its uint8 input recovered from its input DequantizeLinear's float output (q = x/scale + zp,
 * exact), captured on `data`, run through referenceConv. Only Convs whose weights can saturate (lanes > 0).
 */
async function referenceSaturations(proto: ModelProto, data: Awaited<ReturnType<typeof openDataset>>): Promise<Map<string, number>> {
  const g = indexGraph(proto.graph!);
  const possible = analyzeModel(decodeModel(encodeModel(proto))).layers.filter((l) => l.saturation === 'possible').map((l) => l.name);
  const convs = possible.map((name) => g.graph.node.find((n) => n.name === name)!);
  for (const n of convs) assert.ok(n.opType === 'Conv' || (n.opType === 'MatMul' || (n.opType === 'Gemm' && !attrInt(n, 'transA', 0) && !attrInt(n, 'transB', 0))), n.opType);
  const dqs = convs.map((c) => g.producer.get(c.input[0])!);
  const probe = await ActivationProbe.open(proto, dqs.map((d) => d.output[0]));
  const out = new Map<string, number>(convs.map((c) => [c.name, 0]));
  try {
    for (let s = 0; s < data.n; s++) {
      const captured = await probe.run(await data.batch(s, 1), [1, ...data.sampleShape]);
      convs.forEach((conv, i) => {
        const dq = dqs[i];
        const scale = Number(tensorValues(g.constants.get(dq.input[1])!)[0]);
        const zeroPoint = dq.input[2] ? Number(tensorValues(g.constants.get(dq.input[2])!)[0]) : 0; // absent: uint8 zero
        const t = captured.get(dq.output[0])!;
        const q = Uint8Array.from(t.data, (v) => Math.round(v / scale) + zeroPoint);
        const wDq = g.producer.get(conv.input[1])!;
        const wT = g.constants.get(wDq.input[0])!;
        const lanes = conv.opType === 'Conv' ? referenceConv(conv, tensorValues(wT), wT.dims.map(Number), q, t.dims, zeroPoint) : referenceMatrix(tensorValues(wT), wT.dims.map(Number), q);
        out.set(conv.name, out.get(conv.name)! + lanes);
      });
    }
  } finally {
    await probe.close();
  }
  return out;
}

test('measured saturation: the product’s counts on real text lines equal the AVX2 reference, layer by layer; 0 with the default target', async () => {
  const dir = tempDir('onnx-lens-sat-');
  await writeTextDirectionSet(dir, { count: 8, seed: 3 });
  const data = await openDataset(dir, { preprocess: PREPROCESS });
  const full = await quantizedClassifier('x86-vnni');
  const measured = await measureSaturation(decodeModel(encodeModel(full)), data);
  assert.equal(measured.samples, 8);
  const reference = await referenceSaturations(full, data);
  assert.deepEqual(new Map(measured.layers.map((l) => [l.layer, l.saturatedPairSums])), reference);
  const saturating = measured.layers.filter((l) => l.verdict === 'measured');
  console.log(`PaddleOCR cls, x86-vnni, 8 real text lines: ${saturating.length} of ${measured.layers.length} "possible" Convs measured-saturate (${saturating.map((l) => `${l.layer} ${l.saturatedPairSums}/${l.pairSums}`).join(', ')})`);
  assert.ok(saturating.length >= 1);
  for (const l of measured.layers) assert.equal(l.verdict, l.saturatedPairSums > 0 ? 'measured' : 'possible');
  // The first Conv reads the model input: 8 · 24·96 positions · 8 channels · 14 pairs (K = 27).
  const first = measured.layers[0];
  assert.equal(first.pairSums, 8 * 24 * 96 * 8 * 14);
  assert.ok(first.saturatedPairSums > 100_000, `${first.saturatedPairSums}`);

  const portable = await measureSaturation(decodeModel(encodeModel(await quantizedClassifier(undefined))), data);
  assert.deepEqual(portable, { samples: 0, layers: [] }, 'no layer of the default target can saturate, so nothing is run');
  assert.ok(measured.layers.some((l) => l.op !== 'Conv'), 'the classifier head is measured too');
});

test('measured saturation by hand: weights (127, 127) at the corner tap and (−100, −100) at the centre, every activation 255', async () => {
  // Conv 3×3, pads 1, 2 input channels, 1 output channel, on a 4×4 input; K = (9 kernel positions × 2 channels) = 18.
  const values = Array<number>(18).fill(0);
  const at = (ic: number, ky: number, kx: number) => (ic * 3 + ky) * 3 + kx; // storage order [1, 2, 3, 3]
  values[at(0, 0, 0)] = 127; values[at(1, 0, 0)] = 127; // pair (ic0, ic1) at kernel (0, 0): 255·254 = 64,770
  values[at(0, 1, 1)] = -100; values[at(1, 1, 1)] = -100; // at the centre: −51,000
  const proto = Q.qdqConv({ values, dims: [1, 2, 3, 3], scale: 0.01, zeroPoint: 0 });
  // x_scale 0.02, x_zp 128: x = 2.54 quantizes to 255; padding reads the zero point, 128 (128·254 = 32,512 fits).
  const x = new Float32Array(2 * 16).fill(2.54);
  const source = { n: 2, sampleShape: [2, 4, 4], batch: async (_s: number, count: number) => new Float32Array(count * x.length).fill(2.54) };
  const r = await measureSaturation(decodeModel(encodeModel(proto)), source);
  // Per sample: the corner tap reads real input at the 3 × 3 positions with oy, ox ≥ 1 (9), the centre at all 16.
  assert.deepEqual(r, { samples: 2, layers: [{ layer: 'conv', op: 'Conv', verdict: 'measured', saturatedPairSums: 2 * (9 + 16), pairSums: 2 * 16 * 9 }] });
  // Activations 128 everywhere (x = 0): 128·254 = 32,512 and −128·200 = −25,600 both fit.
  const zero = { ...source, batch: async (_s: number, count: number) => new Float32Array(count * x.length) };
  const none = await measureSaturation(decodeModel(encodeModel(proto)), zero);
  assert.deepEqual(none.layers.map((l) => [l.verdict, l.saturatedPairSums]), [['possible', 0]]);
});

test('measured saturation by hand, MatMul: rows k, k+1 of the weight for each column, activations 255 and 128', async () => {
  // x [1, 4] → Q/DQ (scale 0.02, zero point 128) → MatMul with int8 w [4, 2]: column 0 pairs (127, 127) then (0, 0),
  // column 1 pairs (0, 0) then (−128, −1).
  const w = [127, 0, 127, 0, 0, -128, 0, -1];
  const proto = model(graph({
    nodes: [
      node('QuantizeLinear', ['x', 's', 'zp'], ['x_q']), node('DequantizeLinear', ['x_q', 's', 'zp'], ['x_dq']),
      node('DequantizeLinear', ['w_q', 'w_s'], ['w_dq']), node('MatMul', ['x_dq', 'w_dq'], ['y'], {}, 'mm'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 2])],
    initializers: [makeTensor('s', DataType.FLOAT, [], [0.02]), makeTensor('zp', DataType.UINT8, [], [128]), makeTensor('w_q', DataType.INT8, [4, 2], w), makeTensor('w_s', DataType.FLOAT, [], [0.01])],
  }), { opset: 13 });
  const source = (values: number[]) => ({ n: values.length / 4, sampleShape: [4], batch: async (s: number, c: number) => Float32Array.from(values.slice(4 * s, 4 * (s + c))) });
  // Sample 1 all 255 (x = 2.54): 255·254 = 64,770 and 255·(−129) = −32,895 both saturate. Sample 2 all 128 (x = 0):
  // 128·254 = 32,512 and −16,512 fit. Sample 3: 255, 255 then 128, 128: only column 0 saturates.
  const r = await measureSaturation(decodeModel(encodeModel(proto)), source([2.54, 2.54, 2.54, 2.54, 0, 0, 0, 0, 2.54, 2.54, 0, 0]));
  assert.deepEqual(r, { samples: 3, layers: [{ layer: 'mm', op: 'MatMul', verdict: 'measured', saturatedPairSums: 3, pairSums: 3 * 2 * 2 }] });
});
