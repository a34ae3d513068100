// Messages between the extension host and the analysis worker, carried by the same RpcEndpoint as the webview's.
import type { ModelReport } from '../../core/analysis/report';
import { isCompactGraph, isModelReport, type CompactGraph } from '../../protocol';

export type ToWorker =
  /** parse and analyse: from `file` on disk, or from `bytes` (backups, non-file schemes); `dir` resolves external data */
  | { type: 'analyse'; file?: string; bytes?: Uint8Array; dir?: string }
  | { type: 'histogram'; layer: string; bins: number };

export type FromWorker =
  | { type: 'progress'; phase: 'reading' | 'analysing'; message: string }
  /** the parsed graph's structure, before the (slower) layer analysis */
  | { type: 'structure'; graph: CompactGraph };

export interface Analysis { report: ModelReport; graph: CompactGraph }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function isToWorker(v: unknown): v is ToWorker {
  if (!isObject(v)) return false;
  if (v.type === 'analyse') {
    return (typeof v.file === 'string' || v.bytes instanceof Uint8Array) && (v.dir === undefined || typeof v.dir === 'string');
  }
  return v.type === 'histogram' && typeof v.layer === 'string' && Number.isInteger(v.bins) && (v.bins as number) > 0;
}

export function isFromWorker(v: unknown): v is FromWorker {
  if (!isObject(v)) return false;
  if (v.type === 'structure') return isCompactGraph(v.graph);
  return v.type === 'progress' && (v.phase === 'reading' || v.phase === 'analysing') && typeof v.message === 'string';
}

export function isAnalysis(v: unknown): v is Analysis {
  return isObject(v) && isModelReport(v.report) && isCompactGraph(v.graph);
}
