// Messages between the extension host and the analysis worker, carried by the same RpcEndpoint as the webview's.
import type { DeviceProfile } from '../../core/device/profiles';
import { isCompactGraph, isModelSummary, isPackedRows, type CompactGraph, type PackedReport } from '../../protocol';

export type ToWorker =
  /** parse and analyse: from `file` on disk, or from `bytes` (backups, non-file schemes); `dir` resolves external data */
  | { type: 'analyse'; file?: string; bytes?: Uint8Array; dir?: string; inputShapes?: Record<string, number[]> }
  /** analyse the model read by the last 'analyse' again, with other input shapes (nothing is read again) */
  | { type: 'reanalyse'; inputShapes: Record<string, number[]> }
  | { type: 'histogram'; layer: string; bins: number }
  /** the held model's fit on `device` (core/device/fit.ts) */
  | { type: 'fit'; device: DeviceProfile; inputShapes?: Record<string, number[]> };

export type FromWorker =
  | { type: 'progress'; phase: 'reading' | 'analysing'; message: string }
  /** the parsed graph's structure, before the (slower) layer analysis */
  | { type: 'structure'; graph: CompactGraph };

/** The report's layers come packed into columns, the form they are sent to the webview in (see packRows). */
export interface Analysis { report: PackedReport; graph: CompactGraph }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const isInputShapes = (v: unknown) => isObject(v) && Object.values(v).every((d) => Array.isArray(d) && d.every((x) => Number.isInteger(x) && x > 0));

export function isToWorker(v: unknown): v is ToWorker {
  if (!isObject(v)) return false;
  if (v.type === 'analyse') {
    return (typeof v.file === 'string' || v.bytes instanceof Uint8Array) && (v.dir === undefined || typeof v.dir === 'string') &&
      (v.inputShapes === undefined || isInputShapes(v.inputShapes));
  }
  if (v.type === 'reanalyse') return isInputShapes(v.inputShapes);
  if (v.type === 'fit') return isObject(v.device) && typeof v.device.name === 'string' && (v.inputShapes === undefined || isInputShapes(v.inputShapes));
  return v.type === 'histogram' && typeof v.layer === 'string' && Number.isInteger(v.bins) && (v.bins as number) > 0;
}

export function isFromWorker(v: unknown): v is FromWorker {
  if (!isObject(v)) return false;
  if (v.type === 'structure') return isCompactGraph(v.graph);
  return v.type === 'progress' && (v.phase === 'reading' || v.phase === 'analysing') && typeof v.message === 'string';
}

export function isAnalysis(v: unknown): v is Analysis {
  return isObject(v) && isObject(v.report) && isModelSummary(v.report.model) && isPackedRows(v.report.layers) && isCompactGraph(v.graph);
}
