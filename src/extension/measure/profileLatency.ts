// "ONNX Lens: Profile Layer Latency" (onnxLens.profileLatency): runs `onnx-lens profile --json` on the active editor's
// model in a child process, with a cancellable progress notification. The file's profile goes to the ResultStore;
// with unsaved edits the current model is profiled from a temporary copy (kept in memory for that document, since the
// store keys by file) and the file on disk is profiled as its "before".
import path from 'node:path';
import * as vscode from 'vscode';
import { trustedOrRefuse } from '../bench/benchSettings';
import { runCli } from '../bench/cliProcess';
import { shapeArgs } from '../editor/inputShapes';
import { fixedInputShapes } from '../editor/shapePrompt';
import { withTemporaryModel } from '../editor/temporaryModel';
import type { OnnxEditorProvider } from '../editor/provider';
import type { ResultStore } from '../results/resultStore';
import { isProfileJson, type ProfileJson } from './measurementMarks';

export function registerProfileLatency(context: vscode.ExtensionContext, provider: OnnxEditorProvider, results: ResultStore, log: vscode.OutputChannel): vscode.Disposable {
  const cli = path.join(context.extensionUri.fsPath, 'dist', 'cli.js');
  return vscode.commands.registerCommand('onnxLens.profileLatency', () => profileLatency(cli, provider, results, log));
}

async function profileLatency(cli: string, provider: OnnxEditorProvider, results: ResultStore, log: vscode.OutputChannel): Promise<void> {
  if (!(await trustedOrRefuse())) return;
  const document = provider.activeDocument;
  const state = document?.state;
  if (!document || state?.kind !== 'ready') {
    void vscode.window.showErrorMessage('ONNX Lens: Profile Layer Latency profiles the model of the active ONNX Lens editor: open a model (and wait for its analysis) first.');
    return;
  }
  if (document.uri.scheme !== 'file') {
    void vscode.window.showErrorMessage(`ONNX Lens: ${path.basename(document.uri.path)} is not a local file: onnx-lens profile runs on files on this machine.`);
    return;
  }
  const file = document.uri.fsPath;
  const name = path.basename(file);
  const shapes = await fixedInputShapes(`Profile ${name}: input shapes`, 'onnxruntime runs the model at one size', state.analysis.report.model.inputs, state.inputShapes);
  if (!shapes) return;
  // Remembered by the editor (its MAC counts use them too); its analysis is then redone, so read the state again.
  if (shapes !== state.inputShapes) await document.setInputShapes(shapes);
  const ready = document.state;
  if (ready.kind !== 'ready') return;
  const edited = document.isDirty;
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ONNX Lens: profiling ${name}`, cancellable: true }, async (progress, token) => {
    // One run per model: the edited model (from a temporary copy) and then the file as saved, or the file alone.
    const runs = edited ? 2 : 1;
    let reported = 0;
    const profile = async (model: string, label: string, index: number): Promise<ProfileJson | undefined> => {
      const run = runCli(cli, ['profile', model, ...shapeArgs(shapes), '--json', '--progress-fd', '3'], {
        onProgress: (p) => {
          const percent = Math.round((100 * (index + Math.min(1, Math.max(0, p.fraction)))) / runs);
          progress.report({ increment: Math.max(0, percent - reported), message: runs > 1 ? `${label}: ${p.message}` : p.message });
          reported = Math.max(reported, percent);
        },
      });
      const cancel = token.onCancellationRequested(() => void run.stop());
      try {
        const outcome = await run.outcome;
        if (outcome.kind === 'stopped') return undefined;
        if (outcome.kind === 'failed') throw new Error(outcome.lastStderrLine || `onnx-lens profile exited with code ${outcome.code ?? outcome.signal}`);
        const json: unknown = JSON.parse(outcome.stdout);
        if (!isProfileJson(json)) throw new Error(`onnx-lens profile printed an unexpected result for ${label}`);
        return json;
      } finally {
        cancel.dispose();
      }
    };
    try {
      if (edited) {
        const analysis = ready.analysis;
        const bytes = await document.currentBytes();
        const after = await withTemporaryModel(name, bytes, (copy) => profile(copy, 'the edited model', 0));
        if (!after) return;
        provider.measurements.keepEditedProfile(document, analysis, after);
        provider.refreshMeasurements(document);
      }
      const saved = await profile(file, edited ? `${name} as saved` : name, edited ? 1 : 0);
      if (saved) await results.add('profile', file, saved);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.appendLine(`Profile Layer Latency of ${file} failed: ${message}`);
      void vscode.window.showErrorMessage(`ONNX Lens: profiling ${name} failed: ${message}`);
    }
  });
}
