import assert from 'node:assert/strict';
import { test } from 'node:test';
import { node } from '../../src/core/onnx/build';
import { exactSelector, parseSelectors, selectLayers } from '../../src/core/select';

// Names chosen to trip every other selector form: glob characters, a comma, an `op:` prefix, an op type.
const nodes = [
  node('Conv', ['x', 'w1'], ['c1'], {}, '/blk*/Conv'),
  node('Conv', ['c1', 'w2'], ['c2'], {}, '/blk1/Conv'),
  node('Conv', ['c2', 'w3'], ['c3'], {}, 'a,b'),
  node('Relu', ['c3'], ['r'], {}, 'op:Conv'),
  node('Gemm', ['r', 'w4'], ['y']),
];
const names = (selectors: string[]) => selectLayers(nodes, { layers: selectors }).map((n) => n.name || n.output[0]);

test('name:LABEL matches exactly one label, verbatim', () => {
  assert.deepEqual(names(['name:/blk*/Conv']), ['/blk*/Conv']);
  assert.deepEqual(names(['/blk*/Conv']), ['/blk*/Conv', '/blk1/Conv'], 'the same text without name: is a glob');
  assert.deepEqual(names(['name:a,b']), ['a,b']);
  assert.deepEqual(names(['name:op:Conv']), ['op:Conv']);
  assert.deepEqual(names(['op:Conv']), ['/blk*/Conv', '/blk1/Conv', 'a,b'], 'op: still means the op type');
  // An unnamed node's label is `op:firstOutput`.
  assert.deepEqual(names(['name:Gemm:y']), ['y']);
  assert.deepEqual(names([exactSelector('a,b')]), ['a,b']);
  assert.throws(() => names(['name:/blk1/conv']), /selector 'name:\/blk1\/conv' matches no layer/);
  assert.throws(() => names(['name:Gemm']), /matches no layer/, 'no fallback to the op type');
});

test('parseSelectors: name: takes the rest of a comma list verbatim', () => {
  assert.deepEqual(parseSelectors('a, b,name:x,y *'), ['a', 'b', 'name:x,y *']);
  assert.deepEqual(parseSelectors(['op:Conv,c', ' name:a,b']), ['op:Conv', 'c', 'name:a,b']);
  assert.deepEqual(parseSelectors('a,,b'), ['a', 'b']);
});

test('exclude with name: leaves the glob-named layer alone and keeps its glob sibling', () => {
  const chosen = selectLayers(nodes, { layers: ['op:Conv'], exclude: ['name:/blk*/Conv'] }).map((n) => n.name);
  assert.deepEqual(chosen, ['/blk1/Conv', 'a,b']);
});
