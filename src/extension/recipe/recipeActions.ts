// The quick fixes of a recipe at a cursor: on a selector, "Exclude this layer" and "Quantize this layer to int8
// per-channel"; on a prune step, "Set sparsity to …" and "Add reconstruct"; on an unknown layer, the close names.
import type { ParsedRecipe, PruneStep } from '../../core/recipe/types';
import { exactSelector } from '../../core/select';
import { matchSelector, type RecipeModel } from './layerMatch';
import { yamlString } from './recipeCompletion';
import type { RecipeDiagnostic } from './recipeDiagnostics';
import { addExclude, appendStep, setStepOption, type TextEdit } from './recipeEdits';
import { selectorAt, stepAt } from './recipeLocate';

export interface RecipeAction {
  title: string;
  edit: TextEdit;
  /** the diagnostic it fixes */
  fixes?: RecipeDiagnostic;
  preferred?: boolean;
}

/** Layers of a glob or op selector offered one by one (the first few, in graph order). */
const MAX_LAYER_ACTIONS = 5;
export const SPARSITY_CHOICES = [0.5, 0.7];

const percent = (f: number) => `${Math.round(f * 100)} %`;

/** The step as written, when it parsed; the value of an option of a step that did not parse is unknown. */
function writtenOption(parsed: ParsedRecipe, index: number, key: string, text: string): string | undefined {
  const o = parsed.steps[index]?.options.find((x) => x.key === key);
  return o ? text.slice(o.valueRange[0], o.valueRange[1]) : undefined;
}

export function recipeActions(text: string, parsed: ParsedRecipe, offset: number, model: RecipeModel | undefined, diagnostics: readonly RecipeDiagnostic[] = []): RecipeAction[] {
  const out: RecipeAction[] = [];
  const push = (title: string, edit: TextEdit | undefined, extra: Partial<RecipeAction> = {}) => { if (edit) out.push({ title, edit, ...extra }); };

  for (const d of diagnostics) {
    if (d.code !== 'unknown-layer' || offset < d.range[0] || offset > d.range[1]) continue;
    d.suggestions?.forEach((name, i) => push(`Replace with '${name}'`, { range: d.range, newText: yamlString(name) }, { fixes: d, preferred: i === 0 }));
  }

  const at = selectorAt(parsed, offset);
  if (at && model) {
    const { layers } = matchSelector(at.selector.value, model);
    const one = layers.length === 1;
    for (const l of layers.slice(0, MAX_LAYER_ACTIONS)) {
      const exact = exactSelector(l.name);
      if (at.selector.key === 'layers' && at.step.kind) {
        push(one ? `Exclude this layer from the ${at.step.kind} step` : `Exclude ${l.name} from the ${at.step.kind} step`, addExclude(text, at.step.index, exact));
      }
      push(one ? 'Quantize this layer to int8 per-channel' : `Quantize ${l.name} to int8 per-channel`,
        appendStep(text, { quantize: { mode: 'weight', perChannel: true, layers: [exact] } }));
    }
  }

  const step = at?.step ?? stepAt(parsed, offset);
  if (step?.kind === 'prune') {
    const current = parsed.recipe?.steps[step.index] as PruneStep | undefined;
    const written = writtenOption(parsed, step.index, 'sparsity', text);
    const asPercent = written !== undefined && written.includes('%');
    for (const s of SPARSITY_CHOICES) {
      if (current?.sparsity === s) continue;
      push(`Set sparsity to ${percent(s)}`, setStepOption(text, step.index, 'sparsity', asPercent ? `${Math.round(s * 100)}%` : s));
    }
    const reconstruct = writtenOption(parsed, step.index, 'reconstruct', text);
    if (reconstruct?.trim() !== 'true') push('Add reconstruct', setStepOption(text, step.index, 'reconstruct', true));
  }
  return out;
}
