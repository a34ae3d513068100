// Side-by-side comparison of two versions of a model: totals and per-layer params / sparsity / bits from the
// analysis report (layers matched by node name), and, given data, how far their outputs agree.
import type { LayerStats, ModelReport } from '../analysis/report';
import type { Dataset } from './datasets';
import { agreement, maxAbsDiff, topKAccuracy } from './metrics';
import { runModel, type ModelSession } from './runner';

export interface ModelTotals {
  path: string;
  bytes: number;
  params: number;
  sparsity: number;
  macs: number;
  bitsMix: Record<string, number>;
}

export interface LayerSide {
  op: string;
  params: number;
  sparsity: number;
  bits: number;
  scheme: string;
}

export interface LayerDiff {
  name: string;
  /** null when the layer exists only in the other model */
  a: LayerSide | null;
  b: LayerSide | null;
  changed: boolean;
}

export interface OutputComparison {
  n: number;
  /** fraction of samples where both models predict the same class */
  agreement: number;
  maxAbsDiff: number;
  /** with labelled data */
  top1?: { a: number; b: number };
}

export interface ModelComparison {
  a: ModelTotals;
  b: ModelTotals;
  /** b / a */
  sizeRatio: number;
  paramsRatio: number;
  macsRatio: number;
  layers: LayerDiff[];
  outputs?: OutputComparison;
}

const totals = (r: ModelReport): ModelTotals => ({
  path: r.model.path, bytes: r.model.bytes, params: r.model.params, sparsity: r.model.sparsity, macs: r.model.macs, bitsMix: r.model.bitsMix,
});

const side = (l: LayerStats): LayerSide => ({ op: l.op, params: l.params, sparsity: l.sparsity, bits: l.bits, scheme: l.scheme });

/** Layers of `a` in order, each followed by its counterpart in `b`; layers only in `b` come last. */
export function compareReports(a: ModelReport, b: ModelReport): Omit<ModelComparison, 'outputs'> {
  const inB = new Map(b.layers.map((l) => [l.name, l]));
  const inA = new Set(a.layers.map((l) => l.name));
  const layers: LayerDiff[] = a.layers.map((la) => {
    const lb = inB.get(la.name);
    const sa = side(la);
    const sb = lb ? side(lb) : null;
    const changed = !sb || sa.params !== sb.params || sa.bits !== sb.bits || sa.scheme !== sb.scheme || Math.abs(sa.sparsity - sb.sparsity) > 1e-9;
    return { name: la.name, a: sa, b: sb, changed };
  });
  for (const lb of b.layers) if (!inA.has(lb.name)) layers.push({ name: lb.name, a: null, b: side(lb), changed: true });
  const ratio = (x: number, y: number) => (y === 0 ? (x === 0 ? 1 : Infinity) : x / y);
  return {
    a: totals(a),
    b: totals(b),
    sizeRatio: ratio(b.model.bytes, a.model.bytes),
    paramsRatio: ratio(b.model.params, a.model.params),
    macsRatio: ratio(b.model.macs, a.model.macs),
    layers,
  };
}

/** Runs both models over the same data and compares their predictions (and accuracies, when labelled). */
export async function compareOutputs(a: ModelSession, b: ModelSession, data: Dataset,
  opts: { batchSize?: number; signal?: AbortSignal; onProgress?: (phase: string, done: number, total: number) => void } = {}): Promise<OutputComparison> {
  const run = (m: ModelSession) => runModel(m, data, {
    batchSize: opts.batchSize, signal: opts.signal, onProgress: (done, total) => opts.onProgress?.(`evaluating ${m.file}`, done, total),
  });
  const outA = await run(a);
  const outB = await run(b);
  const result: OutputComparison = { n: data.n, agreement: agreement(outA, outB), maxAbsDiff: maxAbsDiff(outA, outB) };
  if (data.labels) result.top1 = { a: topKAccuracy(outA, data.labels, 1), b: topKAccuracy(outB, data.labels, 1) };
  return result;
}
