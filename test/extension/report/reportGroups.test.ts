// Tests src/extension/report/reportGroups.ts: stored bench results become points grouped by baseline, the newest
// measurement of a model wins, and staleness comes from the model's own stat or the baseline's change since the run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchResult, ModelResult } from '../../../src/core/eval/benchmark';
import { reportGroups, type GroupingContext } from '../../../src/extension/report/reportGroups';
import type { StoredResult } from '../../../src/extension/results/resultStore';

const model = (file: string, bytes: number, top1: number, p50: number): ModelResult => ({ model: file, bytes, top1, top5: null, latencyMs: { p50, p95: p50 } as ModelResult['latencyMs'] });

function bench(file: string, time: number, m: ModelResult, base?: ModelResult & { file: string }): StoredResult<BenchResult> {
  const result: BenchResult = { ...m, n: 100 };
  if (base) {
    result.baseline = base;
    result.delta = { top1: (m.top1! - base.top1!) * 100, top5: null, latencyRatio: 1, sizeRatio: m.bytes / base.bytes, agreement: 1, maxAbsDiff: 0 };
  }
  return { kind: 'bench', model: file, baseline: base?.file, bytes: m.bytes, mtimeMs: 0, time, result };
}

const ctx = (stale: { current?: string[]; changedAfter?: Record<string, number> } = {}): GroupingContext => ({
  label: (p) => p.replace('/w/', ''),
  isCurrent: (r) => !stale.current || stale.current.includes(r.model),
  changedSince: (p, at) => (stale.changedAfter?.[p] ?? -Infinity) > at,
});

test('a bench run against a baseline gives two points in the baseline\'s group; a run alone is its own group', () => {
  const base = { ...model('/w/m.onnx', 4000, 0.99, 2), file: '/w/m.onnx' };
  const groups = reportGroups([
    bench('/w/m.int8.onnx', 10, model('/w/m.int8.onnx', 1000, 0.985, 2.5), base),
    bench('/w/other.onnx', 11, model('/w/other.onnx', 500, 0.9, 1)),
  ], ctx());
  assert.deepEqual(groups.map((g) => [g.baseline, g.label, g.points.map((p) => [p.label, p.bytes, p.top1, p.latencyP50, p.isBaseline])]), [
    ['/w/m.onnx', 'm.onnx', [['m.int8.onnx', 1000, 0.985, 2.5, false], ['m.onnx', 4000, 0.99, 2, true]]],
    ['/w/other.onnx', 'other.onnx', [['other.onnx', 500, 0.9, 1, true]]],
  ]);
  const int8 = groups[0].points[0];
  assert.ok(Math.abs(int8.deltaTop1! - -0.5) < 1e-9, `Δ ${int8.deltaTop1}`);
  assert.equal(groups[0].points[1].deltaTop1, undefined, 'the baseline has no Δ');
});

test('the newest measurement of a model in a group wins (the baseline measured twice)', () => {
  const baseOld = { ...model('/w/m.onnx', 4000, 0.99, 2), file: '/w/m.onnx' };
  const baseNew = { ...model('/w/m.onnx', 4000, 0.99, 1.7), file: '/w/m.onnx' };
  const [g] = reportGroups([
    bench('/w/a.onnx', 10, model('/w/a.onnx', 1000, 0.98, 2.5), baseOld),
    bench('/w/b.onnx', 20, model('/w/b.onnx', 2000, 0.97, 1.2), baseNew),
  ], ctx());
  assert.deepEqual(g.points.map((p) => [p.label, p.latencyP50, p.time]), [['a.onnx', 2.5, 10], ['m.onnx', 1.7, 20], ['b.onnx', 1.2, 20]]);
});

test('stale: a variant whose file changed (store stat), a baseline changed after the run', () => {
  const base = { ...model('/w/m.onnx', 4000, 0.99, 2), file: '/w/m.onnx' };
  const [g] = reportGroups([
    bench('/w/a.onnx', 10, model('/w/a.onnx', 1000, 0.98, 2.5), base),
    bench('/w/b.onnx', 20, model('/w/b.onnx', 2000, 0.97, 1.2), base),
  ], ctx({ current: ['/w/b.onnx'], changedAfter: { '/w/m.onnx': 15 } }));
  assert.deepEqual(g.points.map((p) => [p.label, p.stale]), [['a.onnx', true], ['m.onnx', false], ['b.onnx', false]],
    'the baseline changed at 15, after the first run and before the second, whose measurement is the one shown');
});
