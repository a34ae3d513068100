import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { calibrate } from '../../../src/core/quantize/calibrate/calibrate';
import { entropyRange } from '../../../src/core/quantize/calibrate/entropy';
import { AbsHistogram } from '../../../src/core/quantize/calibrate/histogram';
import { MinMaxObserver } from '../../../src/core/quantize/calibrate/minmax';
import { percentileRange } from '../../../src/core/quantize/calibrate/percentile';
import { seededRandom } from '../../../src/core/random';
import { arraySource } from './ortRun';

test('MinMax keeps the extremes over all batches', () => {
  const o = new MinMaxObserver();
  o.observe([1, 2, 3]);
  o.observe([-4, 0.5]);
  assert.deepEqual(o.range(), { min: -4, max: 3 });
});

test('Percentile clips |x| where the requested share of values lies below', () => {
  // |x| = 0.5, 1.5, … 999.5 once each; 99 % of them (990 values) lie below 990.
  const values = Float32Array.from({ length: 1000 }, (_, i) => (i % 2 ? 1 : -1) * (i + 0.5));
  const h = new AbsHistogram(1000, 1000);
  h.observe(values);
  const r = percentileRange(h, { min: -999, max: 1000 }, 99);
  assert.equal(r.max, 990);
  assert.equal(r.min, -990);
});

test('Entropy clips rare outliers of a Gaussian but keeps a uniform distribution whole', () => {
  const rnd = seededRandom(3);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
  const gauss = Float32Array.from({ length: 200000 }, normal);
  for (let i = 0; i < 20; i++) gauss[i] = 40; // a few far outliers
  const h = new AbsHistogram(40, 2048);
  h.observe(gauss);
  const g = entropyRange(h, { min: -40, max: 40 });
  // The threshold should sit a few sigma out: far below the outliers, not inside the bulk.
  assert.ok(g.max > 2.5 && g.max < 10, `Gaussian threshold ${g.max}`);

  const uniform = Float32Array.from({ length: 200000 }, () => rnd() * 2 - 1);
  const hu = new AbsHistogram(1, 2048);
  hu.observe(uniform);
  const u = entropyRange(hu, { min: -1, max: 1 });
  assert.ok(u.max > 0.95, `uniform threshold ${u.max}`);
});

test('calibrate streams batches through onnxruntime and measures inner tensors', async () => {
  // y = Relu(x) · 2: the range of the Relu output is [0, max x], of y [0, 2·max x].
  const m = model(graph({
    nodes: [node('Relu', ['x'], ['r']), node('Add', ['r', 'r'], ['y'])],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 4])],
    outputs: [valueInfo('y', DataType.FLOAT, ['N', 4])],
  }), { opset: 13 });
  const data = Float32Array.from({ length: 40 }, (_, i) => i - 20.5);
  const ranges = await calibrate(m, ['r', 'y', 'x'], arraySource(data, [4]), { batchSize: 3 });
  assert.deepEqual(ranges.get('x'), { min: -20.5, max: 18.5 });
  assert.deepEqual(ranges.get('r'), { min: 0, max: 18.5 });
  assert.deepEqual(ranges.get('y'), { min: 0, max: 37 });
});
