// The tasks' settings (onnxLens.accuracyBudget, onnxLens.evaluationData, onnxLens.evaluationLabels, onnxLens.device,
// onnxLens.deviceProfiles) and the workspace-trust rule: running a model runs code from the workspace's files, so
// untrusted workspaces only view.
import * as vscode from 'vscode';

export const UNTRUSTED_MESSAGE = 'benchmarks are disabled in Restricted Mode: running a model executes its operators in '
  + 'onnxruntime on this machine, so ONNX Lens runs models only in a trusted workspace (viewing models works). '
  + 'Trust the workspace ("Workspaces: Manage Workspace Trust") to run it.';

/** False (after saying why, with a way to trust the workspace) in Restricted Mode, where nothing runs a model. */
export async function trustedOrRefuse(message = UNTRUSTED_MESSAGE): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = 'Manage Workspace Trust';
  if (await vscode.window.showErrorMessage(`ONNX Lens: ${message}`, manage) === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

const config = () => vscode.workspace.getConfiguration('onnxLens');

/** Allowed top-1 drop in percentage points. */
export function accuracyBudget(): number {
  const v = config().get<number>('accuracyBudget', 1.0);
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 1.0;
}

export function evaluationData(): string | undefined {
  return config().get<string>('evaluationData') || undefined;
}

export function evaluationLabels(): string | undefined {
  return config().get<string>('evaluationLabels') || undefined;
}

/** Remembered for this workspace (its .vscode/settings.json). */
export async function rememberEvaluationData(data: string, labels: string | undefined): Promise<void> {
  await config().update('evaluationData', data, vscode.ConfigurationTarget.Workspace);
  await config().update('evaluationLabels', labels, vscode.ConfigurationTarget.Workspace);
}

/** onnxLens.device: the device models are checked against, if chosen. */
export function chosenDevice(): string | undefined {
  return config().get<string>('device')?.trim() || undefined;
}

/** onnxLens.deviceProfiles as written (the CLI's --devices file holds the same list; core checks it). */
export function deviceProfilesSetting(): unknown[] {
  const v = config().get<unknown[]>('deviceProfiles', []);
  return Array.isArray(v) ? v : [];
}
