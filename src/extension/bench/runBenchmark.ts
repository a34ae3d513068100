// "ONNX Lens: Run Benchmark" (onnxLens.runBenchmark): benchmarks the model of the active editor (or a picked one)
// against a baseline, as an `onnx-lens` task with a cancellable progress notification. With unsaved edits the
// edited model is written to a temporary file and measured against the file on disk.
import path from 'node:path';
import * as vscode from 'vscode';
import { createBenchTask, type BenchTaskContext, type BenchTaskHooks } from './benchTask';
import { evaluationData, evaluationLabels, rememberEvaluationData, trustedOrRefuse } from './benchSettings';
import { TASK_TYPE, type OnnxLensTaskDefinition } from './taskDefinition';
import { withTemporaryModel } from '../editor/temporaryModel';

/** Access to the current (possibly edited) bytes of a model open in the ONNX Lens editor. */
export interface EditedModels {
  /** the document's current bytes, or undefined when `uri` is not open with edits this can read */
  currentBytes(uri: vscode.Uri): Promise<Uint8Array> | undefined;
}

export function registerRunBenchmark(context: BenchTaskContext, edited?: EditedModels): vscode.Disposable {
  return vscode.commands.registerCommand('onnxLens.runBenchmark', (uri?: vscode.Uri) => runBenchmark(context, edited, uri instanceof vscode.Uri ? uri : undefined));
}

/**
 * The model a command runs on — `given`, the active editor's, or picked — and its workspace folder; undefined (after
 * saying why, for `command`) in Restricted Mode, without a workspace folder, or when the user cancels.
 */
export async function modelToRun(command: string, given: vscode.Uri | undefined, pickLabel: string): Promise<{ model: vscode.Uri; folder: vscode.WorkspaceFolder } | undefined> {
  if (!(await trustedOrRefuse())) return undefined;
  const model = given ?? activeModelTab()?.uri ?? (await pickFile(pickLabel));
  if (!model) return undefined;
  const folder = vscode.workspace.getWorkspaceFolder(model) ?? vscode.workspace.workspaceFolders?.[0];
  if (!folder) void vscode.window.showErrorMessage(`ONNX Lens: ${command} needs an open folder (results and settings are kept per workspace).`);
  return folder && { model, folder };
}

async function runBenchmark(context: BenchTaskContext, edited: EditedModels | undefined, given: vscode.Uri | undefined): Promise<void> {
  const target = await modelToRun('Run Benchmark', given, 'Benchmark this model');
  if (!target) return;
  const { model, folder } = target;
  const active = activeModelTab();
  const name = path.basename(model.fsPath);
  const dirty = active?.uri.toString() === model.toString() && active.isDirty;

  const bench = async (measured: string, baseline: string | undefined): Promise<void> => {
    const data = await evaluationSet(folder);
    if (!data) return;
    const definition: OnnxLensTaskDefinition = { type: TASK_TYPE, command: 'bench', model: measured, data: data.data, ...(data.labels ? { labels: data.labels } : {}), ...(baseline ? { baseline } : {}) };
    await runAsTask(context, definition, folder, { title: `ONNX Lens: benchmarking ${name}`, name: `bench ${name}`, hooks: { diagnosticUri: model } });
  };
  const bytes = dirty ? edited?.currentBytes(model) : undefined;
  // The edited model against the file as saved.
  if (bytes) return withTemporaryModel(name, await bytes, (copy) => bench(copy, model.fsPath));
  const choice = await askBaseline(model);
  if (choice === 'cancel') return;
  await bench(model.fsPath, choice?.fsPath);
}

/** The model of the active editor tab (the ONNX Lens editor or any editor of an .onnx file) and its dirty state. */
function activeModelTab(): { uri: vscode.Uri; isDirty: boolean } | undefined {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
  const input = tab?.input;
  const uri = input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText ? input.uri : undefined;
  return uri && uri.path.toLowerCase().endsWith('.onnx') ? { uri, isDirty: tab!.isDirty } : undefined;
}

async function pickFile(openLabel: string, defaultUri?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel, defaultUri });
  return picked?.[0];
}

/** undefined = no baseline, 'cancel' = the user dismissed the question. */
async function askBaseline(model: vscode.Uri): Promise<vscode.Uri | undefined | 'cancel'> {
  const none = { label: 'No baseline', description: 'accuracy, latency and size of this model alone' };
  const pick = { label: 'Pick a baseline model…', description: 'e.g. the uncompressed original: top-1 change, agreement, latency and size ratios' };
  const choice = await vscode.window.showQuickPick([pick, none], { title: `Benchmark ${path.basename(model.fsPath)} against`, ignoreFocusOut: true });
  if (!choice) return 'cancel';
  if (choice === none) return undefined;
  return (await pickFile('Use as baseline', vscode.Uri.joinPath(model, '..'))) ?? 'cancel';
}

/** The evaluation data (and labels) from the settings, or asked once and remembered for the workspace. */
export async function evaluationSet(folder: vscode.WorkspaceFolder): Promise<{ data: string; labels?: string } | undefined> {
  const stored = evaluationData();
  if (stored) return { data: path.resolve(folder.uri.fsPath, stored), labels: evaluationLabels() && path.resolve(folder.uri.fsPath, evaluationLabels()!) };
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true, canSelectFolders: true, canSelectMany: false, defaultUri: folder.uri,
    title: 'Evaluation data: a folder of class folders of images, a flat image folder, or a float32 .npy (remembered for this workspace)',
    openLabel: 'Use as evaluation data',
  });
  const data = picked?.[0]?.fsPath;
  if (!data) return undefined;
  let labels: string | undefined;
  if (data.toLowerCase().endsWith('.npy')) {
    const pickLabels = { label: 'Pick labels (.npy, int64 [N])…' };
    const noLabels = { label: 'No labels', description: 'agreement with the baseline only, no top-1' };
    const choice = await vscode.window.showQuickPick([pickLabels, noLabels], { title: `Labels for ${path.basename(data)}`, ignoreFocusOut: true });
    if (!choice) return undefined;
    if (choice === pickLabels) {
      labels = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'NumPy arrays': ['npy'] }, defaultUri: vscode.Uri.file(path.dirname(data)), openLabel: 'Use as labels' }))?.[0]?.fsPath;
      if (!labels) return undefined;
    }
  }
  const relative = (f: string) => {
    const r = path.relative(folder.uri.fsPath, f);
    return r.startsWith('..') || path.isAbsolute(r) ? f : r;
  };
  await rememberEvaluationData(relative(data), labels && relative(labels));
  return { data, labels };
}

/** Runs the definition as a task, following it in a cancellable notification until the task ends; false if it failed. */
export async function runAsTask(context: BenchTaskContext, definition: OnnxLensTaskDefinition, folder: vscode.WorkspaceFolder,
  run: { title: string; name: string; hooks?: BenchTaskHooks }): Promise<boolean> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: run.title, cancellable: true }, async (progress, token) => {
    let reported = 0;
    let failure: string | undefined;
    const task = createBenchTask(definition, folder, run.name, context, {
      ...run.hooks,
      onProgress: (p, eta) => {
        const percent = Math.round(100 * p.fraction);
        const counts = p.done !== undefined && p.total !== undefined ? ` ${p.done}/${p.total}` : '';
        progress.report({ increment: Math.max(0, percent - reported), message: `${p.phase ?? p.message}${counts}${eta !== undefined ? ` · about ${eta} s left` : ''}` });
        reported = Math.max(reported, percent);
        run.hooks?.onProgress?.(p, eta);
      },
      onError: (message) => {
        failure = message;
        run.hooks?.onError?.(message);
      },
    });
    const execution = await vscode.tasks.executeTask(task);
    await new Promise<void>((resolve) => {
      const ended = vscode.tasks.onDidEndTask((e) => {
        if (e.execution !== execution) return;
        ended.dispose();
        resolve();
      });
      token.onCancellationRequested(() => execution.terminate());
    });
    if (failure) void vscode.window.showErrorMessage(`ONNX Lens: ${failure}`);
    return !failure;
  });
}
