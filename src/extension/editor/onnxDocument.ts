// The custom document of the ONNX Lens editor: owns the analysis of one model file (through its worker), its
// edits (recipe steps run by the CLI in a child process, kept as an EditStack so that undo / redo show a state
// without computing it again) and save / save as / revert / backup (current bytes + the edits).
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { saveModelCopy } from '../../core/onnx/saveCopy';
import { writeFileAtomicAsync } from '../../core/onnx/write';
import type { DeviceProfile } from '../../core/device/profiles';
import { unpackRows, type CompactGraph, type Compression, type DeviceFitMark, type HistogramData, type LayerBaseline } from '../../protocol';
import { largeModelThresholdBytes, undoMemoryBytes } from '../settings';
import { AnalysisClient, prepareSpareWorker } from './analysisClient';
import type { Analysis } from './analysisProtocol';
import { decodeBackup, encodeBackup } from './backupFile';
import { EditStack } from './editStack';
import { changesModel, type EditStep } from './editSteps';
import type { InputShapes } from './inputShapes';
import { runStep, type StepProgress } from './stepRunner';

/** The next document's worker starts this long after an analysis, once the webview has drawn the result. */
const SPARE_WORKER_DELAY_MS = 3000;

export type DocumentState =
  | { kind: 'reading'; message: string }
  | { kind: 'analysing'; message: string; graph?: CompactGraph }
  | { kind: 'confirmLarge'; bytes: number }
  | { kind: 'ready'; analysis: Analysis; compression: Compression; inputShapes: InputShapes; baseline?: Record<string, LayerBaseline>; edits: number }
  | { kind: 'failed'; message: string };

export class OnnxDocument implements vscode.CustomDocument {
  private readonly stateEmitter = new vscode.EventEmitter<DocumentState>();
  /** Fires whenever the analysis state changes (progress, result, failure). */
  readonly onDidChangeState = this.stateEmitter.event;
  private readonly editEmitter = new vscode.EventEmitter<{ label: string; undo: () => Promise<void>; redo: () => Promise<void> }>();
  /** Fires once per edit, with its undo and redo (the provider hands them to VS Code). */
  readonly onDidEdit = this.editEmitter.event;
  private readonly busyEmitter = new vscode.EventEmitter<string | undefined>();
  /** An edit started (its label) or ended (undefined). */
  readonly onDidChangeBusy = this.busyEmitter.event;
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
  /** the edit history; replaced on load / revert, so undo entries of an older history do nothing */
  private stack?: EditStack<Analysis>;
  /** the stack position the file on disk holds (0: as opened) */
  private savedIndex = 0;
  /** the stack state the worker holds parsed (histograms are computed there) */
  private workerHolds?: { stack: EditStack<Analysis>; index: number };
  /** size of the file as opened: what the header's ratio compares with */
  private originalBytes = 0;
  private baseline?: Record<string, LayerBaseline>;
  /** mtime and size of our own last save: the watcher ignores that change */
  private ownWrite?: { mtimeMs: number; size: number };
  /** our own save in progress */
  private saving?: Promise<void>;
  /** the layers selected in the webview (exact names), as it last reported them */
  selection: string[] = [];
  /** an edit running now (one at a time) */
  private running?: string;
  private restoredSteps?: EditStep[];
  /** histograms of the model as opened (the "before" of the histogram), and a worker holding it once needed */
  private originals?: { stack: EditStack<Analysis>; histograms: Map<string, NonNullable<HistogramData['original']>>; client?: AnalysisClient; ready?: Promise<void> };

  private constructor(readonly uri: vscode.Uri, private readonly workerScript: string, private readonly cliScript: string, private readonly backupUri?: vscode.Uri) {
    if (uri.scheme === 'file') {
      // The CLI (or another tool) may rewrite the model while it is open: show the new content.
      this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
      this.watcher.onDidChange(() => void this.changedOnDisk());
    }
  }

  static async create(uri: vscode.Uri, backupId: string | undefined, workerScript: string, cliScript: string): Promise<OnnxDocument> {
    const doc = new OnnxDocument(uri, workerScript, cliScript, backupId ? vscode.Uri.parse(backupId) : undefined);
    void doc.load(false);
    return doc;
  }

  get state(): DocumentState {
    return this.current;
  }

  /** The edits that lead to the shown model. */
  get steps(): EditStep[] {
    return this.stack?.steps ?? this.restoredSteps ?? [];
  }

  get isDirty(): boolean {
    return (this.stack?.index ?? 0) !== this.savedIndex || !!this.restoredSteps?.length;
  }

  private setState(s: DocumentState): void {
    if (this.disposed) return;
    this.current = s;
    this.stateEmitter.fire(s);
  }

  /** Reads and analyses the model; above the size setting, waits for `analyseLarge()` unless `confirmed`. */
  async load(confirmed: boolean, fromBackup = true): Promise<void> {
    const generation = ++this.generation;
    try {
      const source = (fromBackup && this.backupUri) || this.uri;
      const { size } = await vscode.workspace.fs.stat(source);
      if (!confirmed && size > largeModelThresholdBytes()) {
        this.setState({ kind: 'confirmLarge', bytes: size });
        return;
      }
      await this.analysis?.dispose();
      let graph: CompactGraph | undefined;
      const timings = this.timings;
      timings.analysisStart ??= Date.now();
      // Progress shows only until this load's analysis is ready: the worker's later analyses (an edit's result,
      // a histogram of an earlier state after undo) must not replace the view with a progress page.
      let loaded = false;
      const client = new AnalysisClient(this.workerScript, (e) => {
        if (generation !== this.generation || loaded) return;
        timings[e.type === 'structure' ? 'parsed' : e.phase] ??= Date.now();
        if (e.type === 'structure') graph = e.graph;
        else this.setState(e.phase === 'analysing' ? { kind: 'analysing', message: e.message, graph } : { kind: 'reading', message: e.message });
      });
      this.analysis = client;
      const dir = this.modelDir();
      const inputShapes = this.inputShapes;
      let request: Promise<Analysis>;
      let restored: { steps: EditStep[]; model: Uint8Array } | undefined;
      if (source !== this.uri) {
        // A hot-exit backup: the edited model and the edits that made it.
        restored = decodeBackup(await vscode.workspace.fs.readFile(source));
        request = client.analyse({ bytes: restored.model, dir, inputShapes });
      } else {
        request = source.scheme === 'file'
          ? client.analyse({ file: source.fsPath, dir, inputShapes })
          : Promise.resolve(vscode.workspace.fs.readFile(source)).then((bytes) => client.analyse({ bytes, dir, inputShapes }));
      }
      const originalBytes = source === this.uri ? size : await vscode.workspace.fs.stat(this.uri).then((s) => s.size, () => size);
      const analysis = await this.withProgress(request);
      loaded = true;
      timings.analysed ??= Date.now();
      prepareSpareWorker(this.workerScript, SPARE_WORKER_DELAY_MS);
      if (generation !== this.generation) return;
      this.originalBytes = originalBytes;
      const readOriginal = () => Promise.resolve(vscode.workspace.fs.readFile(this.uri));
      if (restored && restored.steps.length) {
        this.stack = EditStack.restored(restored.steps, { bytes: restored.model, analysis }, undoMemoryBytes(), readOriginal);
        this.restoredSteps = restored.steps;
        this.savedIndex = -1;
        // The "before" values come from the file on disk, analysed when first needed.
        this.baseline = undefined;
        void this.loadBaselineFromDisk(generation);
      } else {
        this.stack = new EditStack<Analysis>({ analysis, bytes: restored?.model }, undoMemoryBytes(), readOriginal);
        this.restoredSteps = undefined;
        this.savedIndex = 0;
        this.baseline = baselineOf(analysis);
      }
      this.workerHolds = { stack: this.stack, index: this.stack.index };
      this.show(analysis, restored?.model.length ?? size);
    } catch (e) {
      if (generation === this.generation) this.setState({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  }

  private modelDir(): string | undefined {
    return this.uri.scheme === 'file' ? path.dirname(this.uri.fsPath) : undefined;
  }

  /** The layers of the file on disk, for a document restored with edits (a second worker, so the shown one keeps its model). */
  private async loadBaselineFromDisk(generation: number): Promise<void> {
    const client = new AnalysisClient(this.workerScript, () => undefined);
    try {
      const a = this.uri.scheme === 'file' ? await client.analyse({ file: this.uri.fsPath, dir: this.modelDir() }) : await client.analyse({ bytes: await vscode.workspace.fs.readFile(this.uri) });
      if (generation !== this.generation) return;
      this.baseline = baselineOf(a);
      const s = this.current;
      if (s.kind === 'ready') this.setState({ ...s, baseline: this.edited() ? this.baseline : undefined });
    } catch { /* the "before" marks are missing: the edits still show */ } finally {
      void client.dispose();
    }
  }

  private edited(): boolean {
    return (this.stack?.index ?? 0) > 0;
  }

  /** Shows `analysis` as the document's model (`bytes`: the size of that model). */
  private show(analysis: Analysis, bytes: number): void {
    const edits = this.stack?.index ?? 0;
    this.setState({
      kind: 'ready', analysis, inputShapes: this.inputShapes, edits,
      compression: { originalBytes: this.originalBytes, documentBytes: bytes },
      baseline: edits > 0 ? this.baseline : undefined,
    });
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
      await this.syncWorker();
      const analysis = await this.withProgress(client.reanalyse(shapes));
      if (generation === this.generation) {
        if (this.stack) this.stack.current.analysis = analysis;
        this.setState({ ...s, analysis, inputShapes: shapes });
      }
    } catch (e) {
      if (generation === this.generation) this.setState({ kind: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  }

  /** Shows the analysis in the window's progress area (the status bar). */
  private withProgress<T>(analysis: Thenable<T>): Thenable<T> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `ONNX Lens: analysing ${path.basename(this.uri.path)}` }, () => analysis);
  }

  /** Makes the worker hold the shown state's model (after undo / redo it may hold another one). */
  private async syncWorker(): Promise<void> {
    const stack = this.stack;
    if (!stack || !this.analysis || (this.workerHolds?.stack === stack && this.workerHolds.index === stack.index)) return;
    const index = stack.index;
    const bytes = await stack.bytes(index, this.replay());
    await this.analysis.analyse({ bytes, dir: this.modelDir(), inputShapes: this.inputShapes });
    this.workerHolds = { stack, index };
  }

  /** The layer's histogram; with the histogram as opened (`original`) when the edits changed its weights. */
  async histogram(layer: string, bins: number): Promise<HistogramData> {
    if (!this.analysis || this.current.kind !== 'ready') throw new Error('the model is not analysed yet');
    await this.syncWorker();
    const stack = this.stack;
    const h = await this.analysis.histogram(layer, bins);
    if (!stack) return h;
    const { dtype, edges, counts, zeros } = h;
    if (this.originals?.stack !== stack) {
      void this.originals?.client?.dispose();
      this.originals = { stack, histograms: new Map() };
    }
    const key = `${bins}:${layer}`;
    if (stack.index === 0 && !this.restoredSteps?.length) {
      this.originals.histograms.set(key, { dtype, edges, counts, zeros });
      return h;
    }
    const original = await this.originalHistogram(this.originals, key, layer, bins).catch(() => undefined);
    const same = original && original.dtype === dtype && original.zeros === zeros &&
      original.counts.every((c, i) => c === counts[i]) && original.edges.every((e, i) => e === edges[i]);
    return original && !same ? { ...h, original } : h;
  }

  /** The shown model's fit on `device`, computed by the worker that holds it (cheap and static, but not on this thread). */
  async fit(device: DeviceProfile): Promise<DeviceFitMark> {
    if (!this.analysis || this.current.kind !== 'ready') throw new Error('the model is not analysed yet');
    await this.syncWorker();
    return this.analysis.fit(device, this.inputShapes);
  }

  /** The histogram of `layer` in the model as opened: remembered, or from a worker that holds that model. */
  private async originalHistogram(originals: NonNullable<OnnxDocument['originals']>, key: string, layer: string, bins: number): Promise<HistogramData['original']> {
    const known = originals.histograms.get(key);
    if (known) return known;
    if (!originals.client) {
      const client = new AnalysisClient(this.workerScript, () => undefined);
      originals.client = client;
      originals.ready = originals.stack.bytes(0, this.replay()).then((bytes) => client.analyse({ bytes, dir: this.modelDir(), inputShapes: this.inputShapes })).then(() => undefined);
    }
    await originals.ready;
    const { dtype, edges, counts, zeros } = await originals.client.histogram(layer, bins);
    originals.histograms.set(key, { dtype, edges, counts, zeros });
    return { dtype, edges, counts, zeros };
  }

  /** Rebuilds a dropped state's bytes: the CLI again, without a notification (undo / redo past the memory budget). */
  private replay(signal?: AbortSignal, onProgress?: (p: StepProgress) => void) {
    return (before: Uint8Array, step: EditStep) => changesModel(step) ? runStep(before, step, { cli: this.cliScript, signal, onProgress }) : Promise.resolve(before);
  }

  /**
   * Applies one edit: the step runs on the current model in a child process, the result is analysed and becomes
   * the document's model. A cancelled or failed edit throws and leaves the document as it was.
   */
  async edit(step: EditStep, signal?: AbortSignal, onProgress?: (p: StepProgress) => void): Promise<void> {
    const stack = this.stack;
    if (!stack || !this.analysis || this.current.kind !== 'ready') throw new Error('the model is not analysed yet');
    if (this.running) throw new Error(`another edit is running (${this.running})`);
    this.running = step.label;
    this.busyEmitter.fire(`${step.label}…`);
    // For bench/editRepaint.mjs: where an edit's time goes (sent with the next model message).
    this.timings.editStart = Date.now();
    try {
      // Read the original now: a later save overwrites the file it would otherwise be read from.
      await stack.bytes(0, this.replay(signal));
      if (changesModel(step) && this.externalData().length) {
        throw new Error('this model keeps its weights in external data files, which editor edits do not handle yet: run onnx-lens prune / quantize / apply on it from a terminal');
      }
      const before = await stack.bytes(stack.index, this.replay(signal, onProgress));
      let after: Uint8Array;
      let analysis: Analysis;
      if (step.kind === 'keepFloat') {
        after = before;
        analysis = stack.current.analysis!;
      } else {
        after = step.kind === 'revertToOriginal' ? (await stack.bytes(0, this.replay())) : await runStep(before, step, { cli: this.cliScript, signal, onProgress, marks: this.timings });
        if (signal?.aborted) throw new Error('cancelled');
        this.timings.editStepDone = Date.now();
        onProgress?.({ step: 1, steps: 1, message: 'Analysing the result…', fraction: 1 });
        analysis = step.kind === 'revertToOriginal' && stack.state(0).analysis ? stack.state(0).analysis! : await this.analysis.analyse({ bytes: after, dir: this.modelDir(), inputShapes: this.inputShapes });
      }
      if (stack !== this.stack) throw new Error('the model was reloaded meanwhile');
      this.timings.editAnalysed = Date.now();
      const from = stack.index;
      const to = stack.push(step, after, analysis);
      this.workerHolds = step.kind === 'prune' || step.kind === 'quantize' ? { stack, index: to } : this.workerHolds;
      this.restoredSteps = undefined;
      this.show(analysis, after.length);
      this.editEmitter.fire({ label: step.label, undo: () => this.goTo(stack, from), redo: () => this.goTo(stack, to) });
    } finally {
      this.running = undefined;
      this.busyEmitter.fire(undefined);
    }
  }

  /** Undo / redo: shows state `k` of `stack` from memory (its analysis is kept; its bytes only when needed). */
  private async goTo(stack: EditStack<Analysis>, k: number): Promise<void> {
    if (stack !== this.stack || !stack.goTo(k)) return;
    const s = stack.current;
    let analysis = s.analysis;
    if (!analysis) {
      // Restored from a backup: earlier states were never computed in this session.
      const bytes = await stack.bytes(k, this.replay());
      analysis = await this.analysis!.analyse({ bytes, dir: this.modelDir(), inputShapes: this.inputShapes });
      s.analysis = analysis;
      this.workerHolds = { stack, index: k };
    }
    if (stack !== this.stack || stack.index !== k) return;
    this.show(analysis, s.bytes?.length ?? (this.current.kind === 'ready' ? this.current.compression.documentBytes : 0));
  }

  /** The current model's bytes (with unsaved edits). */
  async currentBytes(): Promise<Uint8Array> {
    const stack = this.stack;
    if (!stack) return vscode.workspace.fs.readFile(this.backupUri ?? this.uri);
    return stack.bytes(stack.index, this.replay());
  }

  async save(): Promise<void> {
    if (!this.stack || !this.isDirty) return;
    // The original's bytes must be in memory before the file they come from is replaced.
    await this.stack.bytes(0, this.replay());
    const bytes = await this.currentBytes();
    await this.writeTo(this.uri, bytes, true);
    this.savedIndex = this.stack.index;
    this.restoredSteps = undefined;
  }

  async saveAs(destination: vscode.Uri): Promise<void> {
    await this.writeTo(destination, await this.currentBytes(), destination.toString() === this.uri.toString());
  }

  /** The external data files of the current model (from its analysis: the model is not parsed again). */
  private externalData(): readonly string[] {
    return this.stack?.current.analysis?.report.model.externalData ?? [];
  }

  private writeTo(destination: vscode.Uri, bytes: Uint8Array, own: boolean): Promise<void> {
    const write = (async () => {
      if (destination.scheme === 'file') {
        // Save As into another folder copies the model's external data files beside the new file.
        if (this.uri.scheme === 'file') await saveModelCopy(bytes, this.uri.fsPath, destination.fsPath, this.externalData());
        else await writeFileAtomicAsync(destination.fsPath, bytes);
        if (own) {
          const st = await fs.promises.stat(destination.fsPath);
          this.ownWrite = { mtimeMs: st.mtimeMs, size: st.size };
        }
      } else {
        await vscode.workspace.fs.writeFile(destination, bytes);
      }
    })();
    // The watcher may report our own write before it has finished: it waits for this first.
    if (own) this.saving = write.catch(() => undefined);
    return write;
  }

  /** The file changed on disk: reload, unless it is our own save; with unsaved edits, ask first. */
  private async changedOnDisk(): Promise<void> {
    if (this.current.kind === 'confirmLarge') return void this.load(false, false);
    await this.saving;
    const st = await fs.promises.stat(this.uri.fsPath).catch(() => undefined);
    if (st && this.ownWrite && st.mtimeMs === this.ownWrite.mtimeMs && st.size === this.ownWrite.size) return;
    if (this.isDirty) {
      const reload = 'Reload and Discard Edits';
      const answer = await vscode.window.showWarningMessage(
        `${path.basename(this.uri.path)} changed on disk, and this editor has unsaved edits.`, reload, 'Keep My Edits');
      if (answer !== reload) return;
    }
    await this.load(true, false);
  }

  async revert(): Promise<void> {
    await this.load(true, false);
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(destination, '..'));
    const data = encodeBackup({ steps: this.steps, model: await this.currentBytes() });
    if (destination.scheme === 'file') await writeFileAtomicAsync(destination.fsPath, data);
    else await vscode.workspace.fs.writeFile(destination, data);
    return {
      id: destination.toString(),
      delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined),
    };
  }

  dispose(): void {
    this.disposed = true;
    this.watcher?.dispose();
    void this.analysis?.dispose();
    void this.originals?.client?.dispose();
    this.stateEmitter.dispose();
    this.editEmitter.dispose();
    this.busyEmitter.dispose();
  }
}

/** Each layer's bits, sparsity, params and bytes: the "before" of edited views. */
function baselineOf(a: Analysis): Record<string, LayerBaseline> {
  const out: Record<string, LayerBaseline> = {};
  for (const l of unpackRows(a.report.layers) ?? []) {
    out[l.name as string] = { bits: l.bits as number, sparsity: l.sparsity as number, params: l.params as number, weightBytes: l.weightBytes as number };
  }
  return out;
}
