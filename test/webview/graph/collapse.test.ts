// Tests webview/graph/collapse.ts on graphs whose repeated blocks are known by construction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collapseRuns, cutPieces, findRepeatedBlocks } from '../../../webview/graph/collapse';

/** stem Conv, then `blocks` residual blocks (Conv→Relu→Conv→Add with the block input), then Gemm. */
function residualNet(blocks: number) {
  const ops = ['Conv'];
  const edges: number[] = [];
  let input = 0;
  for (let b = 0; b < blocks; b++) {
    const c1 = ops.push('Conv') - 1, r = ops.push('Relu') - 1, c2 = ops.push('Conv') - 1, add = ops.push('Add') - 1;
    edges.push(input, c1, c1, r, r, c2, c2, add, input, add);
    input = add;
  }
  const gemm = ops.push('Gemm') - 1;
  edges.push(input, gemm);
  return { ops, edges };
}

test('cuts fall between residual blocks, never inside one', () => {
  const pieces = cutPieces(residualNet(3));
  assert.deepEqual(pieces, [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13]]);
});

test('three identical residual blocks form one run that collapses to a single node', () => {
  const g = residualNet(3);
  const runs = findRepeatedBlocks(g);
  assert.equal(runs.length, 1);
  assert.equal(runs[0].repeats, 3);
  assert.equal(runs[0].period, 4);
  assert.equal(runs[0].label, 'Conv·Relu·Conv·Add');
  assert.deepEqual(runs[0].nodes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const v = collapseRuns(g.ops.length, g.edges, runs, new Set([0]));
  assert.equal(v.members.length, 3);
  assert.deepEqual(v.run, [-1, 0, -1]);
  assert.deepEqual(v.edges, [0, 1, 1, 2]);
  assert.equal(v.visualOf[7], 1);
});

test('an alternating chain collapses with period 2', () => {
  const ops = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'Relu' : 'Conv'));
  const edges = ops.slice(1).flatMap((_, i) => [i, i + 1]);
  const runs = findRepeatedBlocks({ ops, edges });
  assert.equal(runs.length, 1);
  assert.equal(runs[0].repeats, 10);
  assert.equal(runs[0].label, 'Conv·Relu');
});

test('nothing repeats in a chain of distinct ops, and too-small repeats stay expanded', () => {
  assert.deepEqual(findRepeatedBlocks({ ops: ['A', 'B', 'C', 'D', 'E'], edges: [0, 1, 1, 2, 2, 3, 3, 4] }), []);
  assert.deepEqual(findRepeatedBlocks({ ops: ['A', 'Relu', 'Relu', 'B'], edges: [0, 1, 1, 2, 2, 3] }), []);
});

test('with nothing collapsed the drawn graph is the original graph', () => {
  const g = residualNet(2);
  const v = collapseRuns(g.ops.length, g.edges, findRepeatedBlocks(g), new Set());
  assert.equal(v.members.length, g.ops.length);
  assert.deepEqual(v.edges, g.edges);
});
