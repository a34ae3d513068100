// Runs inside the VS Code extension host (loaded by @vscode/test-electron as extensionTestsPath): checks that
// the extension activates, contributes its command, and opens a workspace model in the ONNX Lens editor.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const EXTENSION_ID = 'onnx-lens.onnx-lens';

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is loaded`);
  await extension.activate();
  assert.ok((await vscode.commands.getCommands(true)).includes('onnxLens.openModel'), 'onnxLens.openModel is registered');

  const [model] = await vscode.workspace.findFiles('small-net.onnx');
  assert.ok(model, 'the workspace holds small-net.onnx');
  await vscode.commands.executeCommand('vscode.open', model);
  const tab = await until('the model tab', 30_000, () => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    return input instanceof vscode.TabInputCustom ? input : undefined;
  });
  assert.equal(tab.viewType, 'onnxLens.editor', '*.onnx opens in the ONNX Lens editor by default');
  assert.equal(tab.uri.toString(), model.toString());
}
