// The "onnx-lens" DiagnosticCollection of benchmark results: one diagnostic per model file, removed as soon as the
// result goes stale — the file changes on disk (a save included), or its editor gets unsaved edits.
import * as vscode from 'vscode';
import { benchVerdict, type BenchJson, type Severity } from './benchVerdict';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  information: vscode.DiagnosticSeverity.Information,
};

export class BenchDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('onnx-lens');
  /** a watcher per model file that has a result */
  private readonly watchers = new Map<string, vscode.Disposable>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(modelEdits?: vscode.Event<vscode.Uri>) {
    if (modelEdits) this.disposables.push(modelEdits((uri) => this.clear(uri)));
    // An edit in the ONNX Lens editor marks its tab dirty; the result was measured on other bytes.
    this.disposables.push(vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of e.changed) {
        const input = tab.input;
        if (tab.isDirty && (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText)) this.clear(input.uri);
      }
    }));
  }

  /** Shows the verdict of `result` on `model` (the file the result is about); returns it. */
  set(model: vscode.Uri, result: BenchJson, budgetPp: number): vscode.Diagnostic {
    const verdict = benchVerdict(result, budgetPp);
    const diagnostic = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), verdict.message, SEVERITY[verdict.severity]);
    diagnostic.source = 'onnx-lens';
    diagnostic.code = 'benchmark';
    this.collection.set(model, [diagnostic]);
    this.watch(model);
    return diagnostic;
  }

  clear(model: vscode.Uri): void {
    this.collection.delete(model);
    this.watchers.get(model.toString())?.dispose();
    this.watchers.delete(model.toString());
  }

  get(model: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.collection.get(model) ?? [];
  }

  private watch(model: vscode.Uri): void {
    const key = model.toString();
    if (this.watchers.has(key)) return;
    const folder = vscode.Uri.joinPath(model, '..');
    const name = model.path.split('/').pop()!;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, name.replace(/[[\]{}*?]/g, '[$&]')));
    const stale = () => this.clear(model);
    watcher.onDidChange(stale);
    watcher.onDidCreate(stale);
    watcher.onDidDelete(stale);
    this.watchers.set(key, watcher);
  }

  dispose(): void {
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    for (const d of this.disposables) d.dispose();
  }
}
