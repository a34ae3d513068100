// Tests webview/state.ts: the shared selection (replace / toggle / add) and that views hear about changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerStats } from '../../src/core/analysis/report';
import { ViewState } from '../../webview/state';

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
