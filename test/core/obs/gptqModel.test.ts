import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { gptqQuantize, gptqRounding, layerMatrix } from '../../../src/core/obs/gptq';
import { dequantize, recordingRounding, replayRounding, roundLayersByGptq } from '../../../src/core/obs/gptqModel';
import { layerHessians } from '../../../src/core/obs/hessian';
import { weightedLayers } from '../../../src/core/prune/layers';
import { dequantizeTensor, quantizeTensor } from '../../../src/core/quantize/affine';
import { quantizeWeightOnly, weightCandidates } from '../../../src/core/quantize/weightOnly';
import { seededRandom } from '../../../src/core/random';
import { arraySource as source } from '../quantize/ortRun';

const F = DataType.FLOAT;

function randoms(n: number, seed: number): Float32Array {
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rnd() * 2 - 1);
}

/** Conv (3→6, 3×3) → Relu → Conv (6→4, 3×3) → Relu → MatMul along the last axis (5→3), weights w1, w2, w3. */
function chain(w1 = randoms(162, 1), w2 = randoms(216, 2), w3 = randoms(15, 3)) {
  return model(graph({
    nodes: [
      node('Conv', ['x', 'w1'], ['a'], { pads: [1, 1, 1, 1] }, 'c1'), node('Relu', ['a'], ['ar']),
      node('Conv', ['ar', 'w2'], ['b'], { pads: [1, 1, 1, 1] }, 'c2'), node('Relu', ['b'], ['br']),
      node('MatMul', ['br', 'w3'], ['y'], {}, 'mm'),
    ],
    inputs: [valueInfo('x', F, ['N', 3, 5, 5])], outputs: [valueInfo('y', F, ['N', 4, 5, 3])],
    initializers: [makeTensor('w1', F, [6, 3, 3, 3], w1), makeTensor('w2', F, [4, 6, 3, 3], w2), makeTensor('w3', F, [5, 3], w3)],
  }));
}

const calib = source(randoms(24 * 3 * 25, 9), [3, 5, 5]);
const opts = { bits: 4 as const, perChannel: true, matMulNBits: false };

test('GPTQ over the model with streamed Hessians (one layer per pass) rounds exactly as with all Hessians held at once', async () => {
  const m = { proto: chain() };
  const chosen = weightCandidates(m.proto);
  const hessians = await layerHessians(m, calib, chosen.map((n) => n.name));
  const allAtOnce = quantizeWeightOnly(m.proto, chosen, { ...opts, rounding: gptqRounding(m.proto, hessians) });
  const dry = recordingRounding();
  quantizeWeightOnly(m.proto, chosen, { ...opts, rounding: dry.rounding });
  assert.deepEqual([...dry.requests.keys()], ['c1', 'c2', 'mm']);
  const { rounded, passes } = await roundLayersByGptq(m, calib, dry.requests, { budgetBytes: 0 });
  assert.equal(passes, 3);
  const streamed = quantizeWeightOnly(m.proto, chosen, { ...opts, rounding: replayRounding(rounded) });
  assert.deepEqual(streamed.proto.graph!.initializer, allAtOnce.proto.graph!.initializer);
});

test('sequential mode: layer 2\'s Hessian comes from layer 1 with its rounded weights (checked against a model built with them by hand)', async () => {
  const m = { proto: chain() };
  const dry = recordingRounding();
  quantizeWeightOnly(m.proto, weightCandidates(m.proto), { ...opts, rounding: dry.rounding });
  const { rounded, passes } = await roundLayersByGptq(m, calib, dry.requests, { inputs: 'quantized' });
  assert.equal(passes, 3);
  const [c1, c2, mm] = weightedLayers(m.proto.graph!);
  // Layer 1 sees the model input either way: the same as GPTQ with the original Hessians.
  const original = await layerHessians(m, calib, ['c1', 'c2', 'mm']);
  const r1 = dry.requests.get('c1')!;
  assert.deepEqual(rounded.get('c1')!.values, gptqQuantize(r1.values, r1.dims, r1.quant, layerMatrix(c1), original.get('c1')!).values);
  // Layer 2: H of the model whose c1 weight is replaced by its dequantized GPTQ integers, written independently.
  const w1 = dequantizeTensor(rounded.get('c1')!, [6, 3, 3, 3]);
  const after1 = { proto: chain(Float32Array.from(w1)) };
  const h2 = (await layerHessians(after1, calib, ['c2'])).get('c2')!;
  const r2 = dry.requests.get('c2')!;
  assert.deepEqual(rounded.get('c2')!.values, gptqQuantize(r2.values, r2.dims, r2.quant, layerMatrix(c2), h2).values);
  assert.notDeepEqual(h2.h, original.get('c2')!.h, 'rounding layer 1 changes layer 2\'s inputs');
  // Layer 3: both earlier layers rounded.
  const w2 = dequantizeTensor(rounded.get('c2')!, [4, 6, 3, 3]);
  const h3 = (await layerHessians({ proto: chain(Float32Array.from(w1), Float32Array.from(w2)) }, calib, ['mm'])).get('mm')!;
  const r3 = dry.requests.get('mm')!;
  assert.deepEqual(rounded.get('mm')!.values, gptqQuantize(r3.values, r3.dims, r3.quant, layerMatrix(mm), h3).values);
});

test('dequantize gives scale · (q − zero point) per channel (hand-computed)', () => {
  const q = quantizeTensor(Float32Array.of(0.7, -0.32, 0.62, 1.4), [2, 2], { type: 'int4', symmetric: true, axis: 0 });
  // Channel 0: max 0.7 → scale 0.7 / 7 = 0.1, q = [7, −3]; channel 1: max 1.4 → scale 0.2, q = [3, 7].
  assert.deepEqual([...q.values], [7, -3, 3, 7]);
  const d = dequantize(q, [2, 2]);
  [0.7, -0.3, 0.6, 1.4].forEach((v, i) => assert.ok(Math.abs(d[i] - v) < 1e-6, `${i}: ${d[i]}`));
});
