// Writes a recipe as YAML in the shape DESIGN.md shows: top-level keys in schema order, one line per step
// (`- prune: { sparsity: 0.5, layers: [name:/c1/Conv] }`). parseRecipe(stringifyRecipe(r)).recipe equals r.
import { Document, isMap, isSeq } from 'yaml';
import type { Recipe } from './types';

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export function stringifyRecipe(recipe: Recipe): string {
  const { model, output, calibration, evaluation, steps } = recipe;
  const doc = new Document(defined({
    model, output, calibration: calibration && defined(calibration), evaluation: evaluation && defined(evaluation),
    steps: steps.map(({ kind, ...options }) => ({ [kind]: defined(options) })),
  }));
  const stepsNode = doc.get('steps');
  if (isSeq(stepsNode)) {
    for (const item of stepsNode.items) {
      if (!isMap(item)) continue;
      for (const pair of item.items) if (isMap(pair.value)) pair.value.flow = true;
    }
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: true });
}
