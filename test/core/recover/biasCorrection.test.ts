import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureActivations } from '../../../src/core/eval/activations';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { indexGraph } from '../../../src/core/onnx/graph';
import { optimizeModel } from '../../../src/core/onnx/optimize';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorValues } from '../../../src/core/onnx/tensor';
import { applyQdq, planQdq, qdqBiasTargets } from '../../../src/core/quantize/qdq';
import { calibrate } from '../../../src/core/quantize/calibrate/calibrate';
import { correctBiases, sameNameTargets, type BiasTarget } from '../../../src/core/recover/biasCorrection';
import { seededRandom } from '../../../src/core/random';
import { convNet } from '../../builders/convNet';
import { arraySource } from '../quantize/ortRun';

// y = Conv1×1(x; W [3 out, 4 in], b) over x [N, 4, 5, 5]
function conv(w: number[], b: number[]): ModelProto {
  return model(graph({
    nodes: [node('Conv', ['x', 'W', 'B'], ['y'], {}, 'conv')],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 4, 5, 5])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 3, 5, 5])],
    initializers: [makeTensor('W', DataType.FLOAT, [3, 4, 1, 1], w), makeTensor('B', DataType.FLOAT, [3], b)],
  }), { opset: 13 });
}

test('pruned weights: the corrected bias is b + W_removed · E[x] (computed independently)', async () => {
  const rnd = seededRandom(21);
  const w = Array.from({ length: 12 }, () => rnd() * 2 - 1);
  const b = [0.1, -0.2, 0.3];
  const pruned = w.map((v, i) => (i % 3 === 0 ? 0 : v));
  const x = Float32Array.from({ length: 20 * 100 }, () => rnd() + 0.5);
  const source = arraySource(x, [4, 5, 5]);
  // Mean of each input channel over N, H, W.
  const meanX = [0, 1, 2, 3].map((k) => {
    let s = 0;
    for (let n = 0; n < 20; n++) for (let i = 0; i < 25; i++) s += x[n * 100 + k * 25 + i];
    return s / 500;
  });
  const reference = conv(w, b);
  const modified = conv(pruned, b);
  const targets = sameNameTargets(reference, modified);
  assert.deepEqual(targets, [{ node: 'conv', referenceTensor: 'y', modifiedTensor: 'y' }]);
  const { proto, corrections } = await correctBiases(reference, modified, targets, source, { batchSize: 7 });
  const corrected = tensorValues(indexGraph(proto.graph!).constants.get('B')!);
  for (let c = 0; c < 3; c++) {
    let removed = 0;
    for (let k = 0; k < 4; k++) removed += (w[c * 4 + k] - pruned[c * 4 + k]) * meanX[k];
    assert.ok(Math.abs(corrected[c] - (b[c] + removed)) < 1e-5, `channel ${c}: ${corrected[c]} vs ${b[c] + removed}`);
  }
  assert.equal(corrections.length, 1);
  // The input model is not modified.
  assert.deepEqual([...tensorValues(indexGraph(modified.graph!).constants.get('B')!)].map((v) => Math.fround(v)), b.map(Math.fround));
});

async function channelMeanError(reference: ModelProto, modified: ModelProto, targets: BiasTarget[], source: ReturnType<typeof arraySource>): Promise<number> {
  const means = async (m: ModelProto, names: string[]) => {
    const sums = new Map<string, Float64Array>();
    let count = 0;
    await captureActivations(m, names, source, (t, _s, n) => {
      count += n;
      for (const [name, v] of t) {
        const c = v.dims[1], inner = v.data.length / (v.dims[0] * c);
        const s = sums.get(name) ?? new Float64Array(c);
        for (let i = 0; i < v.data.length; i++) s[Math.floor(i / inner) % c] += v.data[i] / inner;
        sums.set(name, s);
      }
    });
    return new Map([...sums].map(([k, s]) => [k, s.map((v) => v / count)]));
  };
  const ref = await means(reference, targets.map((t) => t.referenceTensor));
  const mod = await means(modified, targets.map((t) => t.modifiedTensor));
  let err = 0;
  for (const t of targets) ref.get(t.referenceTensor)!.forEach((v, c) => { err += Math.abs(v - mod.get(t.modifiedTensor)![c]); });
  return err;
}

test('quantized int32 biases are shifted in integer steps and the channel-mean error drops', async () => {
  const rnd = seededRandom(22);
  const float = await optimizeModel(convNet({ channels: [8, 16], residual: true, depthwise: true, bn: true, seed: 9 }));
  const source = arraySource(Float32Array.from({ length: 32 * 3 * 32 * 32 }, () => rnd() * 2 - 1), [3, 32, 32]);
  const plan = planQdq(float.graph!, new Set(float.graph!.node));
  // Coarse ranges on purpose (2× the observed range) so there is a visible bias to correct.
  const observed = await calibrate(float, [...plan.calibrated], source);
  const ranges = new Map([...observed].map(([k, r]) => [k, { min: 2 * r.min, max: 2 * r.max }]));
  const q = applyQdq(float, plan, ranges, { perChannel: true, activationType: 'uint8' });
  const targets = qdqBiasTargets(float, q);
  assert.equal(targets.length, float.graph!.node.filter((n) => n.opType === 'Conv' || n.opType === 'Gemm').length);
  const { proto } = await correctBiases(float, q, targets, source);
  const before = await channelMeanError(float, q, targets, source);
  const after = await channelMeanError(float, proto, targets, source);
  console.log(`bias correction: summed |channel mean error| ${before.toFixed(4)} → ${after.toFixed(4)}`);
  assert.ok(after < 0.7 * before, `${before} → ${after}`);
  // Still int32 behind DequantizeLinear, so onnxruntime's fusion is unaffected.
  const index = indexGraph(proto.graph!);
  for (const n of proto.graph!.node.filter((m) => m.opType === 'Conv')) {
    assert.equal(index.constants.get(index.producer.get(n.input[2])!.input[0])!.dataType, DataType.INT32);
  }
});

test('a shift past the int32 range is clamped with a warning, not wrapped', async () => {
  // Channel 1's weights are 1e-9, so its bias scale s_in·s_w is ≈ 3·10⁻¹³; the reference's bias 1 on that
  // channel asks for a shift of ≈ 3·10¹² steps, which int32 cannot hold: the bias must end at 2³¹ − 1.
  const w = [0.5, -0.25, 0.75, 1, 1e-9, -1e-9, 1e-9, 1e-9, -0.5, 0.3, 0.2, -0.1];
  const reference = conv(w, [0, 1, 0]);
  const float = conv(w, [0, 0, 0]);
  const plan = planQdq(float.graph!, new Set(float.graph!.node));
  const q = applyQdq(float, plan, new Map([...plan.calibrated].map((t) => [t, { min: -4, max: 6 }])), { perChannel: true, activationType: 'uint8' });
  const rnd = seededRandom(3);
  const source = arraySource(Float32Array.from({ length: 8 * 4 * 5 * 5 }, () => rnd() * 2 - 1), [4, 5, 5]);
  const warnings: string[] = [];
  const { proto } = await correctBiases(reference, q, qdqBiasTargets(reference, q), source, { onWarning: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /'conv'.*1 channel.*clamped/);
  const index = indexGraph(proto.graph!);
  const n = proto.graph!.node.find((m) => m.opType === 'Conv')!;
  const bias = tensorValues(index.constants.get(index.producer.get(n.input[2])!.input[0])!);
  assert.equal(bias[1], 2 ** 31 - 1);
});
