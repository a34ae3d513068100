// The `onnx-lens` task (DESIGN.md "Benchmark task and Problems"): a CustomExecution whose pseudoterminal forks the
// CLI (`onnx-lens bench … --json --progress-fd 3`), shows live progress and ETA, prints the result table, and
// turns the result into a diagnostic on the model. Closing the terminal or terminating the task stops the child.
import path from 'node:path';
import * as vscode from 'vscode';
import type { BenchDiagnostics } from './benchDiagnostics';
import { benchVerdict, type BenchJson } from './benchVerdict';
import { runCli, type CliRun, type ProgressEvent } from './cliProcess';
import { resultTable } from './resultTable';
import { budgetOf, TASK_TYPE, taskCommandLine, TaskDefinitionError, type OnnxLensTaskDefinition } from './taskDefinition';
import { accuracyBudget, UNTRUSTED_MESSAGE } from './benchSettings';

/** What a run reports to whoever started it (the Run Benchmark command's progress notification). */
export interface BenchTaskHooks {
  /** the file the diagnostic goes on, when the benchmarked model is a temporary copy of an edited document */
  diagnosticUri?: vscode.Uri;
  onProgress?(p: ProgressEvent, etaSeconds: number | undefined): void;
  onResult?(result: BenchJson, diagnostic: vscode.Diagnostic): void;
  onError?(message: string): void;
}

export interface BenchTaskContext {
  cliScript: string;
  diagnostics: BenchDiagnostics;
  log: vscode.OutputChannel;
}

export class BenchTaskProvider implements vscode.TaskProvider {
  constructor(private readonly context: BenchTaskContext) {}

  static register(context: BenchTaskContext): vscode.Disposable {
    return vscode.tasks.registerTaskProvider(TASK_TYPE, new BenchTaskProvider(context));
  }

  /** Tasks come from tasks.json or from the Run Benchmark command; nothing is auto-detected. */
  provideTasks(): vscode.Task[] {
    return [];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    if (task.definition.type !== TASK_TYPE) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : undefined;
    return createBenchTask(task.definition as OnnxLensTaskDefinition, folder, task.name, this.context);
  }
}

/** A task running `definition`; `hooks` follow this run (the command uses them, tasks.json runs have none). */
export function createBenchTask(definition: OnnxLensTaskDefinition, folder: vscode.WorkspaceFolder | undefined, name: string,
  context: BenchTaskContext, hooks: BenchTaskHooks = {}): vscode.Task {
  const task = new vscode.Task(definition, folder ?? vscode.TaskScope.Workspace, name, TASK_TYPE,
    new vscode.CustomExecution(async (resolved) => new BenchTerminal({ ...definition, ...resolved } as OnnxLensTaskDefinition, folder, context, hooks)));
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
  return task;
}

class BenchTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private run?: CliRun;
  private closed = false;

  constructor(
    private readonly definition: OnnxLensTaskDefinition,
    private readonly folder: vscode.WorkspaceFolder | undefined,
    private readonly context: BenchTaskContext,
    private readonly hooks: BenchTaskHooks,
  ) {}

  open(): void {
    void this.start();
  }

  /** Terminate Task or closing the terminal: stop the child (SIGTERM, SIGKILL after 0.5 s). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pid = this.run?.pid;
    void this.run?.stop().then(() => this.context.log.appendLine(`bench: stopped pid ${pid}`));
  }

  private line(text = ''): void {
    this.writeEmitter.fire(`${text.replace(/\n/g, '\r\n')}\r\n`);
  }

  private finish(code: number): void {
    if (this.closed) return;
    this.closed = true;
    this.closeEmitter.fire(code);
  }

  private fail(message: string): void {
    this.line(`\x1b[31mONNX Lens: ${message}\x1b[0m`);
    this.context.log.appendLine(`bench: ${message}`);
    this.hooks.onError?.(message);
    this.finish(1);
  }

  private async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) return this.fail(UNTRUSTED_MESSAGE);
    const folder = this.folder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) return this.fail('an onnx-lens task needs an open workspace folder (its paths are relative to it)');
    let commandLine;
    let budget;
    try {
      commandLine = taskCommandLine(this.definition, folder);
      budget = budgetOf(this.definition, accuracyBudget());
    } catch (e) {
      if (e instanceof TaskDefinitionError) return this.fail(e.message);
      throw e;
    }
    const rel = (f: string) => path.relative(folder, f) || f;
    this.line(`ONNX Lens: bench ${rel(commandLine.model)}${commandLine.baseline ? ` vs ${rel(commandLine.baseline)}` : ''} on ${rel(commandLine.data)} (budget ${budget} pp top-1)`);
    const started = Date.now();
    let progressShown = false;
    let firstFraction: { at: number; fraction: number } | undefined;
    const run = runCli(this.context.cliScript, commandLine.args, {
      cwd: folder,
      onProgress: (p) => {
        // ETA from the rate since the first measured step (opening the sessions is not representative).
        const now = Date.now();
        if (!firstFraction && p.fraction > 0) firstFraction = { at: now, fraction: p.fraction };
        const rate = firstFraction && p.fraction > firstFraction.fraction ? (p.fraction - firstFraction.fraction) / (now - firstFraction.at) : 0;
        const eta = rate > 0 ? Math.round((1 - p.fraction) / rate / 1000) : undefined;
        const counts = p.done !== undefined && p.total !== undefined ? `${p.phase === 'latency' ? 'runs' : 'samples'} ${p.done}/${p.total}` : '';
        this.writeEmitter.fire(`\r\x1b[K${p.phase ?? ''} ${counts} · ${Math.round(100 * p.fraction)} %${eta !== undefined ? ` · ETA ${formatSeconds(eta)}` : ''} · ${p.message}`);
        progressShown = true;
        this.hooks.onProgress?.(p, eta);
      },
      onStderrLine: (line) => {
        if (progressShown) { this.writeEmitter.fire('\r\n'); progressShown = false; }
        this.line(`\x1b[33m${line}\x1b[0m`);
      },
    });
    this.run = run;
    this.context.log.appendLine(`bench: started pid ${run.pid}: onnx-lens ${commandLine.args.join(' ')}`);
    if (this.closed) await run.stop(); // closed while starting
    const outcome = await run.outcome;
    if (progressShown) this.writeEmitter.fire('\r\n');
    if (outcome.kind === 'stopped') {
      this.context.log.appendLine(`bench: pid ${run.pid} cancelled`);
      return;
    }
    if (outcome.kind === 'failed') {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
      return this.fail(`the benchmark process ${how}${outcome.lastStderrLine ? `: ${outcome.lastStderrLine.replace(/^onnx-lens: /, '')}` : ''}`);
    }
    let result: BenchJson;
    try {
      result = JSON.parse(outcome.stdout) as BenchJson;
    } catch {
      return this.fail(`the benchmark printed no result (stdout: ${outcome.stdout.slice(0, 200) || 'empty'})`);
    }
    this.line();
    for (const row of resultTable(result)) this.line(row);
    const target = this.hooks.diagnosticUri ?? vscode.Uri.file(commandLine.model);
    const diagnostic = this.context.diagnostics.set(target, result, budget);
    const verdict = benchVerdict(result, budget);
    const colour = verdict.severity === 'error' ? 31 : verdict.severity === 'warning' ? 33 : 32;
    this.line();
    this.line(`\x1b[${colour}m${verdict.severity}: ${verdict.message}\x1b[0m`);
    this.line(`(${((Date.now() - started) / 1000).toFixed(1)} s; the result is in the Problems panel on ${rel(target.fsPath)})`);
    this.context.log.appendLine(`bench: pid ${run.pid} done: ${verdict.severity}: ${verdict.message}`);
    this.hooks.onResult?.(result, diagnostic);
    this.finish(0);
  }
}

function formatSeconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${s} s`;
}
