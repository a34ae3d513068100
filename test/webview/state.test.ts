// Tests webview/state.ts: the shared selection (replace / toggle / add) and that views hear about changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerStats } from '../../src/core/analysis/report';
import type { Measurements } from '../../src/protocol';
import { sensitivityDrop, ViewState } from '../../webview/state';

const layers = [{ name: 'a' }, { name: 'b' }, { name: 'c' }] as LayerStats[];

test('selection modes and change notifications', () => {
  const s = new ViewState(layers, { names: [], ops: [], layer: [], edges: [] }, 'm.onnx');
  let changes = 0;
  s.on('selection', () => changes++);
  s.select(['a']);
  assert.deepEqual([...s.selected], ['a']);
  s.select(['b', 'a'], 'toggle');
  assert.deepEqual([...s.selected].sort(), ['b']);
  s.select(['c'], 'add');
  assert.deepEqual([...s.selected].sort(), ['b', 'c']);
  s.select(['c', 'b']);
  assert.equal(changes, 3, 'selecting the same set again is not a change');
  s.select([]);
  assert.equal(s.selected.size, 0);
  assert.equal(changes, 4);
});

test('colour metric changes notify once, and only on change', () => {
  const s = new ViewState(layers, { names: [], ops: [], layer: [], edges: [] }, 'm.onnx');
  let changes = 0;
  s.on('colorBy', () => changes++);
  assert.equal(s.colorBy, 'sparsity');
  s.setColorBy('bits');
  s.setColorBy('bits');
  assert.equal(s.colorBy, 'bits');
  assert.equal(changes, 1);
  assert.equal(s.layerByName.get('b'), layers[1]);
});

// ---- measurements ----

const measured: Measurements = {
  budget: 2,
  sensitivity: {
    mode: 'static', bits: 8, n: 100, time: 1, before: false,
    layers: { a: { deltaTop1: -3, agreement: 0.9, sqnrDb: 12 }, b: { deltaTop1: 0.5, agreement: 1, sqnrDb: null }, c: { deltaTop1: null, agreement: 0.985, sqnrDb: 30 } },
  },
  latency: { runs: 10, totalMs: 4, time: 2, layers: { a: { ms: 1, share: 0.25 }, b: { ms: 2.5, share: 0.625 } } },
};

test('sensitivity on the colour scale: the top-1 drop in pp (or the disagreement without labels) against the budget; groups take their worst layer', () => {
  const s = new ViewState(layers, { names: [], ops: [], layer: [], edges: [] }, 'm.onnx');
  let changes = 0;
  s.on('measurements', () => changes++);
  s.setMeasurements(measured);
  assert.equal(changes, 1);
  assert.deepEqual(s.measuredValue('sensitivity', ['a']), { value: 3, full: 2 }, 'Δtop-1 −3 pp is a 3 pp drop');
  assert.deepEqual(s.measuredValue('sensitivity', ['b']), { value: 0, full: 2 }, 'a gain is no drop');
  const c = s.measuredValue('sensitivity', ['c'])!;
  assert.ok(Math.abs(c.value! - 1.5) < 1e-9, `98.5 % agreement is 1.5 pp of disagreement, got ${c.value}`);
  assert.equal(s.measuredValue('sensitivity', ['a', 'b', 'c'])?.value, 3);
  assert.equal(s.measuredValue('sensitivity', ['x'])?.value, undefined, 'not measured');
  assert.equal(s.measuredValue('bits', ['a']), undefined, 'bits and sparsity are not measurements');
  assert.equal(sensitivityDrop({ deltaTop1: -0.25, agreement: 0.5, sqnrDb: 1 }), 0.25, 'labels win over agreement');
});

test('latency on the colour scale: ms against the slowest layer, groups summed; an edited document without its own profile uses the file\'s', () => {
  const s = new ViewState(layers, { names: [], ops: [], layer: [], edges: [] }, 'm.onnx');
  assert.equal(s.hasData('latency'), false);
  assert.equal(s.hasData('sensitivity'), false);
  assert.equal(s.hasData('bits'), true);
  s.setMeasurements(measured);
  assert.deepEqual(s.measuredValue('latency', ['a']), { value: 1, full: 2.5 });
  assert.deepEqual(s.measuredValue('latency', ['a', 'b']), { value: 3.5, full: 2.5 });
  assert.equal(s.measuredValue('latency', ['c'])?.value, undefined);
  assert.equal(s.latencyFromBefore, false);
  const before = { runs: 10, totalMs: 8, time: 1, layers: { a: { ms: 4, share: 0.5 } }, source: '/w/m.onnx' };
  s.setMeasurements({ budget: 1, latencyBefore: before });
  assert.equal(s.hasData('latency'), true);
  assert.equal(s.latencyFromBefore, true);
  assert.deepEqual(s.measuredValue('latency', ['a']), { value: 4, full: 4 });
  assert.deepEqual(s.timeOf('a'), { now: undefined, before: { ms: 4, share: 0.5 } });
  s.setMeasurements({ ...measured, latencyBefore: before });
  assert.deepEqual(s.timeOf('a'), { now: { ms: 1, share: 0.25 }, before: { ms: 4, share: 0.5 } });
  assert.equal(s.latencyFromBefore, false);
});
