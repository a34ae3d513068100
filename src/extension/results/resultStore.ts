// Measured results per workspace (DESIGN.md "Benchmark task and Problems"): each run of bench, sensitivity,
// profile, fit or plan is kept with the size and mtime of the model it measured, so views can show the latest
// result for a model, tell whether it is still current, and plot every variant ever benchmarked.
import fs from 'node:fs';
import * as vscode from 'vscode';

export type ResultKind = 'bench' | 'sensitivity' | 'profile' | 'fit' | 'plan';

export interface StoredResult<T = unknown> {
  kind: ResultKind;
  /** absolute path of the model the result is about */
  model: string;
  /** absolute path of the baseline it was measured against, if any */
  baseline?: string;
  /** the model file's size and mtime when it was measured (a result whose file changed is stale) */
  bytes: number;
  mtimeMs: number;
  /** when it was measured (ms since the epoch) */
  time: number;
  /** the CLI's --json output */
  result: T;
}

const KEY = 'onnxLens.results';
/** results kept per workspace, oldest dropped first */
const LIMIT = 200;

export class ResultStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<StoredResult>();
  /** fires after a result is added, with that result */
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  /** Keeps `result` for `model` (stat'ed now); replaces an earlier one of the same kind, model and baseline. */
  async add<T>(kind: ResultKind, model: string, result: T, baseline?: string): Promise<StoredResult<T>> {
    const stat = await fs.promises.stat(model);
    const entry: StoredResult<T> = { kind, model, baseline, bytes: stat.size, mtimeMs: stat.mtimeMs, time: Date.now(), result };
    const kept = this.all().filter((r) => !(r.kind === kind && r.model === model && r.baseline === baseline));
    await this.state.update(KEY, [...kept, entry].slice(-LIMIT));
    this.changed.fire(entry);
    return entry;
  }

  /** Every kept result (of `kind`), oldest first. */
  all(kind?: ResultKind): StoredResult[] {
    const list = this.state.get<StoredResult[]>(KEY, []);
    return kind ? list.filter((r) => r.kind === kind) : list;
  }

  /** The newest result of `kind` for `model` that is still current (the file unchanged since), if any. */
  latest<T>(kind: ResultKind, model: string): StoredResult<T> | undefined {
    const found = this.all(kind).filter((r) => r.model === model).sort((a, b) => b.time - a.time);
    return found.find(isCurrent) as StoredResult<T> | undefined;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Whether the model file is still the bytes the result measured (same size and mtime). */
export function isCurrent(r: StoredResult): boolean {
  try {
    const stat = fs.statSync(r.model);
    return stat.size === r.bytes && stat.mtimeMs === r.mtimeMs;
  } catch {
    return false;
  }
}
