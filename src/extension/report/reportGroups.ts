// The report view's points: every kept `bench` result becomes the variant it measured and, with `--baseline B`, B
// as well; points are grouped by baseline, the newest measurement of each model in a group wins.
import type { BenchResult, ModelResult } from '../../core/eval/benchmark';
import type { ReportGroup, ReportPoint } from '../../protocol';
import type { StoredResult } from '../results/resultStore';

export interface GroupingContext {
  /** the path shown for a model (relative to the workspace) */
  label(model: string): string;
  /** whether the model's file changed since `measuredAt` (the result's own model is checked with its stored stat) */
  changedSince(model: string, measuredAt: number): boolean;
  isCurrent(r: StoredResult): boolean;
}

/** The group a result belongs to: its baseline, or the model itself when it was benchmarked alone. */
export const groupOf = (r: StoredResult): string => r.baseline ?? r.model;

export function reportGroups(results: readonly StoredResult<BenchResult>[], ctx: GroupingContext): ReportGroup[] {
  const groups = new Map<string, Map<string, ReportPoint>>();
  const put = (group: string, p: ReportPoint) => {
    const points = groups.get(group) ?? new Map<string, ReportPoint>();
    groups.set(group, points);
    const had = points.get(p.model);
    if (!had || had.time <= p.time) points.set(p.model, p);
  };
  const point = (model: string, m: ModelResult, r: StoredResult<BenchResult>, isBaseline: boolean, stale: boolean): ReportPoint => ({
    model, label: ctx.label(model), bytes: m.bytes, top1: m.top1, latencyP50: m.latencyMs.p50, isBaseline, stale, time: r.time, n: r.result.n,
  });
  for (const r of results) {
    const group = groupOf(r);
    put(group, { ...point(r.model, r.result, r, r.model === group, !ctx.isCurrent(r)), ...(r.baseline ? { deltaTop1: r.result.delta?.top1 ?? null } : {}) });
    if (r.baseline && r.result.baseline) put(group, point(r.baseline, r.result.baseline, r, true, ctx.changedSince(r.baseline, r.time)));
  }
  return [...groups].map(([baseline, points]) => ({ baseline, label: ctx.label(baseline), points: [...points.values()] }))
    .sort((a, b) => a.label.localeCompare(b.label));
}
