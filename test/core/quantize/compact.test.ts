import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getAttr } from '../../../src/core/onnx/build';
import { indexGraph } from '../../../src/core/onnx/graph';
import { optimizeModel } from '../../../src/core/onnx/optimize';
import { compactQdq } from '../../../src/core/quantize/compact';
import { applyQdq, planQdq } from '../../../src/core/quantize/qdq';
import { convNet } from '../../builders/convNet';

async function qdqNet() {
  const float = await optimizeModel(convNet({ channels: [8, 16], residual: true, depthwise: true, bn: true, seed: 5 }));
  const g = float.graph!;
  const plan = planQdq(g, new Set(g.node));
  const ranges = new Map([...plan.calibrated].map((t) => [t, { min: -3, max: 5 }]));
  return { float, qdq: applyQdq(float, plan, ranges, { perChannel: true, activationType: 'uint8' }) };
}

test('Conv attributes at their ONNX defaults are dropped, the others kept', async () => {
  const { qdq } = await qdqNet();
  const small = compactQdq(qdq);
  const byName = new Map(qdq.graph!.node.map((n) => [n.name, n]));
  let checked = 0;
  for (const n of small.graph!.node.filter((m) => m.opType === 'Conv')) {
    const original = byName.get(n.name)!;
    for (const a of original.attribute) {
      const ints = a.ints.map(Number);
      const isDefault = (a.name === 'auto_pad' && new TextDecoder().decode(a.s) === 'NOTSET') || (a.name === 'group' && Number(a.i) === 1) || (['strides', 'dilations'].includes(a.name) && ints.every((v) => v === 1))
        || (a.name === 'pads' && ints.every((v) => v === 0)) || a.name === 'kernel_shape';
      assert.equal(getAttr(n, a.name) === undefined, isDefault, `${n.name}.${a.name}`);
    }
    checked++;
  }
  assert.ok(checked >= 6);
});

test('every Q output has one DequantizeLinear, and uint8 zero points of 0 are left out next to Conv/Add', async () => {
  const { qdq } = await qdqNet();
  const index = indexGraph(qdq.graph!);
  const qs = qdq.graph!.node.filter((n) => n.opType === 'QuantizeLinear');
  for (const q of qs) assert.equal(index.consumers.get(q.output[0])!.length, 1, q.output[0]);
  // Ranges [-3, 5] give zero point 96, so only the weight and bias DQs (symmetric, zero point 0) go without one.
  const withoutZp = qdq.graph!.node.filter((n) => n.opType === 'DequantizeLinear' && n.input.length === 2);
  const weighted = qdq.graph!.node.filter((n) => n.opType === 'Conv').length;
  assert.equal(withoutZp.length, 2 * weighted);
});
