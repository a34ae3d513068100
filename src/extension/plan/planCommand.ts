// "ONNX Lens: Plan Compression Within Budget…" (onnxLens.planCompression): for the model of the active editor (or a
// picked one) asks the top-1 budget, the evaluation data and the calibration data, runs the `plan` task, and opens the
// recipe it wrote (<model>.plan.onnxlens.yaml next to the model) beside the editor.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { accuracyBudget } from '../bench/benchSettings';
import type { BenchTaskContext } from '../bench/benchTask';
import { evaluationSet, modelToRun, runAsTask } from '../bench/runBenchmark';
import { TASK_TYPE, type OnnxLensTaskDefinition } from '../bench/taskDefinition';
import { calibrationData } from '../editor/editCommands';

export function registerPlanCommand(context: BenchTaskContext): vscode.Disposable {
  return vscode.commands.registerCommand('onnxLens.planCompression', (uri?: vscode.Uri) => planCompression(context, uri instanceof vscode.Uri ? uri : undefined));
}

/** `<model>.plan.onnxlens.yaml` next to the model. */
export function planRecipePath(model: string): string {
  return path.join(path.dirname(model), `${path.parse(model).name}.plan.onnxlens.yaml`);
}

async function planCompression(context: BenchTaskContext, given: vscode.Uri | undefined): Promise<void> {
  const target = await modelToRun('Plan Compression', given, 'Plan compression for this model');
  if (!target) return;
  const { model, folder } = target;
  const name = path.basename(model.fsPath);
  const budgetText = await vscode.window.showInputBox({
    title: `Plan compression of ${name}: the largest allowed top-1 drop`, prompt: 'percentage points (the setting onnxLens.accuracyBudget by default)',
    value: String(accuracyBudget()), ignoreFocusOut: true,
    validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() !== '' && Number(v) >= 0 ? undefined : 'a number of percentage points ≥ 0, e.g. 1.0'),
  });
  if (budgetText === undefined) return;
  const data = await evaluationSet(folder);
  if (!data) return;
  const calib = await calibrationData();
  if (!calib) return;
  const recipe = await recipeDestination(model);
  if (!recipe) return;
  const definition: OnnxLensTaskDefinition = {
    type: TASK_TYPE, command: 'plan', model: model.fsPath, data: data.data, ...(data.labels ? { labels: data.labels } : {}),
    calib, output: recipe.fsPath, budget: Number(budgetText),
  };
  let planned = false;
  await runAsTask(context, definition, folder, {
    title: `ONNX Lens: planning ${name} within ${Number(budgetText)} pp`, name: `plan ${name}`,
    hooks: { onResult: () => { planned = true; } },
  });
  if (planned) await vscode.window.showTextDocument(recipe, { viewColumn: vscode.ViewColumn.Beside, preview: false });
}

/** The default recipe file, or — when it exists — what the user chooses: replace it, or another file. */
async function recipeDestination(model: vscode.Uri): Promise<vscode.Uri | undefined> {
  const file = planRecipePath(model.fsPath);
  if (!fs.existsSync(file)) return vscode.Uri.file(file);
  const replace = 'Replace';
  const other = 'Save As…';
  const choice = await vscode.window.showWarningMessage(`${path.basename(file)} exists. Replace it with the new plan?`, { modal: true }, replace, other);
  if (choice === replace) return vscode.Uri.file(file);
  if (choice !== other) return undefined;
  return vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(file), filters: { 'ONNX Lens recipes': ['yaml'] }, title: 'Write the plan to' });
}
