// Quick-fix edits of a recipe: a step's options changed (or a step appended) with the `yaml` package's
// Document API, and only the affected step's text replaced, so the rest of the file stays as the user wrote it.
import { isDeepStrictEqual } from 'node:util';
import { isMap, isSeq, parseDocument, type Document, type YAMLMap, type YAMLSeq } from 'yaml';

/** Replace `[start, end)` of the text (0-based offsets) with `newText`. */
export interface TextEdit { range: [number, number]; newText: string }

const TO_STRING = { lineWidth: 0 } as const;

export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  return [...edits].sort((a, b) => b.range[0] - a.range[0]).reduce((t, e) => t.slice(0, e.range[0]) + e.newText + t.slice(e.range[1]), text);
}

const column = (text: string, offset: number) => offset - (text.lastIndexOf('\n', offset - 1) + 1);

/** Moves every line but the first by `delta` columns (YAML block content only needs consistent indentation). */
function reindent(s: string, delta: number): string {
  if (delta === 0) return s;
  return s.split('\n').map((line, i) => {
    if (i === 0 || line.trim() === '') return line;
    if (delta > 0) return ' '.repeat(delta) + line;
    const lead = line.length - line.trimStart().length;
    return line.slice(Math.min(lead, -delta));
  }).join('\n');
}

/** One edit turning `before` into `after`: the span between their common prefix and suffix. */
function minimalEdit(before: string, after: string): TextEdit {
  let start = 0;
  while (start < before.length && start < after.length && before[start] === after[start]) start++;
  let end = 0;
  while (end < before.length - start && end < after.length - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++;
  return { range: [start, before.length - end], newText: after.slice(start, after.length - end) };
}

/** The edit is kept only if the edited text parses without errors to exactly what the Document holds. */
function verified(text: string, edit: TextEdit, doc: Document): boolean {
  const edited = parseDocument(applyEdits(text, [edit]));
  return edited.errors.length === 0 && isDeepStrictEqual(edited.toJS(), doc.toJS());
}

function stepsOf(doc: Document): YAMLSeq | undefined {
  const steps = doc.get('steps', true);
  return isSeq(steps) ? steps : undefined;
}

/**
 * The edit replacing step `index` of `text` by that step of the mutated `doc` (parsed from `text`), or,
 * when that cannot be done cleanly, the smallest edit to the whole re-stringified document.
 */
function stepEdit(text: string, doc: Document, index: number): TextEdit {
  const after = doc.toString(TO_STRING);
  const oldItem = stepsOf(parseDocument(text))?.items[index] as { range?: [number, number, number] } | undefined;
  const newItem = stepsOf(parseDocument(after))?.items[index] as { range?: [number, number, number] } | undefined;
  if (oldItem?.range && newItem?.range) {
    const [os, oe] = oldItem.range;
    const [ns, ne] = newItem.range;
    const oldText = text.slice(os, oe).trimEnd();
    const newText = reindent(after.slice(ns, ne).trimEnd(), column(text, os) - column(after, ns));
    const edit: TextEdit = { range: [os, os + oldText.length], newText };
    if (verified(text, edit, doc)) return edit;
  }
  return minimalEdit(text, after);
}

/** The options map of step `index` (`- kind: {…}`), created when the step has none; undefined if no such step. */
function stepOptions(doc: Document, index: number): YAMLMap | undefined {
  const item = stepsOf(doc)?.items[index];
  if (!isMap(item) || item.items.length !== 1) return undefined;
  const pair = item.items[0];
  if (isMap(pair.value)) return pair.value;
  const options = doc.createNode({}) as YAMLMap;
  // `- prune:` followed by nothing: the options become a flow map on the same line.
  options.flow = true;
  pair.value = options;
  return options;
}

/** Sets option `key` of step `index` to `value` (keeping the number's written precision, e.g. 0.50 → 0.70). */
export function setStepOption(text: string, index: number, key: string, value: unknown): TextEdit | undefined {
  const doc = parseDocument(text);
  const options = stepOptions(doc, index);
  if (!options) return undefined;
  options.set(key, value);
  return stepEdit(text, doc, index);
}

/** Adds `selector` to the `exclude` list of step `index` (creating the list); undefined when already there. */
export function addExclude(text: string, index: number, selector: string): TextEdit | undefined {
  const doc = parseDocument(text);
  const options = stepOptions(doc, index);
  if (!options) return undefined;
  const exclude = options.get('exclude', true);
  if (isSeq(exclude)) {
    if (exclude.items.some((s) => (s as { value?: unknown }).value === selector)) return undefined;
    exclude.add(doc.createNode(selector));
  } else {
    const list = doc.createNode([selector]) as YAMLSeq;
    // In a flow step (`{ sparsity: 0.5 }`) the list must be flow too; block steps get a flow list as well,
    // which reads like the editor's exported recipes: exclude: ["name:…"].
    list.flow = true;
    options.set('exclude', list);
  }
  return stepEdit(text, doc, index);
}

/** Appends `step` (e.g. { quantize: { mode: 'weight', … } }) after the last step, in the style of the last one. */
export function appendStep(text: string, step: Record<string, Record<string, unknown>>): TextEdit | undefined {
  const doc = parseDocument(text);
  const steps = stepsOf(doc);
  if (!steps) return undefined;
  const last = steps.items[steps.items.length - 1];
  const lastOptions = isMap(last) && last.items.length === 1 ? last.items[0].value : undefined;
  const node = doc.createNode(step) as YAMLMap;
  const options = node.items[0]?.value;
  if (isMap(options) && isMap(lastOptions) && lastOptions.flow) {
    options.flow = true;
    for (const p of options.items) if (isSeq(p.value)) p.value.flow = true;
  }
  steps.add(node);
  const after = doc.toString(TO_STRING);
  const oldLast = stepsOf(parseDocument(text))?.items.at(-1) as { range?: [number, number, number] } | undefined;
  const newSteps = stepsOf(parseDocument(after));
  const prev = newSteps?.items.at(-2) as { range?: [number, number, number] } | undefined;
  const added = newSteps?.items.at(-1) as { range?: [number, number, number] } | undefined;
  if (!steps.flow && oldLast?.range && prev?.range && added?.range) {
    // Everything from the end of the previous item to the end of the new one: "\n  - quantize: …".
    const oldEnd = oldLast.range[0] + text.slice(oldLast.range[0], oldLast.range[1]).trimEnd().length;
    const prevEnd = prev.range[0] + after.slice(prev.range[0], prev.range[1]).trimEnd().length;
    const dashColumn = (t: string, itemStart: number) => t.lastIndexOf('-', itemStart);
    const delta = column(text, dashColumn(text, oldLast.range[0])) - column(after, dashColumn(after, prev.range[0]));
    const inserted = after.slice(prevEnd, added.range[0] + after.slice(added.range[0], added.range[1]).trimEnd().length);
    const edit: TextEdit = { range: [oldEnd, oldEnd], newText: reindent(inserted, delta) };
    if (verified(text, edit, doc)) return edit;
  }
  return minimalEdit(text, after);
}
