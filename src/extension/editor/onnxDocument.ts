// The custom document of the ONNX Lens editor: owns the analysis of one model file (through its worker) and
// implements save / save as / revert / backup. There are no edits yet, so Save leaves the file alone and
// Save As / backup copy the model bytes, written atomically.
import path from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../core/onnx/write';
import type { CompactGraph, Compression, HistogramData } from '../../protocol';
import { largeModelThresholdBytes } from '../settings';
import { AnalysisClient, prepareSpareWorker } from './analysisClient';
import type { Analysis } from './analysisProtocol';
import type { InputShapes } from './inputShapes';

/** The next document's worker starts this long after an analysis, once the webview has drawn the result. */
const SPARE_WORKER_DELAY_MS = 3000;

export type DocumentState =
  | { kind: 'reading'; message: string }
  | { kind: 'analysing'; message: string; graph?: CompactGraph }
  | { kind: 'confirmLarge'; bytes: number }
  | { kind: 'ready'; analysis: Analysis; compression: Compression; inputShapes: InputShapes }
  | { kind: 'failed'; message: string };

export class OnnxDocument implements vscode.CustomDocument {
  private readonly stateEmitter = new vscode.EventEmitter<DocumentState>();
  /** Fires whenever the analysis state changes (progress, result, failure). */
  readonly onDidChangeState = this.stateEmitter.event;
  private current: DocumentState = { kind: 'reading', message: 'Opening…' };
  private analysis?: AnalysisClient;
  /** Counts loads, so that a stale load (the file changed again meanwhile) never overwrites a newer state. */
  private generation = 0;
  private readonly watcher?: vscode.FileSystemWatcher;
  private disposed = false;
  /** Epoch milliseconds of the first load's steps (opened, worker up, parsed, analysed), for the paint benchmark. */
  readonly timings: Record<string, number> = { opened: Date.now() };
  /** concrete shapes the user gave for inputs with symbolic dims */
  private inputShapes: InputShapes = {};

  private constructor(readonly uri: vscode.Uri, private readonly workerScript: string, private readonly backupUri?: vscode.Uri) {
    if (uri.scheme === 'file') {
      // The CLI (or another tool) may rewrite the model while it is open: show the new content.
      this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
      this.watcher.onDidChange(() => void this.load(this.current.kind !== 'confirmLarge'));
    }
  }

  static async create(uri: vscode.Uri, backupId: string | undefined, workerScript: string): Promise<OnnxDocument> {
    const doc = new OnnxDocument(uri, workerScript, backupId ? vscode.Uri.parse(backupId) : undefined);
    void doc.load(false);
    return doc;
  }

  get state(): DocumentState {
    return this.current;
  }

  private setState(s: DocumentState): void {
    if (this.disposed) return;
    this.current = s;
    this.stateEmitter.fire(s);
  }

  /** Reads and analyses the model; above the size setting, waits for `analyseLarge()` unless `confirmed`. */
  async load(confirmed: boolean): Promise<void> {
    const generation = ++this.generation;
    try {
      const source = this.backupUri ?? this.uri;
      const { size } = await vscode.workspace.fs.stat(source);
      if (!confirmed && size > largeModelThresholdBytes()) {
        this.setState({ kind: 'confirmLarge', bytes: size });
        return;
      }
      await this.analysis?.dispose();
      let graph: CompactGraph | undefined;
      const timings = this.timings;
      timings.analysisStart ??= Date.now();
      const client = new AnalysisClient(this.workerScript, (e) => {
        if (generation !== this.generation) return;
        timings[e.type === 'structure' ? 'parsed' : e.phase] ??= Date.now();
        if (e.type === 'structure') graph = e.graph;
        else this.setState(e.phase === 'analysing' ? { kind: 'analysing', message: e.message, graph } : { kind: 'reading', message: e.message });
      });
      this.analysis = client;
      const dir = this.uri.scheme === 'file' ? path.dirname(this.uri.fsPath) : undefined;
      const inputShapes = this.inputShapes;
      const request = source.scheme === 'file'
        ? client.analyse({ file: source.fsPath, dir, inputShapes })
        : vscode.workspace.fs.readFile(source).then((bytes) => client.analyse({ bytes, dir, inputShapes }));
      const originalBytes = source === this.uri ? size : await vscode.workspace.fs.stat(this.uri).then((s) => s.size, () => size);
      const analysis = await this.withProgress(request);
      timings.analysed ??= Date.now();
      prepareSpareWorker(this.workerScript, SPARE_WORKER_DELAY_MS);
      if (generation === this.generation) this.setState({ kind: 'ready', analysis, inputShapes, compression: { originalBytes, documentBytes: size } });
    } catch (e) {
      if (generation === this.generation) this.setState({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Analyses again with these input shapes (MACs of layers whose sizes depend on symbolic input dims). */
  async setInputShapes(shapes: InputShapes): Promise<void> {
    this.inputShapes = shapes;
    const s = this.current;
    // Only the analysis depends on the shapes: the worker of a ready document still holds the parsed model.
    if (s.kind !== 'ready' || !this.analysis) return this.load(true);
    const generation = ++this.generation;
    const client = this.analysis;
    try {
      const analysis = await this.withProgress(client.reanalyse(shapes));
      if (generation === this.generation) this.setState({ ...s, analysis, inputShapes: shapes });
    } catch (e) {
      if (generation === this.generation) this.setState({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Shows the analysis in the window's progress area (the status bar). */
  private withProgress<T>(analysis: Thenable<T>): Thenable<T> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `ONNX Lens: analysing ${path.basename(this.uri.path)}` }, () => analysis);
  }

  histogram(layer: string, bins: number): Promise<HistogramData> {
    if (!this.analysis || this.current.kind !== 'ready') return Promise.reject(new Error('the model is not analysed yet'));
    return this.analysis.histogram(layer, bins);
  }

  /** Nothing is edited yet, so the file on disk already is the document: nothing to write. */
  async save(): Promise<void> {}

  async saveAs(destination: vscode.Uri): Promise<void> {
    await writeCopy(await vscode.workspace.fs.readFile(this.backupUri ?? this.uri), destination);
  }

  async revert(): Promise<void> {
    await this.load(true);
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(destination, '..'));
    await writeCopy(await vscode.workspace.fs.readFile(this.backupUri ?? this.uri), destination);
    return {
      id: destination.toString(),
      delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined),
    };
  }

  dispose(): void {
    this.disposed = true;
    this.watcher?.dispose();
    void this.analysis?.dispose();
    this.stateEmitter.dispose();
  }
}

async function writeCopy(bytes: Uint8Array, destination: vscode.Uri): Promise<void> {
  if (destination.scheme === 'file') writeFileAtomic(destination.fsPath, bytes);
  else await vscode.workspace.fs.writeFile(destination, bytes);
}
