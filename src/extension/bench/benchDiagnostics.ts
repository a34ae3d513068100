// The "onnx-lens" DiagnosticCollection of measured results — a benchmark's verdict, per-layer sensitivity and device
// fit on a model file, measured steps on a recipe's lines — kept per file and per kind of result, so that a new run of
// one kind replaces only its own. Every result is removed as soon as it goes stale: the file it is on (or the model
// it measured) changes on disk (a save included), its editor gets unsaved edits, or a recipe's text is edited.
import * as vscode from 'vscode';
import type { Severity } from './benchVerdict';

/** The task commands whose results become diagnostics. */
export type DiagnosticKind = 'bench' | 'sensitivity' | 'fit' | 'apply';

export const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

/** A diagnostic from a verdict, marked with its source and kind (the Problems panel shows both). */
export function resultDiagnostic(kind: DiagnosticKind, range: vscode.Range, verdict: { severity: Severity; message: string }): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(range, verdict.message, SEVERITY[verdict.severity]);
  diagnostic.source = 'onnx-lens';
  diagnostic.code = kind === 'bench' ? 'benchmark' : kind;
  return diagnostic;
}

export class BenchDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('onnx-lens');
  /** per file with results: its diagnostics by kind, and the files whose change makes them stale */
  private readonly results = new Map<string, { uri: vscode.Uri; byKind: Map<DiagnosticKind, { diagnostics: vscode.Diagnostic[]; dependsOn: string[] }> }>();
  /** a watcher per file some result depends on */
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(modelEdits?: vscode.Event<vscode.Uri>) {
    if (modelEdits) this.disposables.push(modelEdits((uri) => this.stale(uri)));
    // An edit in the ONNX Lens editor marks its tab dirty; the result was measured on other bytes.
    this.disposables.push(vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of e.changed) {
        const input = tab.input;
        if (tab.isDirty && (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText)) this.stale(input.uri);
      }
    }));
    // A recipe edited since its steps were measured: the step lines may have moved, the steps changed.
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0 && this.results.has(e.document.uri.toString())) this.stale(e.document.uri);
    }));
  }

  /** Shows `diagnostics` of `kind` on `uri` (replacing that kind's earlier ones); stale when `uri` or a file of `dependsOn` changes. */
  set(kind: DiagnosticKind, uri: vscode.Uri, diagnostics: vscode.Diagnostic[], dependsOn: vscode.Uri[] = []): void {
    const key = uri.toString();
    const entry = this.results.get(key) ?? { uri, byKind: new Map() };
    entry.byKind.set(kind, { diagnostics, dependsOn: [uri, ...dependsOn].map((u) => u.toString()) });
    this.results.set(key, entry);
    this.show(entry);
    for (const file of [uri, ...dependsOn]) this.watch(file);
  }

  /** Removes every result on `uri` (or only those of `kind`). */
  clear(uri: vscode.Uri, kind?: DiagnosticKind): void {
    const key = uri.toString();
    const entry = this.results.get(key);
    if (!entry) return;
    if (kind) entry.byKind.delete(kind);
    else entry.byKind.clear();
    if (entry.byKind.size === 0) this.results.delete(key);
    this.show(entry);
    this.unwatchUnused();
  }

  get(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.collection.get(uri) ?? [];
  }

  /** `changed` is no longer what was measured: drop every result on it or measured from it. */
  private stale(changed: vscode.Uri): void {
    const key = changed.toString();
    for (const entry of [...this.results.values()]) {
      for (const [kind, r] of [...entry.byKind]) if (r.dependsOn.includes(key)) entry.byKind.delete(kind);
      if (entry.byKind.size === 0) this.results.delete(entry.uri.toString());
      this.show(entry);
    }
    this.unwatchUnused();
  }

  private show(entry: { uri: vscode.Uri; byKind: Map<DiagnosticKind, { diagnostics: vscode.Diagnostic[] }> }): void {
    const all = [...entry.byKind.values()].flatMap((r) => r.diagnostics);
    if (all.length) this.collection.set(entry.uri, all);
    else this.collection.delete(entry.uri);
  }

  private watch(file: vscode.Uri): void {
    const key = file.toString();
    if (this.watchers.has(key)) return;
    const folder = vscode.Uri.joinPath(file, '..');
    const name = file.path.split('/').pop()!;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, name.replace(/[[\]{}*?]/g, '[$&]')));
    const stale = () => this.stale(file);
    watcher.onDidChange(stale);
    watcher.onDidCreate(stale);
    watcher.onDidDelete(stale);
    this.watchers.set(key, watcher);
  }

  private unwatchUnused(): void {
    const used = new Set([...this.results.values()].flatMap((e) => [...e.byKind.values()].flatMap((r) => r.dependsOn)));
    for (const [key, watcher] of this.watchers) {
      if (used.has(key)) continue;
      watcher.dispose();
      this.watchers.delete(key);
    }
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    for (const d of this.disposables) d.dispose();
  }
}
