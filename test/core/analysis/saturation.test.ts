// Saturation of int8 weights on x86 without VNNI, proved without such a CPU: a TypeScript reference of what
// onnxruntime's AVX2 U8S8 kernels compute — the weight reordered to HWIO (qlinearconv.cc ReorderFilter), packed
// four K rows per column (MlasGemmU8S8CopyPackBAvx2), multiplied by broadcast uint8 activations with VPMADDUBSW's
// saturating int16 pair sums — run on the real PaddleOCR classifier quantized for each target.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { analyzeModel, findLayers } from '../../../src/core/analysis/analyze';
import { pairCanSaturate } from '../../../src/core/analysis/saturation';
import { openDataset } from '../../../src/core/eval/datasets';
import { writeTextDirectionSet } from '../../../src/core/eval/textDirectionSet';
import { attrInt, attrInts } from '../../../src/core/onnx/build';
import { indexGraph } from '../../../src/core/onnx/graph';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import { tensorValues } from '../../../src/core/onnx/tensor';
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
        : Math.min(255, Math.max(0, Math.round(x[(c * H + y) * W + z] / scale) + zeroPoint)));
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
