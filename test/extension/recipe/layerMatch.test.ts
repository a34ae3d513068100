// Tests src/extension/recipe/layerMatch.ts: selectors pick the layers the CLI's rules say, on the editor's analysis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerOps, matchSelector } from '../../../src/extension/recipe/layerMatch';
import { CONV1, CONV2, FC, MATMUL, MODEL } from './fakeModel';

const names = (sel: string) => matchSelector(sel, MODEL).layers.map((l) => l.name);

test('a node name, name:EXACT, a glob and op:Type pick the layers they name', () => {
  assert.deepEqual(names('conv1'), ['conv1']);
  assert.deepEqual(names('name:/blk/conv2'), ['/blk/conv2']);
  assert.deepEqual(names('name:MatMul:mm_out'), ['MatMul:mm_out'], 'an unnamed node by its label');
  assert.deepEqual(names('*conv*'), ['conv1', '/blk/conv2']);
  assert.deepEqual(names('op:Conv'), ['conv1', '/blk/conv2']);
  assert.deepEqual(names('Gemm'), ['fc'], 'a bare op type when no node has that name');
  assert.deepEqual(matchSelector('op:Conv', MODEL).layers, [CONV1, CONV2]);
});

test('selectors that match nothing, or only nodes without weights', () => {
  assert.deepEqual(matchSelector('conv3', MODEL), { layers: [], nodes: 0 });
  assert.deepEqual(matchSelector('name:conv*', MODEL), { layers: [], nodes: 0 }, 'name: takes the glob verbatim');
  assert.deepEqual(matchSelector('relu1', MODEL), { layers: [], nodes: 1 });
  assert.deepEqual(matchSelector('op:Softmax', MODEL), { layers: [], nodes: 1 });
});

test('layerOps counts the op types of the weighted layers, most common first', () => {
  assert.deepEqual(layerOps(MODEL), [{ op: 'Conv', count: 2 }, { op: 'Gemm', count: 1 }, { op: 'MatMul', count: 1 }]);
  assert.equal(MATMUL.op, 'MatMul');
  assert.equal(FC.params, 44);
});
