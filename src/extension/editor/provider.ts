// The ONNX Lens custom editor: one OnnxDocument per file, a webview per editor, connected through the typed
// protocol (ready handshake first, then the document's analysis state is pushed whenever it changes).
import path from 'node:path';
import * as vscode from 'vscode';
import {
  isFromWebview, packToWebview, PROTOCOL_VERSION, RpcEndpoint, type Envelope, type FromWebview, type HostToWebview, type ReadyResponse,
} from '../../protocol';
import { EditorMeasurements } from '../measure/editorMeasurements';
import type { ResultStore } from '../results/resultStore';
import { largeModelThresholdMB } from '../settings';
import type { ModelStatusBar } from '../statusBar';
import { inputShapesText, parseInputShapes } from './inputShapes';
import { OnnxDocument, type DocumentState } from './onnxDocument';
import { webviewHtml } from './webviewHtml';

export const VIEW_TYPE = 'onnxLens.editor';

export class OnnxEditorProvider implements vscode.CustomEditorProvider<OnnxDocument> {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<OnnxDocument>>();
  /** One event per edit: VS Code keeps the undo stack and the dirty state. */
  readonly onDidChangeCustomDocument = this.changeEmitter.event;
  /** the document of the editor in front (commands act on it), and every open one */
  private active?: OnnxDocument;
  private readonly panels = new Map<OnnxDocument, vscode.WebviewPanel>();
  /** the measured results each editor shows (sensitivity, latency, last benchmark, device fit) */
  readonly measurements: EditorMeasurements;
  /** counts measurement updates per document, so that a slower earlier one never overwrites a newer one */
  private readonly measurementRequests = new WeakMap<OnnxDocument, number>();

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly statusBar: ModelStatusBar,
    private readonly log: vscode.OutputChannel,
    results?: ResultStore,
  ) {
    this.measurements = new EditorMeasurements(results);
  }

  /** The document of the active ONNX Lens editor, or of the last one that was active if it is still open. */
  get activeDocument(): OnnxDocument | undefined {
    return this.active && this.panels.has(this.active) ? this.active : undefined;
  }

  /** The current (possibly edited, unsaved) bytes of the model at `uri`, if it is open in an ONNX Lens editor. */
  currentBytes(uri: vscode.Uri): Promise<Uint8Array> | undefined {
    for (const document of this.panels.keys()) if (document.uri.toString() === uri.toString()) return document.currentBytes();
    return undefined;
  }

  /** Brings the document's editor to the front (e.g. after a quick pick). */
  reveal(document: OnnxDocument): void {
    this.panels.get(document)?.reveal();
  }

  /** Sends a message to the document's webview, if it is open and ready. */
  notify(document: OnnxDocument, message: HostToWebview): void {
    this.endpoints.get(document)?.(message);
  }

  private readonly endpoints = new Map<OnnxDocument, (m: HostToWebview) => void>();

  static register(context: vscode.ExtensionContext, statusBar: ModelStatusBar, log: vscode.OutputChannel, results?: ResultStore): { provider: OnnxEditorProvider; registration: vscode.Disposable } {
    const provider = new OnnxEditorProvider(context, statusBar, log, results);
    const refresh = () => { for (const document of provider.panels.keys()) provider.refreshMeasurements(document); };
    return { provider, registration: vscode.Disposable.from(
      vscode.window.registerCustomEditorProvider(VIEW_TYPE, provider, {
        supportsMultipleEditorsPerDocument: false,
        // The graph layout and view state of a large model are costly to rebuild each time the tab is shown.
        webviewOptions: { retainContextWhenHidden: true },
      }),
      // A new result may be this model's, or its baseline's (the "before" of latency).
      ...(results ? [results.onDidChange(refresh)] : []),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (['onnxLens.device', 'onnxLens.deviceProfiles', 'onnxLens.accuracyBudget'].some((k) => e.affectsConfiguration(k))) refresh();
      }),
    ) };
  }

  /** Sends the document's measurements to its editor: at once, then again with the device fit once the worker computed it. */
  refreshMeasurements(document: OnnxDocument): void {
    const request = (this.measurementRequests.get(document) ?? 0) + 1;
    this.measurementRequests.set(document, request);
    const send = (withFit: boolean) => this.measurements.of(document, withFit).then((measurements) => {
      if (measurements && this.measurementRequests.get(document) === request) this.notify(document, { type: 'measurements', measurements });
    });
    void (async () => {
      try {
        await send(false);
        if (!this.measurements.hasFit(document)) await send(true);
      } catch (e) {
        this.log.appendLine(`Measurements of ${document.uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
  }

  async openCustomDocument(uri: vscode.Uri, openContext: vscode.CustomDocumentOpenContext): Promise<OnnxDocument> {
    const dist = path.join(this.context.extensionUri.fsPath, 'dist');
    const document = await OnnxDocument.create(uri, openContext.backupId, path.join(dist, 'analysisWorker.js'), path.join(dist, 'cli.js'));
    document.onDidEdit((e) => this.changeEmitter.fire({ document, ...e }));
    return document;
  }

  async resolveCustomEditor(document: OnnxDocument, panel: vscode.WebviewPanel): Promise<void> {
    const { webview } = panel;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), vscode.Uri.joinPath(this.context.extensionUri, 'media')],
    };
    const disposables: vscode.Disposable[] = [];
    let ready = false;
    const post = (m: Envelope<HostToWebview>) => void webview.postMessage(m.kind === 'event' ? { ...m, body: packToWebview(m.body) } : m);
    const rpc = new RpcEndpoint<HostToWebview, FromWebview>(post, isFromWebview, {
      handleRequest: (req) => this.answer(document, req, () => {
        ready = true;
        document.timings.webviewReady = Date.now();
        setTimeout(() => push(document.state));
      }),
      handleEvent: (ev) => {
        if (ev.type === 'analyseLarge') void document.load(true);
        else if (ev.type === 'setInputShapes') void this.askInputShapes(document);
        else if (ev.type === 'selection') document.selection = ev.layers;
        else if (ev.type === 'action') {
          this.active = document;
          void vscode.commands.executeCommand(`onnxLens.${ev.action}`);
        }
      },
      onInvalid: (m) => this.log.appendLine(`Ignored a malformed message from the webview: ${JSON.stringify(m).slice(0, 200)}`),
    });
    const push = (s: DocumentState) => {
      if (!ready) return;
      if (s.kind === 'analysing' && s.graph) {
        document.timings.graphPosted ??= Date.now();
        rpc.notify({ type: 'graph', graph: s.graph, fileName: path.basename(document.uri.path) });
      }
      const message = toWebview(s, document.uri);
      if (message.type === 'model') {
        message.timings = { ...document.timings, posted: Date.now() };
        message.selection = document.selection;
      }
      rpc.notify(message);
      if (message.type === 'model') {
        document.timings.postReturned ??= Date.now();
        this.refreshMeasurements(document);
      }
      this.updateStatusBar(panel, document);
    };
    this.panels.set(document, panel);
    this.endpoints.set(document, (m) => { if (ready) rpc.notify(m); });
    this.active = document;
    disposables.push(
      webview.onDidReceiveMessage((m) => void rpc.receive(m)),
      document.onDidChangeState(push),
      document.onDidChangeBusy((message) => { if (ready) rpc.notify({ type: 'busy', message }); }),
      panel.onDidChangeViewState(() => {
        if (panel.active) this.active = document;
        this.updateStatusBar(panel, document);
      }),
    );
    panel.onDidDispose(() => {
      if (this.panels.get(document) === panel) { this.panels.delete(document); this.endpoints.delete(document); }
      rpc.dispose('editor closed');
      disposables.forEach((d) => d.dispose());
      if (this.statusBar.owner === panel) this.statusBar.hide();
    });
    document.timings.htmlSet = Date.now();
    webview.html = webviewHtml(webview, this.context.extensionUri);
    this.updateStatusBar(panel, document);
  }

  private async answer(document: OnnxDocument, req: FromWebview, onReady: () => void): Promise<unknown> {
    switch (req.type) {
      case 'ready': {
        if (req.protocolVersion !== PROTOCOL_VERSION) {
          throw new Error(`webview protocol ${req.protocolVersion} does not match the extension's ${PROTOCOL_VERSION}; reload the window`);
        }
        onReady();
        return { protocolVersion: PROTOCOL_VERSION } satisfies ReadyResponse;
      }
      case 'histogram':
        return document.histogram(req.layer, req.bins);
      default:
        throw new Error(`'${req.type}' is not a request`);
    }
  }

  private async askInputShapes(document: OnnxDocument): Promise<void> {
    const s = document.state;
    if (s.kind !== 'ready') return;
    const inputs = s.analysis.report.model.inputs;
    const text = await vscode.window.showInputBox({
      title: `Input shapes of ${path.basename(document.uri.path)}`,
      prompt: 'Concrete shapes for the inputs, so that every layer\'s MACs can be counted (several inputs: separate with ;)',
      value: inputShapesText(inputs, s.inputShapes),
      validateInput: (v) => { const r = parseInputShapes(v, inputs); return typeof r === 'string' ? r : undefined; },
    });
    if (text === undefined) return;
    const shapes = parseInputShapes(text, inputs);
    if (typeof shapes !== 'string') await document.setInputShapes(shapes);
  }

  private updateStatusBar(panel: vscode.WebviewPanel, document: OnnxDocument): void {
    const s = document.state;
    if (panel.active && s.kind === 'ready') this.statusBar.show(panel, s.analysis.report.model);
    else if (this.statusBar.owner === panel && !panel.active) this.statusBar.hide();
  }

  async saveCustomDocument(document: OnnxDocument): Promise<void> {
    this.log.appendLine(`Saving ${document.uri.fsPath} (${document.steps.length} edits)`);
    await document.save();
    await this.measurements.saved(document).catch((e: Error) => this.log.appendLine(`Keeping the profile of ${document.uri.fsPath}: ${e.message}`));
    // The file's earlier results went stale with the save, and the document is no longer edited.
    this.refreshMeasurements(document);
  }

  saveCustomDocumentAs(document: OnnxDocument, destination: vscode.Uri): Thenable<void> {
    this.log.appendLine(`Saving ${document.uri.fsPath} as ${destination.toString()}`);
    return document.saveAs(destination);
  }

  revertCustomDocument(document: OnnxDocument): Thenable<void> {
    this.log.appendLine(`Reverting ${document.uri.fsPath}`);
    return document.revert();
  }

  backupCustomDocument(document: OnnxDocument, context: vscode.CustomDocumentBackupContext): Thenable<vscode.CustomDocumentBackup> {
    this.log.appendLine(`Backing up ${document.uri.fsPath} (${document.steps.length} edits) to ${context.destination.toString()}`);
    return document.backup(context.destination);
  }
}

function toWebview(s: DocumentState, uri: vscode.Uri): HostToWebview {
  switch (s.kind) {
    case 'reading':
    case 'analysing':
      return { type: 'status', phase: s.kind, message: s.message };
    case 'confirmLarge':
      return { type: 'confirmLarge', bytes: s.bytes, thresholdMB: largeModelThresholdMB() };
    case 'ready':
      return {
        type: 'model', report: s.analysis.report, graph: s.analysis.graph, fileName: path.basename(uri.path),
        inputShapes: s.inputShapes, compression: s.compression, baseline: s.baseline, edits: s.edits,
      };
    case 'failed':
      return { type: 'failed', message: s.message };
  }
}
