// Collapse of repeated blocks. The graph is cut wherever a single tensor carries everything forward (one live
// producer across a boundary of the topological order — between residual blocks, dense layers, chain links);
// the pieces between cuts get an op signature, and runs where a sequence of pieces repeats (period ≤ 8
// pieces) become one group node. Groups can be expanded one by one.
import { topologicalOrder } from './layout';

export interface GraphShape {
  ops: readonly string[];
  /** flat [from, to, …] pairs */
  edges: ArrayLike<number>;
}

export interface BlockRun {
  /** node ids in the run, in topological order */
  nodes: number[];
  /** nodes in one repetition */
  period: number;
  repeats: number;
  /** ops of one repetition, e.g. "Conv·BatchNormalization·Relu" */
  label: string;
}

const MAX_PERIOD = 8;
/** Runs smaller than this stay expanded: collapsing them hides more than it saves. */
const MIN_RUN_NODES = 4;

/** Splits the topological order into pieces at single-tensor cuts; returns the pieces as node-id lists. */
export function cutPieces(g: GraphShape): number[][] {
  const n = g.ops.length;
  const order = topologicalOrder(n, g.edges);
  const pos = new Int32Array(n);
  order.forEach((v, i) => (pos[v] = i));
  const lastUse = Int32Array.from(pos);
  for (let e = 0; e < g.edges.length; e += 2) {
    const u = g.edges[e], v = g.edges[e + 1];
    lastUse[u] = Math.max(lastUse[u], pos[v]);
  }
  // live[i] = producers whose output is still needed after position i
  const diff = new Int32Array(n + 1);
  for (let u = 0; u < n; u++) if (lastUse[u] > pos[u]) { diff[pos[u]]++; diff[lastUse[u]]--; }
  const pieces: number[][] = [];
  let current: number[] = [];
  let live = 0;
  for (let i = 0; i < n; i++) {
    live += diff[i];
    current.push(order[i]);
    if (live <= 1) { pieces.push(current); current = []; }
  }
  if (current.length) pieces.push(current);
  return pieces;
}

export function findRepeatedBlocks(g: GraphShape): BlockRun[] {
  const pieces = cutPieces(g);
  const ids = new Map<string, number>();
  const sig = pieces.map((p) => {
    const s = p.map((v) => g.ops[v]).join('·');
    let id = ids.get(s);
    if (id === undefined) ids.set(s, (id = ids.size));
    return id;
  });
  const m = pieces.length;
  const samePeriod = (a: number, b: number, p: number) => {
    for (let k = 0; k < p; k++) if (sig[a + k] !== sig[b + k]) return false;
    return true;
  };
  const runs: BlockRun[] = [];
  for (let i = 0; i < m;) {
    let best: { p: number; r: number; nodes: number } | undefined;
    for (let p = 1; p <= MAX_PERIOD && i + 2 * p <= m; p++) {
      let r = 1;
      while (i + (r + 1) * p <= m && samePeriod(i, i + r * p, p)) r++;
      if (r < 2) continue;
      let nodes = 0;
      for (let k = i; k < i + r * p; k++) nodes += pieces[k].length;
      if (nodes >= MIN_RUN_NODES && (!best || nodes > best.nodes)) best = { p, r, nodes };
    }
    if (!best) { i++; continue; }
    const members = pieces.slice(i, i + best.r * best.p).flat();
    const one = pieces.slice(i, i + best.p).flat();
    runs.push({ nodes: members, period: one.length, repeats: best.r, label: one.map((v) => g.ops[v]).join('·') });
    i += best.r * best.p;
  }
  return runs;
}

/** The graph that is drawn: original nodes, or one node standing for a collapsed run. */
export interface VisualGraph {
  /** original node ids behind each visual node */
  members: number[][];
  /** run index per visual node, -1 for plain nodes */
  run: number[];
  /** visual node per original node */
  visualOf: Int32Array;
  edges: number[];
}

export function collapseRuns(n: number, edges: ArrayLike<number>, runs: readonly BlockRun[], collapsed: ReadonlySet<number>): VisualGraph {
  const visualOf = new Int32Array(n).fill(-1);
  const members: number[][] = [];
  const run: number[] = [];
  // Visual ids follow the first member's original id, so that topological id order is preserved where it held.
  const firstOf = new Int32Array(n).fill(-1);
  runs.forEach((r, i) => { if (collapsed.has(i)) { const f = Math.min(...r.nodes); for (const v of r.nodes) firstOf[v] = f; } });
  const runOf = new Map<number, number>();
  runs.forEach((r, i) => { if (collapsed.has(i)) runOf.set(Math.min(...r.nodes), i); });
  for (let v = 0; v < n; v++) {
    if (firstOf[v] >= 0 && firstOf[v] !== v) continue;
    const id = members.length;
    const ri = firstOf[v] === v ? runOf.get(v)! : -1;
    if (ri >= 0) { members.push(runs[ri].nodes); for (const u of runs[ri].nodes) visualOf[u] = id; }
    else { members.push([v]); visualOf[v] = id; }
    run.push(ri);
  }
  const seen = new Set<number>();
  const out: number[] = [];
  for (let e = 0; e < edges.length; e += 2) {
    const a = visualOf[edges[e]], b = visualOf[edges[e + 1]];
    if (a === b) continue;
    const k = a * members.length + b;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a, b);
  }
  return { members, run, visualOf, edges: out };
}
