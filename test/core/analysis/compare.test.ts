// Tests src/core/analysis/compare.ts: layers matched by name, added / removed layers, totals and ratios, with
// expectations written out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareReports, layerChange, ratio } from '../../../src/core/analysis/compare';
import type { LayerStats, ModelReport } from '../../../src/core/analysis/report';

function layer(name: string, over: Partial<LayerStats> = {}): LayerStats {
  return {
    name, op: 'Conv', index: 0, weights: [], params: 100, zeros: 0, sparsity: 0, channelSparsity: 0, twoFour: 0, bits: 32,
    dtype: 'float32', scheme: 'float', perChannel: false, macs: 1000, weightBytes: 400, ...over,
  };
}

function report(path: string, bytes: number, layers: LayerStats[], macs = 3000): ModelReport {
  const params = layers.reduce((s, l) => s + l.params, 0);
  return {
    model: {
      path, bytes, opset: 17, irVersion: 8, producer: 'test', nodes: layers.length, layers: layers.length, params, zeros: 0,
      sparsity: 0, macs, weightBytes: 0, bitsMix: { 32: params }, peakActivationBytes: 0, inputs: [], outputs: [],
    },
    layers,
  };
}

test('layers are matched by name: A\'s order first, then the layers only B has; each side carries bytes', () => {
  const a = report('a.onnx', 1600, [layer('conv1'), layer('conv2'), layer('fc', { op: 'Gemm' })]);
  const b = report('b.onnx', 700, [
    layer('conv1'),
    // quantized: 100 int8 weights = 100 bytes
    layer('conv2', { bits: 8, scheme: 'qdq', dtype: 'int8', weightBytes: 100 }),
    layer('fc_new', { op: 'Gemm', params: 50, weightBytes: 200 }),
  ]);
  const c = compareReports(a, b);
  assert.deepEqual(c.layers.map((l) => [l.name, layerChange(l)]), [
    ['conv1', 'same'], ['conv2', 'changed'], ['fc', 'removed'], ['fc_new', 'added'],
  ]);
  const conv2 = c.layers[1];
  assert.deepEqual(conv2.a, { op: 'Conv', params: 100, sparsity: 0, bits: 32, scheme: 'float', weightBytes: 400 });
  assert.deepEqual(conv2.b, { op: 'Conv', params: 100, sparsity: 0, bits: 8, scheme: 'qdq', weightBytes: 100 });
  assert.equal(c.layers[2].b, null);
  assert.equal(c.layers[3].a, null);
});

test('totals and B/A ratios come from the two reports', () => {
  const a = report('a.onnx', 1600, [layer('conv1'), layer('conv2')], 3000);
  const b = report('b.onnx', 400, [layer('conv1', { params: 50, sparsity: 0.5, zeros: 50 }), layer('conv2')], 1500);
  const c = compareReports(a, b);
  assert.equal(c.a.path, 'a.onnx');
  assert.equal(c.a.params, 200);
  assert.equal(c.b.params, 150);
  assert.equal(c.sizeRatio, 0.25); // 400 / 1600
  assert.equal(c.paramsRatio, 0.75); // 150 / 200
  assert.equal(c.macsRatio, 0.5); // 1500 / 3000
  assert.equal(layerChange(c.layers[0]), 'changed', 'params and sparsity differ');
  assert.equal(layerChange(c.layers[1]), 'same');
});

test('a sparsity change alone marks a layer changed; float noise does not', () => {
  const c = compareReports(report('a', 1, [layer('l', { sparsity: 0.25 })]), report('b', 1, [layer('l', { sparsity: 0.25 + 1e-12 })]));
  assert.equal(c.layers[0].changed, false);
  const d = compareReports(report('a', 1, [layer('l', { sparsity: 0.25 })]), report('b', 1, [layer('l', { sparsity: 0.5 })]));
  assert.equal(d.layers[0].changed, true);
});

test('ratios of empty totals: 0/0 is 1, x/0 is infinite', () => {
  assert.equal(ratio(0, 0), 1);
  assert.equal(ratio(5, 0), Infinity);
  assert.equal(ratio(3, 4), 0.75);
  const c = compareReports(report('a', 10, [], 0), report('b', 5, [], 0));
  assert.deepEqual([c.layers, c.paramsRatio, c.macsRatio, c.sizeRatio], [[], 1, 1, 0.5]);
});
