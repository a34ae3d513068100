// Side-by-side comparison of two versions of a model from their analysis reports: totals, and per-layer params /
// sparsity / bits / bytes with layers matched by node name (a layer in one model only is added or removed).
import type { LayerStats, ModelReport } from './report';

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
  /** bytes of the layer's stored weights */
  weightBytes: number;
}

export interface LayerDiff {
  name: string;
  /** null when the layer exists only in the other model */
  a: LayerSide | null;
  b: LayerSide | null;
  changed: boolean;
}

export interface ReportComparison {
  a: ModelTotals;
  b: ModelTotals;
  /** b / a */
  sizeRatio: number;
  paramsRatio: number;
  macsRatio: number;
  layers: LayerDiff[];
}

const totals = (r: ModelReport): ModelTotals => ({
  path: r.model.path, bytes: r.model.bytes, params: r.model.params, sparsity: r.model.sparsity, macs: r.model.macs, bitsMix: r.model.bitsMix,
});

const side = (l: LayerStats): LayerSide => ({ op: l.op, params: l.params, sparsity: l.sparsity, bits: l.bits, scheme: l.scheme, weightBytes: l.weightBytes });

/** b / a, with 0 / 0 = 1 (nothing changed) and x / 0 = ∞. */
export const ratio = (b: number, a: number): number => (a === 0 ? (b === 0 ? 1 : Infinity) : b / a);

/** How a layer differs between the two models: only in A (removed), only in B (added), changed, or the same. */
export function layerChange(l: LayerDiff): 'removed' | 'added' | 'changed' | 'same' {
  if (!l.b) return 'removed';
  if (!l.a) return 'added';
  return l.changed ? 'changed' : 'same';
}

/** Layers of `a` in order, each followed by its counterpart in `b`; layers only in `b` come last. */
export function compareReports(a: ModelReport, b: ModelReport): ReportComparison {
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
  return {
    a: totals(a),
    b: totals(b),
    sizeRatio: ratio(b.model.bytes, a.model.bytes),
    paramsRatio: ratio(b.model.params, a.model.params),
    macsRatio: ratio(b.model.macs, a.model.macs),
    layers,
  };
}
