// The ONNX Lens custom editor: one OnnxDocument per file, a webview per editor, connected through the typed
// protocol (ready handshake first, then the document's analysis state is pushed whenever it changes).
import path from 'node:path';
import * as vscode from 'vscode';
import {
  isFromWebview, packToWebview, PROTOCOL_VERSION, RpcEndpoint, type Envelope, type FromWebview, type HostToWebview, type ReadyResponse,
} from '../../protocol';
import { largeModelThresholdMB } from '../settings';
import type { ModelStatusBar } from '../statusBar';
import { inputShapesText, parseInputShapes } from './inputShapes';
import { OnnxDocument, type DocumentState } from './onnxDocument';
import { webviewHtml } from './webviewHtml';

export const VIEW_TYPE = 'onnxLens.editor';

export class OnnxEditorProvider implements vscode.CustomEditorProvider<OnnxDocument> {
  private readonly changeEmitter = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<OnnxDocument>>();
  /** Never fires yet: the document has no edits until editing arrives. */
  readonly onDidChangeCustomDocument = this.changeEmitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly statusBar: ModelStatusBar,
    private readonly log: vscode.OutputChannel,
  ) {}

  static register(context: vscode.ExtensionContext, statusBar: ModelStatusBar, log: vscode.OutputChannel): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(VIEW_TYPE, new OnnxEditorProvider(context, statusBar, log), {
      supportsMultipleEditorsPerDocument: false,
      // The graph layout and view state of a large model are costly to rebuild each time the tab is shown.
      webviewOptions: { retainContextWhenHidden: true },
    });
  }

  openCustomDocument(uri: vscode.Uri, openContext: vscode.CustomDocumentOpenContext): Promise<OnnxDocument> {
    const workerScript = path.join(this.context.extensionUri.fsPath, 'dist', 'analysisWorker.js');
    return OnnxDocument.create(uri, openContext.backupId, workerScript);
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
      if (message.type === 'model') message.timings = { ...document.timings, posted: Date.now() };
      rpc.notify(message);
      if (message.type === 'model') document.timings.postReturned ??= Date.now();
      this.updateStatusBar(panel, document);
    };
    disposables.push(
      webview.onDidReceiveMessage((m) => void rpc.receive(m)),
      document.onDidChangeState(push),
      panel.onDidChangeViewState(() => this.updateStatusBar(panel, document)),
    );
    panel.onDidDispose(() => {
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

  saveCustomDocument(document: OnnxDocument): Thenable<void> {
    return document.save();
  }

  saveCustomDocumentAs(document: OnnxDocument, destination: vscode.Uri): Thenable<void> {
    return document.saveAs(destination);
  }

  revertCustomDocument(document: OnnxDocument): Thenable<void> {
    return document.revert();
  }

  backupCustomDocument(document: OnnxDocument, context: vscode.CustomDocumentBackupContext): Thenable<vscode.CustomDocumentBackup> {
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
        inputShapes: s.inputShapes, compression: s.compression,
      };
    case 'failed':
      return { type: 'failed', message: s.message };
  }
}
