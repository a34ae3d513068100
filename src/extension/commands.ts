// Commands of the editor: "ONNX Lens: Open Model" opens a model (the given one, the active one, or a picked one).
import * as vscode from 'vscode';
import { VIEW_TYPE } from './editor/provider';

export function registerEditorCommands(): vscode.Disposable {
  return vscode.commands.registerCommand('onnxLens.openModel', async (uri?: vscode.Uri) => {
    const target = uri instanceof vscode.Uri ? uri : activeOnnxUri() ?? (await pickModel());
    if (target) await vscode.commands.executeCommand('vscode.openWith', target, VIEW_TYPE);
  });
}

function activeOnnxUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  return uri?.path.toLowerCase().endsWith('.onnx') ? uri : undefined;
}

async function pickModel(): Promise<vscode.Uri | undefined> {
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Open in ONNX Lens' });
  return picked?.[0];
}
