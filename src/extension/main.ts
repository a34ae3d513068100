// Extension entry point: wires the features together; each one registers itself in its own file.
import * as vscode from 'vscode';
import { registerBenchmark } from './bench/register';
import { registerEditorCommands } from './commands';
import { registerCompareCommand } from './compare/compareCommand';
import { registerEditCommands } from './editor/editCommands';
import { registerExportCommand } from './export/exportCommand';
import { OnnxEditorProvider } from './editor/provider';
import { registerProfileLatency } from './measure/profileLatency';
import { registerRecipeLanguage } from './recipe/recipeLanguage';
import { registerReport } from './report/reportPanel';
import { ResultStore } from './results/resultStore';
import { ModelStatusBar } from './statusBar';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('ONNX Lens');
  const statusBar = new ModelStatusBar();
  // measured results, shared by the benchmark task, the editor and the report view
  const results = new ResultStore(context.workspaceState);
  context.subscriptions.push(results);
  const editor = OnnxEditorProvider.register(context, statusBar, log, results);
  context.subscriptions.push(log, statusBar, editor.registration, registerEditorCommands(), registerEditCommands(editor.provider));
  context.subscriptions.push(registerRecipeLanguage(context, log));
  context.subscriptions.push(registerCompareCommand(context, log, editor.provider));
  context.subscriptions.push(registerProfileLatency(context, editor.provider, results, log));
  context.subscriptions.push(registerExportCommand(context, editor.provider, log));
  context.subscriptions.push(registerReport(context, log, results, editor.provider));
  context.subscriptions.push(registerBenchmark(context, log, {
    edited: { currentBytes: (uri) => editor.provider.currentBytes(uri) },
    modelEdits: (listener) => editor.provider.onDidChangeCustomDocument((e) => listener(e.document.uri)),
    results,
  }));
  // The e2e rig waits for this line before opening files (opening earlier races editor registration).
  log.appendLine('ONNX Lens activated');
}

export function deactivate(): void {}
