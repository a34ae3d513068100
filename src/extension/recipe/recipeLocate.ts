// What of a parsed recipe is at a text offset: the step, the selector, the option, and the model the recipe names.
import { isMap, isScalar, parseDocument } from 'yaml';
import type { OptionNode, ParsedRecipe, SelectorNode, StepNode, TextRange } from '../../core/recipe/types';

/** Offsets at both ends count: a cursor right after a word is still on it. */
const within = (r: TextRange, offset: number) => r[0] <= offset && offset <= r[1];

export function stepAt(parsed: ParsedRecipe, offset: number): StepNode | undefined {
  return parsed.steps.find((s) => within(s.range, offset));
}

export function selectorAt(parsed: ParsedRecipe, offset: number): { step: StepNode; selector: SelectorNode } | undefined {
  for (const step of parsed.steps) {
    if (!within(step.range, offset)) continue;
    const selector = step.selectors.find((s) => within(s.range, offset));
    if (selector) return { step, selector };
  }
  return undefined;
}

export function optionKeyAt(parsed: ParsedRecipe, offset: number): { step: StepNode; option: OptionNode } | undefined {
  for (const step of parsed.steps) {
    const option = step.options.find((o) => within(o.keyRange, offset));
    if (option) return { step, option };
  }
  return undefined;
}

/** The `model:` value as written (a path relative to the recipe file) and where it is, if it is a string. */
export function modelReference(text: string): { path: string; range: TextRange } | undefined {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return undefined;
  const node: unknown = doc.contents.get('model', true);
  if (!isScalar(node) || !node.range) return undefined;
  const value: unknown = node.value;
  if (typeof value !== 'string' || !value.trim()) return undefined;
  return { path: value, range: [node.range[0], node.range[1]] };
}
