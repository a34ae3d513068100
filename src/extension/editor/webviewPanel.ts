// A webview panel showing the editor's webview bundle in one of its modes (compare, report): the HTML, the RPC
// endpoint with its ready handshake, and the view's content kept so that a webview that (re)loads later gets it.
import * as vscode from 'vscode';
import {
  isFromWebview, packToWebview, PROTOCOL_VERSION, RpcEndpoint, type Envelope, type FromWebview, type HostToWebview, type ReadyResponse,
} from '../../protocol';
import { webviewHtml } from './webviewHtml';

export interface BundlePanel {
  readonly panel: vscode.WebviewPanel;
  /** the view's content: sent now if the webview is ready, and again after each handshake */
  show(m: HostToWebview): void;
  /** a passing update (progress): sent only if the webview is ready, not kept */
  notify(m: HostToWebview): void;
  readonly disposed: boolean;
}

export function openBundlePanel(context: vscode.ExtensionContext, log: vscode.OutputChannel, opts: {
  viewType: string; title: string; initial: HostToWebview;
  /** events from the webview (already validated) */
  onEvent: (ev: FromWebview) => void;
  onDispose?: () => void;
}): BundlePanel {
  const panel = vscode.window.createWebviewPanel(opts.viewType, opts.title, vscode.ViewColumn.Active, {
    enableScripts: true,
    retainContextWhenHidden: true,
    localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist'), vscode.Uri.joinPath(context.extensionUri, 'media')],
  });
  let ready = false;
  let disposed = false;
  let content = opts.initial;
  const post = (m: Envelope<HostToWebview>) => void panel.webview.postMessage(m.kind === 'event' ? { ...m, body: packToWebview(m.body) } : m);
  const rpc = new RpcEndpoint<HostToWebview, FromWebview>(post, isFromWebview, {
    handleRequest: (req) => {
      if (req.type !== 'ready') throw new Error(`'${req.type}' is not a request`);
      if (req.protocolVersion !== PROTOCOL_VERSION) throw new Error(`webview protocol ${req.protocolVersion} does not match the extension's ${PROTOCOL_VERSION}; reload the window`);
      ready = true;
      setTimeout(() => rpc.notify(content));
      return { protocolVersion: PROTOCOL_VERSION } satisfies ReadyResponse;
    },
    handleEvent: opts.onEvent,
    onInvalid: (m) => log.appendLine(`Ignored a malformed message from the ${opts.viewType} view: ${JSON.stringify(m).slice(0, 200)}`),
  });
  const subscription = panel.webview.onDidReceiveMessage((m) => void rpc.receive(m));
  panel.onDidDispose(() => {
    disposed = true;
    subscription.dispose();
    rpc.dispose(`${opts.viewType} view closed`);
    opts.onDispose?.();
  });
  panel.webview.html = webviewHtml(panel.webview, context.extensionUri);
  return {
    panel,
    show: (m) => { content = m; if (ready) rpc.notify(m); },
    notify: (m) => { if (ready) rpc.notify(m); },
    get disposed() { return disposed; },
  };
}
