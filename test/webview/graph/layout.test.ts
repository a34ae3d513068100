// Tests webview/graph/layout.ts: layering, ordering, non-overlapping placement and hit testing, on graphs
// whose correct layout is known by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstNodeRightOf, layeredLayout, nodeAtPoint, RANK_GAP, topologicalOrder } from '../../../webview/graph/layout';

const W = 100;
const layout = (n: number, edges: number[]) => layeredLayout({ n, edges, width: () => W });

/** Edge crossings between consecutive ranks, counted pairwise from the x coordinates. */
function crossings(l: ReturnType<typeof layout>, edges: number[]): number {
  let c = 0;
  for (let i = 0; i < edges.length; i += 2) for (let j = i + 2; j < edges.length; j += 2) {
    const [a, b, p, q] = [edges[i], edges[i + 1], edges[j], edges[j + 1]];
    if (l.rank[a] !== l.rank[p] || l.rank[b] !== l.rank[q] || a === p || b === q) continue;
    if ((l.x[a] - l.x[p]) * (l.x[b] - l.x[q]) < 0) c++;
  }
  return c;
}

test('a chain is one straight column, one rank per node', () => {
  const l = layout(5, [0, 1, 1, 2, 2, 3, 3, 4]);
  assert.deepEqual([...l.rank], [0, 1, 2, 3, 4]);
  assert.deepEqual([...l.y], [0, 1, 2, 3, 4].map((r) => r * RANK_GAP));
  assert.equal(new Set(l.x).size, 1);
});

test('a diamond puts the two branches side by side and the join between them', () => {
  const l = layout(4, [0, 1, 0, 2, 1, 3, 2, 3]);
  assert.deepEqual([...l.rank], [0, 1, 1, 2]);
  assert.ok(Math.abs(l.x[1] - l.x[2]) >= W, 'branches do not overlap');
  assert.equal(l.x[3], (l.x[1] + l.x[2]) / 2);
});

test('a source node sits just above its consumer, not at the top', () => {
  // 0→1→2→3 and a side input 4→3
  const l = layout(5, [0, 1, 1, 2, 2, 3, 4, 3]);
  assert.equal(l.rank[4], 2);
});

test('barycenter ordering removes a crossing the input order has', () => {
  // a=0, b=1 on top; c=2, d=3 below; a→d and b→c cross in id order
  const edges = [0, 3, 1, 2];
  const l = layout(4, edges);
  assert.equal(crossings(l, edges), 0);
});

test('random DAGs: edges point down, boxes in a rank never overlap, rankNodes are ordered by x', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const n = 2000;
  const edges: number[] = [];
  for (let v = 1; v < n; v++) {
    edges.push(Math.max(0, v - 1 - Math.floor(rand() * 5)), v);
    if (rand() < 0.3) edges.push(Math.floor(rand() * v), v);
  }
  const l = layout(n, edges);
  for (let i = 0; i < edges.length; i += 2) assert.ok(l.rank[edges[i]] < l.rank[edges[i + 1]]);
  let placed = 0;
  for (const nodes of l.rankNodes) {
    placed += nodes.length;
    for (let j = 1; j < nodes.length; j++) assert.ok(l.x[nodes[j]] - l.x[nodes[j - 1]] >= W, 'no overlap');
  }
  assert.equal(placed, n);
});

test('topological order handles ids that are not in order', () => {
  const order = [...topologicalOrder(3, [2, 0, 0, 1])];
  assert.deepEqual(order, [2, 0, 1]);
});

test('hit testing finds the node under a point and nothing between nodes', () => {
  const l = layout(4, [0, 1, 0, 2, 1, 3, 2, 3]);
  assert.equal(nodeAtPoint(l, l.x[2], l.y[2]), 2);
  assert.equal(nodeAtPoint(l, l.x[1] + W / 2 - 1, l.y[1] + 10), 1);
  assert.equal(nodeAtPoint(l, (l.x[1] + l.x[2]) / 2, l.y[1]), -1, 'the gap between the branches');
  assert.equal(nodeAtPoint(l, l.x[0], RANK_GAP / 2), -1, 'between ranks');
  const rank1 = l.rankNodes[1];
  assert.equal(firstNodeRightOf(l, rank1, -1e9), 0);
  assert.equal(firstNodeRightOf(l, rank1, 1e9), rank1.length);
});
