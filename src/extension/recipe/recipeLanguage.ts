// Language features of recipe files (`*.onnxlens.yaml`, language `onnxlens-recipe`): diagnostics, hovers with
// layer statistics, completions, quick fixes and an "Apply recipe" CodeLens. The logic lives in the VS Code-free
// modules next to this one; this file adapts them to the VS Code API.
import path from 'node:path';
import * as vscode from 'vscode';
import { parseRecipe } from '../../core/recipe/parse';
import { STEP_SCHEMAS } from '../../core/recipe/schema';
import type { ParsedRecipe, TextRange } from '../../core/recipe/types';
import { selectorHover } from './layerHover';
import { matchSelector, type RecipeModel } from './layerMatch';
import { recipeActions } from './recipeActions';
import { completionContext, completions, type CompletionEntry } from './recipeCompletion';
import { parseDiagnostics, selectorDiagnostics, type RecipeDiagnostic } from './recipeDiagnostics';
import { modelReference, optionKeyAt, selectorAt } from './recipeLocate';
import { RecipeModels } from './recipeModels';

export const RECIPE_LANGUAGE = 'onnxlens-recipe';
const SELECTOR: vscode.DocumentSelector = { language: RECIPE_LANGUAGE };
/** Diagnostics wait for a pause in typing this long. */
const DEBOUNCE_MS = 250;

const SEVERITY = { error: vscode.DiagnosticSeverity.Error, warning: vscode.DiagnosticSeverity.Warning, info: vscode.DiagnosticSeverity.Information } as const;
const ITEM_KIND: Record<CompletionEntry['kind'], vscode.CompletionItemKind> = {
  property: vscode.CompletionItemKind.Property,
  value: vscode.CompletionItemKind.EnumMember,
  step: vscode.CompletionItemKind.Module,
  layer: vscode.CompletionItemKind.Field,
  op: vscode.CompletionItemKind.Class,
};

const toRange = (doc: vscode.TextDocument, r: TextRange) => new vscode.Range(doc.positionAt(r[0]), doc.positionAt(r[1]));

class RecipeLanguage {
  private readonly parses = new Map<string, { version: number; parsed: ParsedRecipe }>();
  /** the last diagnostics of each recipe, with the suggestions the quick fixes need */
  private readonly problems = new Map<string, RecipeDiagnostic[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  readonly diagnostics = vscode.languages.createDiagnosticCollection('onnx-lens-recipe');

  constructor(private readonly models: RecipeModels, private readonly log: vscode.OutputChannel) {}

  parse(doc: vscode.TextDocument): ParsedRecipe {
    const key = doc.uri.toString();
    const hit = this.parses.get(key);
    if (hit?.version === doc.version) return hit.parsed;
    const parsed = parseRecipe(doc.getText(), doc.uri.fsPath);
    this.parses.set(key, { version: doc.version, parsed });
    return parsed;
  }

  /** The model file the recipe names, resolved against the recipe's folder. */
  modelFile(doc: vscode.TextDocument): { file: string; range: TextRange } | undefined {
    const ref = doc.uri.scheme === 'file' ? modelReference(doc.getText()) : undefined;
    return ref && { file: path.resolve(path.dirname(doc.uri.fsPath), ref.path), range: ref.range };
  }

  async model(doc: vscode.TextDocument): Promise<RecipeModel | undefined> {
    const ref = this.modelFile(doc);
    return ref && this.models.get(ref.file).catch(() => undefined);
  }

  schedule(doc: vscode.TextDocument): void {
    if (doc.languageId !== RECIPE_LANGUAGE) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); void this.refresh(doc); }, DEBOUNCE_MS));
  }

  async refresh(doc: vscode.TextDocument): Promise<void> {
    const version = doc.version;
    const parsed = this.parse(doc);
    const found = parseDiagnostics(parsed);
    const publish = (all: RecipeDiagnostic[]) => {
      if (doc.isClosed || doc.version !== version) return;
      this.problems.set(doc.uri.toString(), all);
      this.diagnostics.set(doc.uri, all.map((d) => {
        const diagnostic = new vscode.Diagnostic(toRange(doc, d.range), d.message, SEVERITY[d.severity]);
        diagnostic.source = 'ONNX Lens';
        if (d.code) diagnostic.code = d.code;
        return diagnostic;
      }));
    };
    publish(found);
    const ref = this.modelFile(doc);
    if (!ref) return;
    try {
      const model = await this.models.get(ref.file);
      publish([...found, ...selectorDiagnostics(parsed, model, path.basename(ref.file))]);
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      const message = missing ? `model file not found: ${ref.file}` : `cannot analyse ${path.basename(ref.file)}: ${e instanceof Error ? e.message : String(e)}`;
      if (!missing) this.log.appendLine(`recipe ${doc.uri.fsPath}: ${message}`);
      publish([...found, { range: ref.range, message, severity: 'error', code: 'missing-model' }]);
    }
  }

  forget(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.parses.delete(key);
    this.problems.delete(key);
    this.diagnostics.delete(doc.uri);
  }

  async hover(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const offset = doc.offsetAt(position);
    const parsed = this.parse(doc);
    const at = selectorAt(parsed, offset);
    if (at) {
      const model = await this.model(doc);
      if (!model) return undefined;
      const md = selectorHover(at.selector.value, matchSelector(at.selector.value, model), path.basename(model.file));
      return new vscode.Hover(new vscode.MarkdownString(md), toRange(doc, at.selector.range));
    }
    const opt = optionKeyAt(parsed, offset);
    const spec = opt?.step.kind ? STEP_SCHEMAS[opt.step.kind as keyof typeof STEP_SCHEMAS]?.properties[opt.option.key] : undefined;
    if (opt && spec) return new vscode.Hover(new vscode.MarkdownString(`**${opt.option.key}** (${opt.step.kind}): ${spec.description}`), toRange(doc, opt.option.keyRange));
    return undefined;
  }

  async complete(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[]> {
    const ctx = completionContext(doc.getText(), doc.offsetAt(position));
    if (!ctx) return [];
    const model = ctx.kind === 'selector' ? await this.model(doc) : undefined;
    const range = toRange(doc, ctx.range);
    return completions(ctx, model).map((e) => {
      const item = new vscode.CompletionItem(e.label, ITEM_KIND[e.kind]);
      item.insertText = e.snippet ? new vscode.SnippetString(e.insertText) : e.insertText;
      item.range = range;
      item.detail = e.detail;
      if (e.documentation) item.documentation = new vscode.MarkdownString(e.documentation);
      if (e.sortText) item.sortText = e.sortText;
      return item;
    });
  }

  async actions(doc: vscode.TextDocument, range: vscode.Range, context: vscode.CodeActionContext): Promise<vscode.CodeAction[]> {
    const model = await this.model(doc);
    const found = recipeActions(doc.getText(), this.parse(doc), doc.offsetAt(range.start), model, this.problems.get(doc.uri.toString()));
    return found.map((a) => {
      const action = new vscode.CodeAction(a.title, vscode.CodeActionKind.QuickFix);
      action.edit = new vscode.WorkspaceEdit();
      action.edit.replace(doc.uri, toRange(doc, a.edit.range), a.edit.newText);
      const fixed = a.fixes && context.diagnostics.find((d) => d.message === a.fixes!.message);
      if (fixed) action.diagnostics = [fixed];
      if (a.preferred) action.isPreferred = true;
      return action;
    });
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.diagnostics.dispose();
  }
}

export function registerRecipeLanguage(context: vscode.ExtensionContext, log: vscode.OutputChannel): vscode.Disposable {
  const models = new RecipeModels(path.join(context.extensionUri.fsPath, 'dist', 'analysisWorker.js'));
  const lang = new RecipeLanguage(models, log);
  const openRecipes = () => vscode.workspace.textDocuments.filter((d) => d.languageId === RECIPE_LANGUAGE);
  // A model rewritten by the CLI or the editor: its recipes' diagnostics are checked again (the cache sees the new mtime).
  const modelWatcher = vscode.workspace.createFileSystemWatcher('**/*.onnx');
  const recheck = () => openRecipes().forEach((d) => lang.schedule(d));
  for (const d of openRecipes()) lang.schedule(d);
  return vscode.Disposable.from(
    lang,
    modelWatcher,
    modelWatcher.onDidChange(recheck), modelWatcher.onDidCreate(recheck), modelWatcher.onDidDelete(recheck),
    vscode.workspace.onDidOpenTextDocument((d) => lang.schedule(d)),
    vscode.workspace.onDidChangeTextDocument((e) => lang.schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument((d) => lang.forget(d)),
    vscode.languages.registerHoverProvider(SELECTOR, { provideHover: (d, p) => lang.hover(d, p) }),
    vscode.languages.registerCompletionItemProvider(SELECTOR, { provideCompletionItems: (d, p) => lang.complete(d, p) }, ':', ' ', '[', ',', '"', "'", '-'),
    vscode.languages.registerCodeActionsProvider(SELECTOR, { provideCodeActions: (d, r, c) => lang.actions(d, r, c) }, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.languages.registerCodeLensProvider(SELECTOR, {
      // Runs the editor's Apply Recipe command (onnxLens.applyRecipe) on this file.
      provideCodeLenses: (d) => [new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), { title: '$(play) Apply recipe', command: 'onnxLens.applyRecipe', arguments: [d.uri] })],
    }),
  );
}
