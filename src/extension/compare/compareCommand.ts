// "ONNX Lens: Compare With…" (onnxLens.compareWith): from the Explorer with two .onnx files selected, from a model's
// context menu or editor (that model is A, B is asked for), or from the palette (A defaults to the active editor's model).
import path from 'node:path';
import * as vscode from 'vscode';
import type { OnnxEditorProvider } from '../editor/provider';
import { openComparePanel } from './comparePanel';

const isOnnx = (u: vscode.Uri) => u.path.toLowerCase().endsWith('.onnx');

export function registerCompareCommand(context: vscode.ExtensionContext, log: vscode.OutputChannel, editors: OnnxEditorProvider): vscode.Disposable {
  return vscode.commands.registerCommand('onnxLens.compareWith', async (uri?: unknown, uris?: unknown) => {
    const selected = Array.isArray(uris) ? uris.filter((u): u is vscode.Uri => u instanceof vscode.Uri && isOnnx(u)) : [];
    if (selected.length > 2) {
      void vscode.window.showErrorMessage(`ONNX Lens: select two models to compare (${selected.length} are selected).`);
      return;
    }
    if (selected.length === 2) { openComparePanel(context, log, selected[0], selected[1]); return; }
    const a = uri instanceof vscode.Uri && isOnnx(uri) ? uri : await pickModel('Compare: model A (e.g. the original)', activeModel(editors));
    if (!a) return;
    const b = await pickModel(`Compare ${path.basename(a.fsPath)} with: model B (e.g. the compressed one)`, undefined, a);
    if (b) openComparePanel(context, log, a, b);
  });
}

/** The model of the ONNX Lens editor in front, else of the last one active that is still open. */
export function activeModel(editors: OnnxEditorProvider): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom && isOnnx(input.uri)) return input.uri;
  return editors.activeDocument?.uri;
}

/** The folder of a model relative to the workspace ('' at its root), or its absolute folder outside it. */
function folderOf(uri: vscode.Uri): string {
  const dir = path.dirname(vscode.workspace.asRelativePath(uri, false));
  return dir === '.' ? '' : dir;
}

/** A quick pick of the workspace's models (`first` on top, `exclude` left out) and "Browse…" for any other file. */
async function pickModel(title: string, first?: vscode.Uri, exclude?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles('**/*.onnx', '**/node_modules/**', 500);
  const key = (u: vscode.Uri) => u.toString();
  const models = [...(first ? [first] : []), ...found.filter((u) => !first || key(u) !== key(first)).sort((x, y) => x.fsPath.localeCompare(y.fsPath))]
    .filter((u) => !exclude || key(u) !== key(exclude));
  const browse: { label: string; description: string; uri?: vscode.Uri } = { label: '$(folder-opened) Browse…', description: 'pick a model file' };
  const items = models.map((uri) => ({
    label: path.basename(uri.fsPath),
    description: [first && key(uri) === key(first) ? 'active editor' : '', folderOf(uri)].filter(Boolean).join(' · '),
    uri,
  }));
  const choice = items.length ? await vscode.window.showQuickPick([...items, browse], { title, placeHolder: 'a model in the workspace, or Browse…', matchOnDescription: true }) : browse;
  if (!choice) return undefined;
  if (choice.uri) return choice.uri;
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Compare', title, defaultUri: exclude && vscode.Uri.joinPath(exclude, '..'),
  });
  return picked?.[0];
}
