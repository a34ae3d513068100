// What each task command's JSON result becomes once its run finishes: the table its terminal prints, diagnostics in
// Problems (bench and fit on the model, sensitivity per layer on the model, apply per step on the recipe's lines),
// and an entry in the shared ResultStore (kinds it has: bench, sensitivity, fit, plan).
import fs from 'node:fs';
import * as vscode from 'vscode';
import { parseRecipe } from '../../core/recipe/parse';
import type { ResultKind, ResultStore } from '../results/resultStore';
import { resultDiagnostic, type BenchDiagnostics } from './benchDiagnostics';
import { benchVerdict, type BenchJson, type Severity } from './benchVerdict';
import { fitVerdict, type FitJson } from './fitVerdict';
import { applyTable, fitTable, planTable, resultTable, sensitivityTable, type PlanJson } from './resultTable';
import { sensitivityVerdicts, type SensitivityJson } from './sensitivityVerdict';
import { stepVerdicts, type ApplyJson } from './stepVerdict';
import type { TaskCommand, TaskCommandLine } from './taskDefinition';

export interface ReportContext {
  line: TaskCommandLine;
  budget: number;
  diagnostics: BenchDiagnostics;
  results?: ResultStore;
  /** the file a model-level diagnostic goes on (the document, when the measured model is a temporary copy of it) */
  target: vscode.Uri;
}

export interface TaskReport {
  table: string[];
  /** the verdicts, one line each, coloured by severity */
  verdicts: { severity: Severity; message: string }[];
  /** where the diagnostics went, if any */
  problemsOn?: vscode.Uri;
}

const whole = new vscode.Range(0, 0, 0, 0);

/** Reports `json` (the CLI's --json output) of a finished `command`. */
export async function reportResult(command: TaskCommand, json: unknown, ctx: ReportContext): Promise<TaskReport> {
  const report = await REPORTERS[command](json, ctx);
  const kind = command as ResultKind;
  // A temporary copy (an edited document) is not kept: the file it measured is gone after the run.
  if (command !== 'apply' && ctx.results && ctx.target.fsPath === ctx.line.model) await ctx.results.add(kind, ctx.line.model, json, ctx.line.baseline);
  return report;
}

const REPORTERS: Record<TaskCommand, (json: unknown, ctx: ReportContext) => TaskReport | Promise<TaskReport>> = {
  bench(json, ctx) {
    const r = json as BenchJson;
    const verdict = benchVerdict(r, ctx.budget);
    ctx.diagnostics.set('bench', ctx.target, [resultDiagnostic('bench', whole, verdict)]);
    return { table: resultTable(r), verdicts: [verdict], problemsOn: ctx.target };
  },

  sensitivity(json, ctx) {
    const r = json as SensitivityJson;
    const verdicts = sensitivityVerdicts(r, ctx.budget);
    ctx.diagnostics.set('sensitivity', ctx.target, verdicts.map((v) => resultDiagnostic('sensitivity', whole, v)));
    const summary = r.baseline.top1 === null
      ? { severity: 'information' as const, message: 'unlabelled data: no top-1 change to judge against the budget (give labels)' }
      : verdicts.length === 0
        ? { severity: 'information' as const, message: `no layer costs more than half of the ${ctx.budget} pp budget on its own` }
        : { severity: verdicts[0].severity, message: `${verdicts.filter((v) => v.severity === 'error').length} layers over the ${ctx.budget} pp budget, ${verdicts.filter((v) => v.severity === 'warning').length} over half of it (one diagnostic each)` };
    return { table: sensitivityTable(r), verdicts: [summary], problemsOn: verdicts.length ? ctx.target : undefined };
  },

  fit(json, ctx) {
    const r = json as FitJson;
    const verdict = fitVerdict(r);
    ctx.diagnostics.set('fit', ctx.target, verdict ? [resultDiagnostic('fit', whole, verdict)] : []);
    return { table: fitTable(r), verdicts: [verdict ?? { severity: 'information', message: `fits ${r.device.name}` }], problemsOn: verdict && ctx.target };
  },

  plan(json) {
    const r = json as PlanJson;
    const within = r.withinBudget && -r.measured.deltaTop1 <= r.budget;
    return {
      table: planTable(r),
      verdicts: [{ severity: within ? 'information' : 'warning', message: within ? `the plan meets the ${r.budget} pp budget as measured` : `the plan does not meet the ${r.budget} pp budget` }],
    };
  },

  async apply(json, ctx) {
    const r = json as ApplyJson;
    const recipe = vscode.Uri.file(ctx.line.recipe!);
    const verdicts = stepVerdicts(r, ctx.budget);
    if (verdicts.length === 0) return { table: applyTable(r), verdicts: [{ severity: 'information', message: `wrote ${r.output} (give "data" to measure each step)` }] };
    // The step lines as the recipe reads now: the open document's text, else the file's.
    const document = await vscode.workspace.openTextDocument(recipe);
    const steps = parseRecipe(document.getText(), recipe.fsPath).steps;
    const diagnostics = verdicts.flatMap((v) => {
      const node = steps[v.step];
      if (!node) return [];
      const start = document.positionAt(node.range[0]);
      return [resultDiagnostic('apply', new vscode.Range(start, document.lineAt(start.line).range.end), v)];
    });
    const model = fs.existsSync(r.model) ? [vscode.Uri.file(r.model)] : [];
    ctx.diagnostics.set('apply', recipe, diagnostics, model);
    const worst = verdicts.find((v) => v.severity === 'error') ?? verdicts.find((v) => v.severity === 'warning') ?? verdicts[verdicts.length - 1];
    return { table: applyTable(r), verdicts: [{ severity: worst.severity, message: `step ${worst.step + 1}: ${worst.message}` }], problemsOn: recipe };
  },
};
