// Side-by-side comparison of two versions of a model: the reports' comparison (../analysis/compare.ts) and, given
// data, how far their outputs agree (this part runs onnxruntime, so the extension host never imports it).
import type { ReportComparison } from '../analysis/compare';
import type { Dataset } from './datasets';
import { agreement, maxAbsDiff, topKAccuracy } from './metrics';
import { runModel, type ModelSession } from './runner';

export { compareReports, type LayerDiff, type LayerSide, type ModelTotals, type ReportComparison } from '../analysis/compare';

export interface OutputComparison {
  n: number;
  /** fraction of samples where both models predict the same class */
  agreement: number;
  maxAbsDiff: number;
  /** with labelled data */
  top1?: { a: number; b: number };
}

export interface ModelComparison extends ReportComparison {
  outputs?: OutputComparison;
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
