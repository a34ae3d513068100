// The `onnx-lens` task (DESIGN.md "Benchmark task and Problems"): a CustomExecution whose pseudoterminal forks the
// CLI (`onnx-lens bench|sensitivity|fit|apply|plan … --json --progress-fd 3`), shows live progress and ETA, prints
// the command's result table, and turns the result into diagnostics and a stored result (taskReports.ts). Closing
// the terminal or terminating the task stops the child.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { DeviceProfileError, userDeviceProfiles } from '../../core/device/userProfiles';
import { parseRecipe } from '../../core/recipe/parse';
import type { ResultStore } from '../results/resultStore';
import type { BenchDiagnostics } from './benchDiagnostics';
import { runCli, type CliRun, type ProgressEvent } from './cliProcess';
import { reportResult } from './taskReports';
import { budgetOf, TASK_TYPE, taskCommandLine, TaskDefinitionError, type OnnxLensTaskDefinition, type TaskCommandLine, type TaskDefaults } from './taskDefinition';
import { accuracyBudget, chosenDevice, deviceProfilesSetting, UNTRUSTED_MESSAGE } from './benchSettings';

/** What a run reports to whoever started it (Run Benchmark's and Plan's progress notifications). */
export interface BenchTaskHooks {
  /** the file the diagnostic goes on, when the benchmarked model is a temporary copy of an edited document */
  diagnosticUri?: vscode.Uri;
  onProgress?(p: ProgressEvent, etaSeconds: number | undefined): void;
  /** the command's --json result, once it is reported */
  onResult?(result: unknown): void;
  onError?(message: string): void;
}

export interface BenchTaskContext {
  cliScript: string;
  diagnostics: BenchDiagnostics;
  /** where finished runs are kept (bench, sensitivity, fit, plan) */
  results?: ResultStore;
  log: vscode.OutputChannel;
}

export class BenchTaskProvider implements vscode.TaskProvider {
  constructor(private readonly context: BenchTaskContext) {}

  static register(context: BenchTaskContext): vscode.Disposable {
    return vscode.tasks.registerTaskProvider(TASK_TYPE, new BenchTaskProvider(context));
  }

  /** Tasks come from tasks.json or from the commands; nothing is auto-detected. */
  provideTasks(): vscode.Task[] {
    return [];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    if (task.definition.type !== TASK_TYPE) return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : undefined;
    return createBenchTask(task.definition as OnnxLensTaskDefinition, folder, task.name, this.context);
  }
}

/** A task running `definition`; `hooks` follow this run (the commands use them, tasks.json runs have none). */
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
    void this.run?.stop().then(() => this.context.log.appendLine(`${this.definition.command ?? 'bench'}: stopped pid ${pid}`));
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
    this.context.log.appendLine(`${this.definition.command ?? 'bench'}: ${message}`);
    this.hooks.onError?.(message);
    this.finish(1);
  }

  private async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) return this.fail(UNTRUSTED_MESSAGE);
    const folder = this.folder?.uri.fsPath ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!folder) return this.fail('an onnx-lens task needs an open workspace folder (its paths are relative to it)');
    let commandLine: TaskCommandLine;
    let budget: number;
    let devicesDir: string | undefined;
    try {
      const defaults: TaskDefaults = { budget: accuracyBudget(), device: chosenDevice() };
      if (this.definition.command === 'fit') {
        devicesDir = await userDevicesFile(defaults);
      }
      if (this.definition.command === 'apply' && this.definition.budget === undefined && typeof this.definition.recipe === 'string') {
        defaults.budget = recipeBudget(path.resolve(folder, this.definition.recipe)) ?? defaults.budget;
      }
      commandLine = taskCommandLine(this.definition, folder, defaults);
      budget = budgetOf(this.definition, defaults.budget);
    } catch (e) {
      if (devicesDir) await fs.promises.rm(devicesDir, { recursive: true, force: true });
      if (e instanceof TaskDefinitionError || e instanceof DeviceProfileError) return this.fail(e.message);
      throw e;
    }
    try {
      await this.runCommand(commandLine, budget, folder);
    } finally {
      if (devicesDir) await fs.promises.rm(devicesDir, { recursive: true, force: true });
    }
  }

  private async runCommand(commandLine: TaskCommandLine, budget: number, folder: string): Promise<void> {
    const command = commandLine.command;
    const rel = (f: string) => path.relative(folder, f) || f;
    this.line(`ONNX Lens: ${command} ${rel(commandLine.model)}${commandLine.baseline ? ` vs ${rel(commandLine.baseline)}` : ''}${commandLine.data ? ` on ${rel(commandLine.data)}` : ''}${command === 'fit' ? '' : ` (budget ${budget} pp top-1)`}`);
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
        this.writeEmitter.fire(`\r\x1b[K${progressText(p)} · ${Math.round(100 * p.fraction)} %${eta !== undefined ? ` · ETA ${formatSeconds(eta)}` : ''} · ${p.message}`);
        progressShown = true;
        this.hooks.onProgress?.(p, eta);
      },
      onStderrLine: (line) => {
        if (progressShown) { this.writeEmitter.fire('\r\n'); progressShown = false; }
        this.line(`\x1b[33m${line}\x1b[0m`);
      },
    });
    this.run = run;
    this.context.log.appendLine(`${command}: started pid ${run.pid}: onnx-lens ${commandLine.args.join(' ')}`);
    if (this.closed) await run.stop(); // closed while starting
    const outcome = await run.outcome;
    if (progressShown) this.writeEmitter.fire('\r\n');
    if (outcome.kind === 'stopped') {
      this.context.log.appendLine(`${command}: pid ${run.pid} cancelled`);
      return;
    }
    if (outcome.kind === 'failed') {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
      return this.fail(`the ${command} process ${how}${outcome.lastStderrLine ? `: ${outcome.lastStderrLine.replace(/^onnx-lens: /, '')}` : ''}`);
    }
    let result: unknown;
    try {
      result = JSON.parse(outcome.stdout);
    } catch {
      return this.fail(`${command} printed no result (stdout: ${outcome.stdout.slice(0, 200) || 'empty'})`);
    }
    const target = this.hooks.diagnosticUri ?? vscode.Uri.file(commandLine.model);
    const report = await reportResult(command, result, { line: commandLine, budget, diagnostics: this.context.diagnostics, results: this.context.results, target });
    this.line();
    for (const row of report.table) this.line(row);
    this.line();
    for (const v of report.verdicts) {
      const colour = v.severity === 'error' ? 31 : v.severity === 'warning' ? 33 : 32;
      this.line(`\x1b[${colour}m${v.severity}: ${v.message}\x1b[0m`);
      this.context.log.appendLine(`${command}: pid ${run.pid} done: ${v.severity}: ${v.message}`);
    }
    const where = report.problemsOn ? `; the result is in the Problems panel on ${rel(report.problemsOn.fsPath)}` : '';
    this.line(`(${((Date.now() - started) / 1000).toFixed(1)} s${where})`);
    this.hooks.onResult?.(result);
    this.finish(0);
  }
}

/** "samples 96/300", "layers 3/7", "step 2/3", or the phase alone. */
function progressText(p: ProgressEvent): string {
  if (typeof p.step === 'number' && typeof p.steps === 'number') return `step ${p.step + 1}/${p.steps}`;
  const unit = p.phase === 'latency' ? 'runs' : p.phase === 'layer' ? 'layers' : 'samples';
  return `${p.phase ?? ''} ${p.done !== undefined && p.total !== undefined ? `${unit} ${p.done}/${p.total}` : ''}`.trim();
}

/**
 * onnxLens.deviceProfiles, checked, written to a temporary JSON file for `fit --devices`; sets `defaults.devicesFile`
 * and returns the folder to remove after the run (undefined when there are no user profiles).
 */
async function userDevicesFile(defaults: TaskDefaults): Promise<string | undefined> {
  const profiles = deviceProfilesSetting();
  if (profiles.length === 0) return undefined;
  userDeviceProfiles(profiles, 'onnxLens.deviceProfiles');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'onnx-lens-devices-'));
  defaults.devicesFile = path.join(dir, 'devices.json');
  await fs.promises.writeFile(defaults.devicesFile, JSON.stringify(profiles));
  return dir;
}

/** The recipe's evaluation budget (evaluation.budget.top1Drop), if it reads and has one. */
function recipeBudget(file: string): number | undefined {
  try {
    return parseRecipe(fs.readFileSync(file, 'utf8'), file).recipe?.evaluation?.budget?.top1Drop;
  } catch {
    return undefined;
  }
}

function formatSeconds(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}` : `${s} s`;
}
