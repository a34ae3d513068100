// The editing commands of the ONNX Lens editor (package.json contributes them, category "ONNX Lens"): quantize,
// prune or keep in float the selected layers, the model-wide forms, export / apply a recipe, revert to the
// original, and the Ctrl+. quick pick of them. Every prompt has a default that Enter accepts; Escape cancels
// with nothing changed. Edits run with a cancellable progress notification.
import fs from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { exactSelector, keptInFloat, parseSparsity, recipeSteps, recipeYaml, type EditStep } from './editSteps';
import type { OnnxDocument } from './onnxDocument';
import type { OnnxEditorProvider } from './provider';
import { StepCancelled } from './stepRunner';
import { VIEW_TYPE } from './provider';

type ModelStep = Extract<EditStep, { kind: 'prune' | 'quantize' }>;

interface QuantizeChoice extends vscode.QuickPickItem { options: Record<string, unknown>; calibrated?: boolean }

const QUANTIZE_CHOICES: QuantizeChoice[] = [
  { label: 'int8 weights only', description: 'weights stored as int8, dequantized at run time', options: { mode: 'weight', bits: 8 } },
  { label: 'int4 weights only', description: 'weights stored as int4', options: { mode: 'weight', bits: 4 } },
  { label: 'dynamic int8', description: 'int8 MatMul/Gemm, activation scales at run time', options: { mode: 'dynamic' } },
  { label: 'static int8', description: 'int8 weights and activations (QDQ), calibrated on data', options: { mode: 'static' }, calibrated: true },
  { label: 'int4 weights, GPTQ', description: 'int4 weights rounded with each layer\'s calibration inputs (GPTQ)', options: { mode: 'weight', bits: 4, rounding: 'gptq' }, calibrated: true },
  { label: 'static W4A8, GPTQ', description: 'int4 weights (GPTQ) and int8 activations (QDQ), calibrated on data', options: { mode: 'static', bits: 4, rounding: 'gptq' }, calibrated: true },
];

interface PruneChoice extends vscode.QuickPickItem { options: Record<string, unknown>; calibrated?: boolean }

const pruneChoices = (perLayer: boolean): PruneChoice[] => [
  { label: 'magnitude', description: 'zero the smallest weights', options: perLayer ? { scope: 'layer' } : {} },
  { label: 'magnitude + reconstruct', description: 'then re-fit the pruned layers on calibration data', options: { ...(perLayer ? { scope: 'layer' } : {}), reconstruct: true }, calibrated: true },
  { label: 'structured channels', description: 'remove whole output channels', options: { structured: true } },
  {
    label: 'structured channels, OBS', description: 'remove the output channels whose loss the re-fit next layers recover best (calibration data)',
    options: { structured: true, importance: 'obs', reconstruct: true }, calibrated: true,
  },
  {
    label: 'OBS (SparseGPT)', description: 'choose the weights by OBS saliency from calibration inputs, then re-fit the rest',
    options: { ...(perLayer ? { scope: 'layer' } : {}), method: 'obs', reconstruct: true }, calibrated: true,
  },
];

export function registerEditCommands(provider: OnnxEditorProvider): vscode.Disposable {
  const commands: Record<string, (arg?: unknown) => Promise<unknown>> = {
    'onnxLens.quantizeSelected': () => quantize(provider, true),
    'onnxLens.pruneSelected': () => prune(provider, true),
    'onnxLens.keepFloat': () => keepFloat(provider),
    'onnxLens.showHistogram': () => showHistogram(provider),
    'onnxLens.quantizeModel': () => quantize(provider, false),
    'onnxLens.pruneModel': () => prune(provider, false),
    'onnxLens.exportRecipe': () => exportRecipe(provider),
    'onnxLens.applyRecipe': (arg) => applyRecipe(provider, arg instanceof vscode.Uri ? arg : undefined),
    'onnxLens.revertToOriginal': () => revertToOriginal(provider),
    'onnxLens.quickActions': () => quickActions(provider),
  };
  return vscode.Disposable.from(...Object.entries(commands).map(([id, run]) => vscode.commands.registerCommand(id, (arg?: unknown) => run(arg).catch((e: Error) => {
    void vscode.window.showErrorMessage(`ONNX Lens: ${oneLine(e.message)}`);
  }))));
}

const oneLine = (s: string) => s.split('\n')[0];

/** The active editor's document, or `model` / a model the user picks (opened in the editor, once analysed). */
async function documentFor(provider: OnnxEditorProvider, model?: vscode.Uri): Promise<OnnxDocument | undefined> {
  const active = provider.activeDocument;
  if (active && (!model || active.uri.toString() === model.toString())) return active;
  const picked = model ? [model] : await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Open in ONNX Lens' });
  if (!picked?.[0]) return undefined;
  await vscode.commands.executeCommand('vscode.openWith', picked[0], VIEW_TYPE);
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const d: OnnxDocument | undefined = (provider as { activeDocument?: OnnxDocument }).activeDocument;
    if (d?.uri.toString() === picked[0].toString() && d.state.kind === 'ready') return d;
    if (d?.state.kind === 'failed') throw new Error(d.state.message);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${path.basename(picked[0].fsPath)} is still being analysed: run the command again when it is shown`);
}

/** The selected layers of the active editor; a message when there are none. */
function selectedLayers(document: OnnxDocument): string[] | undefined {
  if (document.selection.length) return document.selection;
  void vscode.window.showInformationMessage('ONNX Lens: select layers in the chart, table or graph first (click, Ctrl+click, Shift+click, Ctrl+A in the table).');
  return undefined;
}

const layersText = (layers: string[]) => (layers.length === 1 ? layers[0] : `${layers.length} layers`);

/** Calibration data: the one remembered for this workspace (Enter), or a picked file / folder (remembered). */
export async function calibrationData(): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('onnxLens');
  const remembered = config.get<string>('calibrationData');
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const resolved = remembered && root && !path.isAbsolute(remembered) ? path.join(root, remembered) : remembered;
  if (resolved) {
    const choose = 'Choose other data…';
    const pick = await vscode.window.showQuickPick([{ label: resolved, description: 'onnxLens.calibrationData' }, { label: choose }], {
      title: 'Calibration data', ignoreFocusOut: true, placeHolder: 'Images (a folder) or a preprocessed .npy tensor',
    });
    if (!pick) return undefined;
    if (pick.label !== choose) return resolved;
  }
  const picked = await vscode.window.showOpenDialog({
    title: 'Calibration data: a folder of images or a .npy file', canSelectFiles: true, canSelectFolders: true, canSelectMany: false,
    openLabel: 'Use for calibration', defaultUri: root ? vscode.Uri.file(root) : undefined,
  });
  const data = picked?.[0]?.fsPath;
  if (!data) return undefined;
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update('calibrationData', root && !path.relative(root, data).startsWith('..') ? path.relative(root, data) || '.' : data, target);
  return data;
}

async function quantize(provider: OnnxEditorProvider, selected: boolean): Promise<void> {
  const document = await documentFor(provider);
  if (!document) return;
  const layers = selected ? selectedLayers(document) : [];
  if (!layers) return;
  const choice = await vscode.window.showQuickPick(QUANTIZE_CHOICES, {
    title: selected ? `Quantize ${layersText(layers)}` : 'Quantize the model', ignoreFocusOut: true, placeHolder: 'How to quantize (Enter: int8 weights only)',
  });
  if (!choice) return;
  const calibration = choice.calibrated ? await calibrationData() : undefined;
  if (choice.calibrated && !calibration) return;
  const options: Record<string, unknown> = { ...choice.options };
  if (selected) options.layers = layers.map(exactSelector);
  else {
    const kept = keptInFloat(document.steps);
    if (kept.length) options.exclude = kept.map(exactSelector);
  }
  await runEdit(provider, document, { kind: 'quantize', options, calibration, label: `Quantize ${selected ? layersText(layers) : 'model'}: ${choice.label}` });
}

async function prune(provider: OnnxEditorProvider, selected: boolean): Promise<void> {
  const document = await documentFor(provider);
  if (!document) return;
  const layers = selected ? selectedLayers(document) : [];
  if (!layers) return;
  const text = await vscode.window.showInputBox({
    title: selected ? `Prune ${layersText(layers)}` : 'Prune the model', ignoreFocusOut: true,
    prompt: 'Sparsity: the fraction of weights (or channels) to remove, e.g. 50% or 0.5', value: '50%',
    validateInput: (v) => (parseSparsity(v) === undefined ? 'A sparsity between 0% and 100%, e.g. 50%' : undefined),
  });
  if (text === undefined) return;
  const sparsity = parseSparsity(text)!;
  const choice = await vscode.window.showQuickPick(pruneChoices(selected), { title: `Prune to ${Math.round(sparsity * 1000) / 10}%`, ignoreFocusOut: true, placeHolder: 'Method (Enter: magnitude)' });
  if (!choice) return;
  const calibration = choice.calibrated ? await calibrationData() : undefined;
  if (choice.calibrated && !calibration) return;
  const options: Record<string, unknown> = { sparsity, ...choice.options };
  if (selected) options.layers = layers.map(exactSelector);
  await runEdit(provider, document, { kind: 'prune', options, calibration, label: `Prune ${selected ? layersText(layers) : 'model'} to ${Math.round(sparsity * 1000) / 10}% (${choice.label})` });
}

async function keepFloat(provider: OnnxEditorProvider): Promise<void> {
  const document = await documentFor(provider);
  const layers = document && selectedLayers(document);
  if (!document || !layers) return;
  await document.edit({ kind: 'keepFloat', layers, label: `Keep ${layersText(layers)} in float` });
  void vscode.window.showInformationMessage(`ONNX Lens: Quantize Model will leave ${layersText(layers)} in float.`);
}

async function showHistogram(provider: OnnxEditorProvider): Promise<void> {
  const document = await documentFor(provider);
  const layers = document && selectedLayers(document);
  if (!document || !layers) return;
  provider.reveal(document);
  provider.notify(document, { type: 'showHistogram', layer: layers[0] });
}

async function revertToOriginal(provider: OnnxEditorProvider): Promise<void> {
  const document = await documentFor(provider);
  if (!document) return;
  if (!document.steps.length) { void vscode.window.showInformationMessage('ONNX Lens: the model has no edits.'); return; }
  await document.edit({ kind: 'revertToOriginal', label: 'Revert to original' });
}

/** Runs one edit under a cancellable progress notification; a failure or cancel says why in one line. */
export async function runEdit(provider: OnnxEditorProvider, document: OnnxDocument, step: EditStep): Promise<boolean> {
  const controller = new AbortController();
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ONNX Lens: ${step.label}`, cancellable: true }, async (progress, token) => {
      token.onCancellationRequested(() => controller.abort());
      let done = 0;
      await document.edit(step, controller.signal, (p) => {
        // The editor runs one-step recipes: the step's own fraction is the whole edit's.
        const fraction = p.fraction === undefined ? undefined : Math.min(1, Math.max(0, p.fraction));
        const increment = fraction === undefined ? undefined : Math.max(0, fraction * 100 - done);
        if (fraction !== undefined) done = fraction * 100;
        progress.report({ message: p.message, increment });
      });
    });
    provider.reveal(document);
    return true;
  } catch (e) {
    if (e instanceof StepCancelled || controller.signal.aborted) void vscode.window.showInformationMessage(`ONNX Lens: ${step.label} was cancelled; the model is unchanged.`);
    else void vscode.window.showErrorMessage(`ONNX Lens: ${step.label} failed: ${oneLine((e as Error).message)}`);
    return false;
  }
}

async function exportRecipe(provider: OnnxEditorProvider): Promise<void> {
  const document = await documentFor(provider);
  if (!document) return;
  const steps = recipeSteps(document.steps);
  if (!steps.length) { void vscode.window.showInformationMessage('ONNX Lens: the model has no edits to export.'); return; }
  const model = document.uri.fsPath;
  const base = model.replace(/\.onnx$/i, '');
  const dest = await vscode.window.showSaveDialog({ title: 'Export the edits as a recipe', defaultUri: vscode.Uri.file(`${base}.onnxlens.yaml`), filters: { 'ONNX Lens recipe': ['yaml'] } });
  if (!dest) return;
  await vscode.workspace.fs.writeFile(dest, new TextEncoder().encode(recipeYaml(steps, model, dest.fsPath, `${base}.edited.onnx`)));
  void vscode.window.showInformationMessage(`ONNX Lens: wrote ${steps.length} step${steps.length === 1 ? '' : 's'} to ${path.basename(dest.fsPath)}.`);
}

/** A recipe's steps as edits (selectors kept verbatim; calibration data resolved against the recipe's folder). */
export function stepsOfRecipe(text: string, file: string): ModelStep[] {
  const doc = parse(text) as { steps?: unknown; calibration?: { data?: unknown } } | null;
  if (!doc || !Array.isArray(doc.steps)) throw new Error(`${path.basename(file)} has no steps list`);
  const dir = path.dirname(file);
  const data = typeof doc.calibration?.data === 'string' ? path.resolve(dir, doc.calibration.data) : undefined;
  return doc.steps.map((s, i) => {
    const entries = s && typeof s === 'object' ? Object.entries(s as Record<string, unknown>) : [];
    const [kind, options] = entries[0] ?? [];
    if (entries.length !== 1 || (kind !== 'prune' && kind !== 'quantize')) throw new Error(`${path.basename(file)}: step ${i + 1} is not a one-key prune: or quantize: map`);
    const opts = (options ?? {}) as Record<string, unknown>;
    const needsData = kind === 'quantize' ? opts.mode === 'static' || opts.rounding === 'gptq' : !!(opts.reconstruct || opts.distillHead || opts.search || opts.importance === 'activation' || opts.importance === 'obs' || opts.biasCorrection || opts.method === 'obs');
    return { kind, options: opts, calibration: needsData ? data : undefined, label: `Recipe step ${i + 1}: ${kind}` };
  });
}

/**
 * Applies a recipe's steps as edits (one undo step each). Given a recipe (the recipe's CodeLens passes its URI),
 * to the model it names, opened in the editor; otherwise a picked recipe to the active model.
 */
async function applyRecipe(provider: OnnxEditorProvider, recipe?: vscode.Uri): Promise<void> {
  let document: OnnxDocument | undefined;
  let file = recipe?.fsPath;
  if (file) {
    const text = await fs.readFile(file, 'utf8');
    const model = (parse(text) as { model?: unknown } | null)?.model;
    if (typeof model !== 'string') throw new Error(`${path.basename(file)} names no model`);
    document = await documentFor(provider, vscode.Uri.file(path.resolve(path.dirname(file), model)));
  } else {
    document = await documentFor(provider);
    if (!document) return;
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    const picked = await vscode.window.showOpenDialog({ title: 'Apply a recipe to this model', canSelectMany: false, filters: { 'ONNX Lens recipe': ['yaml', 'yml'] }, defaultUri: root, openLabel: 'Apply' });
    file = picked?.[0]?.fsPath;
  }
  if (!document || !file) return;
  const steps = stepsOfRecipe(await fs.readFile(file, 'utf8'), file);
  for (const step of steps) if (!(await runEdit(provider, document, step))) return;
}

interface Action extends vscode.QuickPickItem { command: string }

async function quickActions(provider: OnnxEditorProvider): Promise<void> {
  const document = provider.activeDocument;
  const n = document?.selection.length ?? 0;
  const items: Action[] = [
    ...(n ? [
      { label: 'Quantize Selected Layers…', description: layersText(document!.selection), command: 'onnxLens.quantizeSelected' },
      { label: 'Prune Selected Layers…', description: layersText(document!.selection), command: 'onnxLens.pruneSelected' },
      { label: 'Keep Selected Layers in Float', command: 'onnxLens.keepFloat' },
      { label: 'Show Histogram', description: document!.selection[0], command: 'onnxLens.showHistogram' },
    ] : []),
    { label: 'Quantize Model…', command: 'onnxLens.quantizeModel' },
    { label: 'Prune Model…', command: 'onnxLens.pruneModel' },
    { label: 'Apply Recipe…', command: 'onnxLens.applyRecipe' },
    { label: 'Export Recipe…', command: 'onnxLens.exportRecipe' },
    { label: 'Revert to Original', command: 'onnxLens.revertToOriginal' },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'ONNX Lens actions', ignoreFocusOut: true, placeHolder: n ? `On ${layersText(document!.selection)}` : 'No layers selected: actions on the model' });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
