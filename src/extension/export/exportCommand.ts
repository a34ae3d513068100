// "ONNX Lens: Export for Microcontroller…" (onnxLens.exportForMicrocontroller): the model of the active editor (or the
// one picked in the Explorer) as a full-integer int8 .tflite for TensorFlow Lite Micro, by `onnx-lens export --json` in
// a child process with a cancellable progress notification; optionally a C header. Float models are calibrated first.
// The size is compared with the board of onnxLens.device; an edited document is exported as it is shown.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { DeviceProfileError, findAnyDevice, userDeviceProfiles } from '../../core/device/userProfiles';
import type { DeviceProfile } from '../../core/device/profiles';
import type { TensorSignature } from '../../core/analysis/report';
import { trustedOrRefuse } from '../bench/benchSettings';
import { runCli } from '../bench/cliProcess';
import { analyseOnce } from '../editor/analysisClient';
import { calibrationData } from '../editor/editCommands';
import type { InputShapes } from '../editor/inputShapes';
import type { OnnxDocument } from '../editor/onnxDocument';
import { fixedInputShapes } from '../editor/shapePrompt';
import type { OnnxEditorProvider } from '../editor/provider';
import { withTemporaryModel } from '../editor/temporaryModel';
import { deviceFit, exportArgs, nodesText, parseExportJson, sizeText, type ExportChoices, type ExportJson } from './exportReport';

const TITLE = 'Export for Microcontroller';

export function registerExportCommand(context: vscode.ExtensionContext, provider: OnnxEditorProvider, log: vscode.OutputChannel): vscode.Disposable {
  const dist = (file: string) => path.join(context.extensionUri.fsPath, 'dist', file);
  return vscode.commands.registerCommand('onnxLens.exportForMicrocontroller', (uri?: vscode.Uri) =>
    exportForMicrocontroller(dist('cli.js'), dist('analysisWorker.js'), provider, log, uri instanceof vscode.Uri ? uri : undefined));
}

/**
 * What the export needs to know of the model before it starts: int8 QDQ or float, the nodes it cannot convert, its
 * inputs and the shapes the user gave the editor for their symbolic dims.
 */
interface ModelFacts { qdq: boolean; blockers: { name: string; op: string }[]; inputs: TensorSignature[]; shapes: InputShapes }

/**
 * From the editor's analysis when the model is open there (it reflects unsaved edits), else from an analysis of the
 * file in a worker (the extension host does not parse models).
 */
async function modelFacts(worker: string, document: OnnxDocument | undefined, file: string): Promise<ModelFacts> {
  const state = document?.state;
  const ready = state?.kind === 'ready' ? state : undefined;
  const analysis = ready?.analysis ?? (await analyseOnce(worker, file));
  const g = analysis.graph;
  return {
    qdq: g.ops.includes('QuantizeLinear'), blockers: (g.unexportable ?? []).map((id) => ({ name: g.names[id], op: g.ops[id] })),
    inputs: analysis.report.model.inputs, shapes: ready?.inputShapes ?? {},
  };
}

/** The onnxLens.device board, or undefined when none is set (an unknown name is said once, as a warning). */
function chosenDevice(): DeviceProfile | undefined {
  const config = vscode.workspace.getConfiguration('onnxLens');
  const name = config.get<string>('device', '').trim();
  if (!name) return undefined;
  try {
    const device = findAnyDevice(name, userDeviceProfiles(config.get('deviceProfiles', []), 'onnxLens.deviceProfiles'));
    if (!device) void vscode.window.showWarningMessage(`ONNX Lens: no device profile named '${name}' (onnxLens.device): the export is not checked against a board.`);
    return device;
  } catch (e) {
    if (!(e instanceof DeviceProfileError)) throw e;
    void vscode.window.showWarningMessage(`ONNX Lens: ${e.message}`);
    return undefined;
  }
}

const IO_CHOICES: (vscode.QuickPickItem & { io: 'float' | 'int8' })[] = [
  { label: 'float', io: 'float', description: 'float32 NHWC input and output; QUANTIZE/DEQUANTIZE at the edges (default)' },
  { label: 'int8', io: 'int8', description: 'int8 input and output: the application quantizes with the scale and zero point the export reports' },
];

async function exportForMicrocontroller(cli: string, worker: string, provider: OnnxEditorProvider, log: vscode.OutputChannel, given: vscode.Uri | undefined): Promise<void> {
  // Running the CLI runs code from the workspace's files, and a float model is calibrated by running it.
  if (!(await trustedOrRefuse(`${TITLE} is disabled in Restricted Mode: it runs onnx-lens on this machine, and a float model is `
    + 'calibrated by running it in onnxruntime. Trust the workspace ("Workspaces: Manage Workspace Trust") to export.'))) return;
  const active = provider.activeDocument;
  const model = given ?? active?.uri ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Export this model' }))?.[0];
  if (!model) return;
  if (model.scheme !== 'file') {
    void vscode.window.showErrorMessage(`ONNX Lens: ${path.basename(model.path)} is not a local file: onnx-lens export runs on files on this machine.`);
    return;
  }
  const file = model.fsPath;
  const name = path.basename(file);
  const document = active?.uri.toString() === model.toString() ? active : undefined;
  let facts: ModelFacts;
  try {
    facts = await modelFacts(worker, document, file);
  } catch (e) {
    void vscode.window.showErrorMessage(`ONNX Lens: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (facts.blockers.length) {
    const anyway = 'Export Anyway';
    const choice = await vscode.window.showWarningMessage(
      `ONNX Lens: ${name} has ${facts.blockers.length === 1 ? 'a node' : `${facts.blockers.length} nodes`} the TFLite exporter cannot convert: ${nodesText(facts.blockers)}. The export will most likely stop there.`,
      { modal: true }, anyway);
    if (choice !== anyway) return;
  }
  const shapes = await fixedInputShapes(`Export ${name}: input shapes`, 'TFLite needs fixed dims', facts.inputs, facts.shapes);
  if (!shapes) return;
  if (document && shapes !== facts.shapes) await document.setInputShapes(shapes);
  const calib = facts.qdq ? undefined : await calibrationData();
  if (!facts.qdq && !calib) return;
  const io = await vscode.window.showQuickPick(IO_CHOICES, { title: `Export ${name}: input and output type`, ignoreFocusOut: true, placeHolder: 'Enter: float' });
  if (!io) return;
  const defaultOutput = path.join(path.dirname(file), `${path.parse(file).name}.tflite`);
  const headerChoice = await vscode.window.showQuickPick([
    { label: 'Only the .tflite', header: false },
    { label: 'Also a C header (.h) for TFLite Micro', header: true, description: 'the model as an aligned C array, with the arena estimate and the ops to register' },
  ], { title: `Export ${name}: C header`, ignoreFocusOut: true });
  if (!headerChoice) return;
  const output = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(defaultOutput), filters: { 'TensorFlow Lite models': ['tflite'] }, title: `Export ${name} as`, saveLabel: 'Export' });
  if (!output) return;
  const header = headerChoice.header ? path.join(path.dirname(output.fsPath), `${path.parse(output.fsPath).name}.h`) : undefined;
  const choices: ExportChoices = { model: file, output: output.fsPath, io: io.io, calib, header, shapes };

  // An edited model (in any ONNX Lens editor) is exported as shown, not as saved.
  const edited = vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.isDirty && t.input instanceof vscode.TabInputCustom && t.input.uri.toString() === model.toString()));
  const bytes = edited ? await provider.currentBytes(model) : undefined;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ONNX Lens: exporting ${name} to TFLite`, cancellable: true }, async (progress, token) => {
    progress.report({ message: calib ? 'calibrating and converting…' : 'converting…' });
    const run = async (source: string): Promise<ExportJson | undefined> => {
      const child = runCli(cli, exportArgs({ ...choices, model: source }));
      const cancel = token.onCancellationRequested(() => void child.stop());
      try {
        const outcome = await child.outcome;
        if (outcome.kind === 'stopped') return undefined;
        if (outcome.kind === 'failed') throw new Error(outcome.lastStderrLine || `onnx-lens export exited with code ${outcome.code ?? outcome.signal}`);
        const json = parseExportJson(outcome.stdout);
        if (!json) throw new Error(`onnx-lens export printed an unexpected result: ${outcome.stdout.slice(0, 200)}`);
        return json;
      } finally {
        cancel.dispose();
      }
    };
    try {
      return await (bytes ? withTemporaryModel(name, bytes, run) : run(file));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.appendLine(`${TITLE} of ${file} failed: ${message}`);
      void vscode.window.showErrorMessage(`ONNX Lens: ${message}`);
      return undefined;
    }
  });
  if (!result) return;
  log.appendLine(`${TITLE}: ${file} → ${output.fsPath} (${result.tfliteBytes} bytes, ops ${result.ops.join(', ')})`);
  report(result, output, header, chosenDevice());
}

/** The sizes (and the board's verdict) as a message with its buttons; not awaited: the command ends with the export. */
function report(result: ExportJson, output: vscode.Uri, header: string | undefined, device: DeviceProfile | undefined): void {
  const fit = device && deviceFit(result, device);
  const reveal = 'Reveal in Explorer';
  const openHeader = 'Open Header';
  const buttons = header && fs.existsSync(header) ? [reveal, openHeader] : [reveal];
  const text = `ONNX Lens: exported ${sizeText(path.basename(output.fsPath), result)}${header ? ` and ${path.basename(header)}` : ''}${fit?.fits ? `; ${fit.text}` : ''}.`;
  if (fit && !fit.fits) void vscode.window.showWarningMessage(`ONNX Lens: ${path.basename(output.fsPath)} ${fit.text}.`);
  void vscode.window.showInformationMessage(text, ...buttons).then(async (choice) => {
    if (choice === reveal) {
      const inWorkspace = vscode.workspace.getWorkspaceFolder(output) !== undefined;
      await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', output);
    } else if (choice === openHeader && header) {
      await vscode.window.showTextDocument(vscode.Uri.file(header), { preview: false });
    }
  });
}
