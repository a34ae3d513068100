// Layered DAG layout after Sugiyama et al. (1981), trimmed for speed on 10,000-node graphs: longest-path
// layering (sources pulled down next to their first consumer), a few barycenter ordering sweeps, and a
// greedy priority placement of x coordinates. No dummy nodes: long edges are drawn as curves.

export interface LayoutInput {
  /** number of nodes */
  n: number;
  /** flat [from, to, …] pairs of node ids */
  edges: ArrayLike<number>;
  /** box width of each node */
  width: (id: number) => number;
}

export interface Layout {
  /** centre of each node */
  x: Float64Array;
  y: Float64Array;
  rank: Int32Array;
  /** node ids of each rank, ordered left to right */
  rankNodes: Int32Array[];
  widths: Float64Array;
  bounds: { x0: number; x1: number; y0: number; y1: number };
}

export const NODE_HEIGHT = 30;
export const RANK_GAP = 56;
const NODE_GAP = 18;
const SWEEPS = 4;

/** Compressed adjacency lists: the neighbours of v are list[start[v] .. start[v + 1]). */
interface Adjacency { start: Int32Array; list: Int32Array }

function adjacency(n: number, edges: ArrayLike<number>, reverse: boolean): Adjacency {
  const start = new Int32Array(n + 1);
  for (let e = 0; e < edges.length; e += 2) start[(reverse ? edges[e + 1] : edges[e]) + 1]++;
  for (let v = 0; v < n; v++) start[v + 1] += start[v];
  const fill = start.slice(0, n);
  const list = new Int32Array(edges.length / 2);
  for (let e = 0; e < edges.length; e += 2) {
    const [a, b] = reverse ? [edges[e + 1], edges[e]] : [edges[e], edges[e + 1]];
    list[fill[a]++] = b;
  }
  return { start, list };
}

/** Kahn's algorithm; nodes on cycles (invalid ONNX, but drawn anyway) are appended in id order. */
export function topologicalOrder(n: number, edges: ArrayLike<number>): Int32Array {
  let sorted = true;
  for (let e = 0; e < edges.length && sorted; e += 2) sorted = edges[e] < edges[e + 1];
  const order = new Int32Array(n);
  if (sorted) { for (let v = 0; v < n; v++) order[v] = v; return order; }
  const succ = adjacency(n, edges, false);
  const indeg = new Int32Array(n);
  for (let e = 1; e < edges.length; e += 2) indeg[edges[e]]++;
  let head = 0, tail = 0;
  for (let v = 0; v < n; v++) if (indeg[v] === 0) order[tail++] = v;
  while (head < tail) {
    const v = order[head++];
    for (let i = succ.start[v]; i < succ.start[v + 1]; i++) if (--indeg[succ.list[i]] === 0) order[tail++] = succ.list[i];
  }
  if (tail < n) {
    const placed = new Uint8Array(n);
    for (let i = 0; i < tail; i++) placed[order[i]] = 1;
    for (let v = 0; v < n; v++) if (!placed[v]) order[tail++] = v;
  }
  return order;
}

export function layeredLayout(input: LayoutInput): Layout {
  const { n, edges } = input;
  const succ = adjacency(n, edges, false);
  const pred = adjacency(n, edges, true);
  const topo = topologicalOrder(n, edges);

  // Longest-path layering from the sources.
  const rank = new Int32Array(n);
  for (const v of topo) {
    for (let i = pred.start[v]; i < pred.start[v + 1]; i++) rank[v] = Math.max(rank[v], rank[pred.list[i]] + 1);
  }
  // Sources with no inputs of their own (shape constants, side inputs) sit just above their first consumer.
  for (let t = n - 1; t >= 0; t--) {
    const v = topo[t];
    if (pred.start[v] !== pred.start[v + 1] || succ.start[v] === succ.start[v + 1]) continue;
    let r = Infinity;
    for (let i = succ.start[v]; i < succ.start[v + 1]; i++) r = Math.min(r, rank[succ.list[i]] - 1);
    rank[v] = Math.max(0, r);
  }
  let ranks = 0;
  for (let v = 0; v < n; v++) ranks = Math.max(ranks, rank[v] + 1);

  // Initial order within each rank: topological order (keeps exporter order, which follows the model code).
  const buckets: number[][] = Array.from({ length: ranks }, () => []);
  for (const v of topo) buckets[rank[v]].push(v);
  const pos = new Float64Array(n);
  const setPositions = (b: number[]) => b.forEach((v, i) => (pos[v] = i));
  buckets.forEach(setPositions);

  // Barycenter sweeps: down (by predecessors), then up (by successors).
  const key = new Float64Array(n);
  const reorder = (b: number[], adj: Adjacency) => {
    for (const v of b) {
      let sum = 0, count = 0;
      for (let i = adj.start[v]; i < adj.start[v + 1]; i++) { sum += pos[adj.list[i]]; count++; }
      key[v] = count ? sum / count : pos[v];
    }
    b.sort((a, c) => key[a] - key[c] || pos[a] - pos[c]);
    setPositions(b);
  };
  for (let s = 0; s < SWEEPS; s++) {
    if (s % 2 === 0) for (let r = 1; r < ranks; r++) reorder(buckets[r], pred);
    else for (let r = ranks - 2; r >= 0; r--) reorder(buckets[r], succ);
  }

  // x: each node wants the mean x of its predecessors; greedy left-to-right packing keeps the gaps, then the
  // rank is shifted so that on average nodes sit where they want to be.
  const widths = new Float64Array(n);
  for (let v = 0; v < n; v++) widths[v] = input.width(v);
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const want = new Float64Array(n);
  let x0 = Infinity, x1 = -Infinity;
  for (let r = 0; r < ranks; r++) {
    const b = buckets[r];
    for (const v of b) {
      let sum = 0, count = 0;
      for (let i = pred.start[v]; i < pred.start[v + 1]; i++) { sum += x[pred.list[i]]; count++; }
      want[v] = count ? sum / count : NaN;
    }
    let prevRight = -Infinity, shift = 0, wanted = 0;
    for (const v of b) {
      const half = widths[v] / 2;
      const packed = prevRight + NODE_GAP + half;
      x[v] = Number.isNaN(want[v]) ? (prevRight === -Infinity ? 0 : packed) : Math.max(want[v], packed);
      prevRight = x[v] + half;
      if (!Number.isNaN(want[v])) { shift += want[v] - x[v]; wanted++; }
    }
    // Ranks of sources only are centred on 0.
    const delta = wanted ? shift / wanted : b.length ? -(x[b[0]] - widths[b[0]] / 2 + prevRight) / 2 : 0;
    for (const v of b) {
      x[v] += delta;
      y[v] = r * RANK_GAP;
      x0 = Math.min(x0, x[v] - widths[v] / 2);
      x1 = Math.max(x1, x[v] + widths[v] / 2);
    }
  }
  const rankNodes = buckets.map((b) => Int32Array.from(b));
  return {
    x, y, rank, rankNodes, widths,
    bounds: n ? { x0, x1, y0: -NODE_HEIGHT / 2, y1: (ranks - 1) * RANK_GAP + NODE_HEIGHT / 2 } : { x0: 0, x1: 0, y0: 0, y1: 0 },
  };
}

/** The node whose box contains (wx, wy) in layout coordinates, or -1. */
export function nodeAtPoint(layout: Layout, wx: number, wy: number): number {
  const r = Math.round(wy / RANK_GAP);
  if (r < 0 || r >= layout.rankNodes.length || Math.abs(wy - r * RANK_GAP) > NODE_HEIGHT / 2) return -1;
  const nodes = layout.rankNodes[r];
  let lo = 0, hi = nodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = nodes[mid];
    const half = layout.widths[v] / 2;
    if (wx < layout.x[v] - half) hi = mid - 1;
    else if (wx > layout.x[v] + half) lo = mid + 1;
    else return v;
  }
  return -1;
}

/** Index of the first node in `nodes` (ordered by x) whose right edge is at or right of `wx`. */
export function firstNodeRightOf(layout: Layout, nodes: Int32Array, wx: number): number {
  let lo = 0, hi = nodes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = nodes[mid];
    if (layout.x[v] + layout.widths[v] / 2 < wx) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
