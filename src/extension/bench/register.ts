// The measuring feature: the `onnx-lens` task type (bench, sensitivity, fit, apply, plan), "ONNX Lens: Run
// Benchmark", "ONNX Lens: Plan Compression Within Budget…", and the results in Problems and the ResultStore.
import path from 'node:path';
import * as vscode from 'vscode';
import { registerPlanCommand } from '../plan/planCommand';
import type { ResultStore } from '../results/resultStore';
import { BenchDiagnostics } from './benchDiagnostics';
import { BenchTaskProvider } from './benchTask';
import { registerRunBenchmark, type EditedModels } from './runBenchmark';

export interface BenchmarkFeatureOptions {
  /** the ONNX Lens editor's current bytes, to benchmark unsaved edits */
  edited?: EditedModels;
  /** fires with a model's URI when its document is edited (its results go stale) */
  modelEdits?: vscode.Event<vscode.Uri>;
  /** where finished runs are kept */
  results?: ResultStore;
}

export function registerBenchmark(context: vscode.ExtensionContext, log: vscode.OutputChannel, opts: BenchmarkFeatureOptions = {}): vscode.Disposable {
  const diagnostics = new BenchDiagnostics(opts.modelEdits);
  const taskContext = { cliScript: path.join(context.extensionUri.fsPath, 'dist', 'cli.js'), diagnostics, results: opts.results, log };
  return vscode.Disposable.from(diagnostics, BenchTaskProvider.register(taskContext), registerRunBenchmark(taskContext, opts.edited), registerPlanCommand(taskContext));
}
