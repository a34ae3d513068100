// The "Compare: a.onnx ↔ b.onnx" panel: both models analysed in worker threads (never on the host's event loop),
// matched by layer name (core/analysis/compare.ts) and shown by the editor's webview bundle in its compare mode.
// "Measure on data…" runs `onnx-lens compare A B --data D --json` as a child process: onnxruntime never runs here.
import path from 'node:path';
import * as vscode from 'vscode';
import { compareReports } from '../../core/analysis/compare';
import type { LayerStats, ModelReport } from '../../core/analysis/report';
import type { ModelComparison } from '../../core/eval/compareModels';
import { unpackRows, type HostToWebview } from '../../protocol';
import { trustedOrRefuse } from '../bench/benchSettings';
import { evaluationSet } from '../bench/runBenchmark';
import { runCli, type CliRun } from '../bench/cliProcess';
import { analyseOnce } from '../editor/analysisClient';
import type { Analysis } from '../editor/analysisProtocol';
import { openBundlePanel } from '../editor/webviewPanel';

export const COMPARE_VIEW_TYPE = 'onnxLens.compare';

/** "evaluating /x/a.onnx: 3/10" — the CLI's progress lines on stderr (cli/bench.ts progressPrinter). */
const PROGRESS_LINE = /^evaluating (.+): (\d+)\/(\d+)$/;

export function openComparePanel(context: vscode.ExtensionContext, log: vscode.OutputChannel, a: vscode.Uri, b: vscode.Uri): vscode.WebviewPanel {
  const [nameA, nameB] = [path.basename(a.fsPath), path.basename(b.fsPath)];
  let measuring: CliRun | undefined;
  const view = openBundlePanel(context, log, {
    viewType: COMPARE_VIEW_TYPE, title: `Compare: ${nameA} ↔ ${nameB}`,
    initial: { type: 'status', phase: 'analysing', message: `Analysing ${nameA} and ${nameB}…` },
    onEvent: (ev) => { if (ev.type === 'measureFidelity' && !measuring) void measure(); },
    onDispose: () => void measuring?.stop(),
  });
  /** Fidelity progress passes; the rest is the view's content. */
  const show = (m: HostToWebview) => (m.type === 'fidelity' ? view.notify(m) : view.show(m));

  const worker = path.join(context.extensionUri.fsPath, 'dist', 'analysisWorker.js');
  void (async () => {
    try {
      const [ra, rb] = await Promise.all([analyseOnce(worker, a.fsPath), analyseOnce(worker, b.fsPath)]);
      const comparison = compareReports(unpacked(ra), unpacked(rb));
      log.appendLine(`Compared ${a.fsPath} ↔ ${b.fsPath}: size ×${comparison.sizeRatio.toFixed(3)}, ${comparison.layers.filter((l) => l.changed).length} of ${comparison.layers.length} layers differ`);
      if (!view.disposed) show({ type: 'compare', a: { fileName: nameA, report: ra.report }, b: { fileName: nameB, report: rb.report }, comparison });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.appendLine(`Comparing ${a.fsPath} ↔ ${b.fsPath} failed: ${message}`);
      if (!view.disposed) show({ type: 'failed', message });
    }
  })();

  async function measure(): Promise<void> {
    if (!(await trustedOrRefuse())) return;
    const folder = vscode.workspace.getWorkspaceFolder(a) ?? vscode.workspace.getWorkspaceFolder(b) ?? vscode.workspace.workspaceFolders?.[0];
    const set = folder ? await evaluationSet(folder) : await pickData();
    if (!set || view.disposed) return;
    const args = ['compare', a.fsPath, b.fsPath, '--data', set.data, ...(set.labels ? ['--labels', set.labels] : []), '--json'];
    log.appendLine(`Measuring: onnx-lens ${args.join(' ')}`);
    show({ type: 'fidelity', message: `Running both models on ${path.basename(set.data)}…` });
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `ONNX Lens: comparing outputs of ${nameA} ↔ ${nameB}`, cancellable: true }, async (progress, token) => {
      let reported = 0;
      const run = runCli(path.join(context.extensionUri.fsPath, 'dist', 'cli.js'), args, {
        cwd: folder?.uri.fsPath,
        onStderrLine: (line) => {
          const p = PROGRESS_LINE.exec(line);
          if (!p) return;
          // A's run is the first half of the work, B's the second.
          const fraction = ((p[1] === a.fsPath ? 0 : 1) + Number(p[2]) / Math.max(1, Number(p[3]))) / 2;
          const message = `${path.basename(p[1])}: ${p[2]}/${p[3]} samples`;
          progress.report({ message, increment: Math.max(0, 100 * fraction - reported) });
          reported = Math.max(reported, 100 * fraction);
          show({ type: 'fidelity', message: `Evaluating ${message}…` });
        },
      });
      measuring = run;
      const cancel = token.onCancellationRequested(() => void run.stop());
      const outcome = await run.outcome.finally(() => { cancel.dispose(); measuring = undefined; });
      if (view.disposed) return;
      if (outcome.kind === 'stopped') { show({ type: 'fidelity', error: 'Measuring was cancelled.' }); return; }
      if (outcome.kind === 'failed') {
        log.appendLine(outcome.stderr);
        const error = outcome.lastStderrLine || `onnx-lens compare exited with code ${outcome.code}`;
        show({ type: 'fidelity', error });
        void vscode.window.showErrorMessage(`ONNX Lens: comparing outputs failed: ${error}`);
        return;
      }
      const result = JSON.parse(outcome.stdout) as ModelComparison;
      if (!result.outputs) { show({ type: 'fidelity', error: 'onnx-lens compare reported no outputs' }); return; }
      log.appendLine(`Outputs on ${result.outputs.n} samples: agreement ${result.outputs.agreement}, max |Δ| ${result.outputs.maxAbsDiff}`);
      show({ type: 'fidelity', outputs: result.outputs, data: path.basename(set.data) });
    });
  }
  return view.panel;
}

/** Without a workspace folder there is nowhere to remember the choice: ask each time. */
async function pickData(): Promise<{ data: string; labels?: string } | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true, canSelectFolders: true, canSelectMany: false,
    title: 'Evaluation data: a folder of class folders of images, a flat image folder, or a float32 .npy', openLabel: 'Use as evaluation data',
  });
  return picked?.[0] ? { data: picked[0].fsPath } : undefined;
}

function unpacked(analysis: Analysis): ModelReport {
  const layers = unpackRows(analysis.report.layers);
  if (!layers) throw new Error('the analysis worker sent malformed layers');
  return { model: analysis.report.model, layers: layers as unknown as LayerStats[] };
}
