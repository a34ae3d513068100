// "ONNX Lens: Show Benchmark Report" (onnxLens.showReport): one panel per workspace plotting every benchmarked
// variant kept in the ResultStore (top-1 against size and against latency, the Pareto front marked), shown by the
// editor's webview bundle in its report mode. It follows the store and the model files live; a click on a point
// opens that model in the ONNX Lens editor.
import fs from 'node:fs';
import * as vscode from 'vscode';
import type { BenchResult } from '../../core/eval/benchmark';
import type { HostToWebview } from '../../protocol';
import { activeModel } from '../compare/compareCommand';
import { openBundlePanel, type BundlePanel } from '../editor/webviewPanel';
import { VIEW_TYPE as EDITOR_VIEW_TYPE, type OnnxEditorProvider } from '../editor/provider';
import { isCurrent, type ResultStore, type StoredResult } from '../results/resultStore';
import { groupOf, reportGroups } from './reportGroups';

export const REPORT_VIEW_TYPE = 'onnxLens.report';

export function registerReport(context: vscode.ExtensionContext, log: vscode.OutputChannel, results: ResultStore, editors: OnnxEditorProvider): vscode.Disposable {
  let open: BundlePanel | undefined;

  const message = (group?: string): HostToWebview => {
    const groups = reportGroups(results.all('bench') as StoredResult<BenchResult>[], {
      label: (model) => vscode.workspace.asRelativePath(model, false),
      changedSince: (model, at) => { try { return fs.statSync(model).mtimeMs > at; } catch { return true; } },
      isCurrent,
    });
    return { type: 'report', groups, ...(group ? { group } : {}) };
  };

  /** The group of the active editor's model: the one it is the baseline of, else the newest it was measured in. */
  const activeGroup = (): string | undefined => {
    const model = activeModel(editors)?.fsPath;
    if (!model) return undefined;
    const runs = results.all('bench').filter((r) => r.model === model || r.baseline === model).sort((a, b) => b.time - a.time);
    return runs.some((r) => groupOf(r) === model) ? model : runs[0] && groupOf(runs[0]);
  };

  const openModel = async (model: string) => {
    // Only the report's own points: a message from the webview is not a licence to open any path.
    const known = results.all('bench').some((r) => r.model === model || r.baseline === model);
    if (!known) { log.appendLine(`Report: ignored a request to open ${model}, which has no benchmark result`); return; }
    if (!fs.existsSync(model)) { void vscode.window.showErrorMessage(`ONNX Lens: ${vscode.workspace.asRelativePath(model, false)} no longer exists.`); return; }
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(model), EDITOR_VIEW_TYPE, { preview: false });
  };

  // The panel follows new results and changes of the model files (a changed file makes its results stale).
  let refresh: ReturnType<typeof setTimeout> | undefined;
  const refreshSoon = () => {
    if (!open || refresh) return;
    refresh = setTimeout(() => { refresh = undefined; open?.show(message()); }, 300);
  };
  const newResults = results.onDidChange((r) => { if (r.kind === 'bench' && open) open.show(message(groupOf(r))); });

  const command = vscode.commands.registerCommand('onnxLens.showReport', () => {
    if (open) {
      open.show(message(activeGroup()));
      open.panel.reveal();
      return;
    }
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
    const watching = [watcher, watcher.onDidChange(refreshSoon), watcher.onDidCreate(refreshSoon), watcher.onDidDelete(refreshSoon)];
    open = openBundlePanel(context, log, {
      viewType: REPORT_VIEW_TYPE, title: 'Benchmark Report', initial: message(activeGroup()),
      onEvent: (ev) => { if (ev.type === 'openModel') void openModel(ev.model); },
      onDispose: () => { open = undefined; for (const d of watching) d.dispose(); },
    });
    const points = results.all('bench').length;
    log.appendLine(`Report: showing ${points} benchmark result${points === 1 ? '' : 's'}`);
  });
  return vscode.Disposable.from(command, newResults, { dispose: () => { clearTimeout(refresh); open?.panel.dispose(); } });
}
