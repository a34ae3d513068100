// The editor webview's HTML: strict CSP (no remote content, nonce-only script and style). The script and the
// style sheet are inlined under the nonce, so that nothing but the HTML crosses to a remote window (code-server,
// Codespaces); measured in code-server, loading them as webview resources instead was no slower (bench/README.md).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import * as vscode from 'vscode';

/** File contents by path, re-read when the file changes (esbuild --watch rewrites dist/webview.js). */
const assets = new Map<string, { mtimeMs: number; text: string }>();

function asset(file: string): string {
  const { mtimeMs } = fs.statSync(file);
  const cached = assets.get(file);
  if (cached?.mtimeMs === mtimeMs) return cached.text;
  const text = fs.readFileSync(file, 'utf8');
  assets.set(file, { mtimeMs, text });
  return text;
}

/** Text safe inside an inline <script>/<style> element: its closing tag cannot occur in it. */
const inline = (text: string, tag: string) => text.replaceAll(`</${tag}`, `<\\/${tag}`);

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(16).toString('base64');
  const file = (...p: string[]) => vscode.Uri.joinPath(extensionUri, ...p).fsPath;
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">${inline(asset(file('media', 'editor.css')), 'style')}</style>
<title>ONNX Lens</title>
</head>
<body>
<div id="app" data-ready="false"><p class="status" data-testid="status">Opening…</p></div>
<script nonce="${nonce}">${inline(asset(file('dist', 'webview.js')), 'script')}</script>
</body>
</html>`;
}
