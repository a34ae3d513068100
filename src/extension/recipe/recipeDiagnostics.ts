// The problems a recipe editor shows: the parser's (YAML, schema, option checks), a model file that does not
// exist, and selectors that match nothing in the model the recipe names (the CLI would stop on them).
import type { ParsedRecipe, TextRange } from '../../core/recipe/types';
import { matchSelector, type RecipeModel } from './layerMatch';

export interface RecipeDiagnostic {
  range: TextRange;
  message: string;
  severity: 'error' | 'warning' | 'info';
  /** set on unknown selectors; the quick fix offers these layer names instead */
  suggestions?: string[];
  code?: 'unknown-layer' | 'no-weights' | 'missing-model' | 'schema';
}

/** Suggestions are looked up for this many unknown selectors at most (each compares against every layer). */
const MAX_SUGGESTED = 20;

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** Layer names within a few edits of `name` (a typo), closest first. */
export function similarLayers(name: string, model: RecipeModel, max = 3): string[] {
  const target = name.toLowerCase();
  const limit = Math.max(2, Math.floor(target.length / 3));
  return model.layers
    .map((l) => ({ name: l.name, d: editDistance(target, l.name.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map((x) => x.name);
}

export function parseDiagnostics(parsed: ParsedRecipe): RecipeDiagnostic[] {
  return parsed.problems.map((p) => ({ range: p.range, message: p.message, severity: p.severity, code: 'schema' }));
}

/** Problems with the selectors of every step, checked against the model's nodes. */
export function selectorDiagnostics(parsed: ParsedRecipe, model: RecipeModel, modelName: string): RecipeDiagnostic[] {
  const out: RecipeDiagnostic[] = [];
  let suggested = 0;
  for (const step of parsed.steps) {
    for (const s of step.selectors) {
      const match = matchSelector(s.value, model);
      if (match.layers.length > 0) continue;
      if (match.nodes > 0) {
        out.push({ range: s.range, severity: 'warning', code: 'no-weights', message: `'${s.value}' matches ${match.nodes} node${match.nodes === 1 ? '' : 's'} of ${modelName} but no layer with weights: the ${step.kind ?? ''} step leaves ${match.nodes === 1 ? 'it' : 'them'} alone` });
        continue;
      }
      const pattern = s.value.startsWith('op:') || /[*?]/.test(s.value) ? 'selector' : 'layer';
      const suggestions = pattern === 'layer' && suggested++ < MAX_SUGGESTED ? similarLayers(s.value.replace(/^name:/, ''), model) : [];
      const hint = suggestions.length ? ` (did you mean '${suggestions[0]}'?)` : '';
      out.push({
        range: s.range, severity: 'error', code: 'unknown-layer', suggestions,
        message: pattern === 'layer' ? `unknown layer '${s.value}': ${modelName} has no node of that name${hint}` : `selector '${s.value}' matches no node of ${modelName}`,
      });
    }
  }
  return out;
}
