// Pareto front of accuracy against a cost (size or latency): Pareto dominance as defined in multi-objective
// optimisation (Deb, "Multi-Objective Optimization Using Evolutionary Algorithms", 2001, §2.4) — a point is on the
// front when no other point is at least as accurate and at most as costly, and strictly better in one of the two.

export interface TradeOff {
  /** higher is better (top-1) */
  accuracy: number;
  /** lower is better (bytes, milliseconds) */
  cost: number;
}

/** Whether `a` dominates `b`: at least as accurate, at most as costly, strictly better in one. */
export function dominates(a: TradeOff, b: TradeOff): boolean {
  return a.accuracy >= b.accuracy && a.cost <= b.cost && (a.accuracy > b.accuracy || a.cost < b.cost);
}

/**
 * For each point, whether it is on the Pareto front. Equal points do not dominate each other, so both stay on
 * the front. Quadratic: reports hold tens of variants, and this form is the definition itself.
 */
export function paretoFront(points: readonly TradeOff[]): boolean[] {
  return points.map((p) => !points.some((q) => dominates(q, p)));
}
