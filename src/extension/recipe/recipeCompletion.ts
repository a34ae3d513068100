// Completions in a recipe: top-level and step option names and values from the schema table (core/recipe/schema.ts),
// step kinds, and layer selectors (`name:LABEL`, plain names, `op:Type`) from the model the recipe names.
// Where the cursor is in the YAML is found by parsing the text with a placeholder in place of the word being
// typed, so that half-written lines (`      spa`, `- `, `mode: `) still have a place in the document.
import { isMap, isPair, isScalar, isSeq, parse as parseYaml, parseDocument, visit, type Scalar } from 'yaml';
import { RECIPE_SCHEMA, STEP_SCHEMAS, type ObjectSpec, type ValueSpec } from '../../core/recipe/schema';
import { exactSelector } from '../../core/select';
import { formatPercent } from '../../protocol';
import { layerOps, matchSelector, type RecipeModel } from './layerMatch';

export type CompletionContext =
  /** a key of the map at `path` (['steps', 0, 'prune'] for a prune step's options), or a step kind at ['steps', i] */
  | { kind: 'key'; path: (string | number)[]; existing: string[]; range: [number, number]; colonFollows: boolean }
  /** the value of `key` in the map at `path` */
  | { kind: 'value'; path: (string | number)[]; key: string; range: [number, number]; quote?: string }
  /** an item of the `steps` list */
  | { kind: 'step'; range: [number, number] }
  /** an item of a `layers` or `exclude` list */
  | { kind: 'selector'; range: [number, number]; quote?: string };

export interface CompletionEntry {
  label: string;
  /** what replaces the context's range; `snippet` marks VS Code snippet syntax (`${1:0.5}`) */
  insertText: string;
  snippet?: boolean;
  kind: 'property' | 'value' | 'step' | 'layer' | 'op';
  detail?: string;
  documentation?: string;
  /** keeps layers in graph order */
  sortText?: string;
}

const PLACEHOLDER = 'onnxlensCompletionHere';
const WORD = /[^\s,[\]{}"'#]/;

/** The word around `offset` (what a completion replaces): inside quotes, the quoted text. */
function wordAt(text: string, offset: number): { range: [number, number]; quote?: string } {
  let start = offset;
  while (start > 0 && WORD.test(text[start - 1])) start--;
  let end = offset;
  while (end < text.length && WORD.test(text[end])) end++;
  // `sparsity:` typed up to the colon: the colon is YAML, not part of the key.
  if (text[end - 1] === ':' && end === offset) end--;
  const before = text[start - 1];
  const quote = before === '"' || before === "'" ? before : undefined;
  if (quote) {
    end = offset;
    while (end < text.length && text[end] !== quote && text[end] !== '\n') end++;
    start = text.lastIndexOf(quote, offset - 1) + 1;
  }
  return { range: [start, end], quote };
}

export function completionContext(text: string, offset: number): CompletionContext | undefined {
  const { range, quote } = wordAt(text, offset);
  // A word alone on its line is a key being typed: `PLACEHOLDER:` keeps it from continuing the scalar above.
  const lineStart = text.lastIndexOf('\n', range[0] - 1) + 1;
  const lineEnd = text.indexOf('\n', range[1]);
  const alone = !quote && text.slice(lineStart, range[0]).trim() === '' && text.slice(range[1], lineEnd < 0 ? text.length : lineEnd).trim() === '';
  const probe = text.slice(0, range[0]) + PLACEHOLDER + (alone ? ':' : '') + text.slice(range[1]);
  const doc = parseDocument(probe);
  let found: CompletionContext | undefined;
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (node.value !== PLACEHOLDER) return undefined;
      const path: (string | number)[] = [];
      for (let i = 1; i < ancestors.length; i++) {
        const a = ancestors[i], parent = ancestors[i - 1];
        if (isPair(a) && isScalar(a.key)) path.push(String(a.key.value));
        else if (isSeq(parent)) path.push(parent.items.indexOf(a as never));
      }
      const container = ancestors.at(-1);
      const inSteps = path.length === 1 && path[0] === 'steps';
      if (isSeq(container)) {
        const list = path.at(-1);
        if (inSteps) found = { kind: 'step', range };
        else if (list === 'layers' || list === 'exclude') found = { kind: 'selector', range, quote };
        return visit.BREAK;
      }
      if (isPair(container)) {
        const map = ancestors.at(-2);
        if (key === 'key') {
          path.pop();
          const existing = isMap(map) ? map.items.map((p) => String((p.key as Scalar | null)?.value ?? '')).filter((k) => k !== PLACEHOLDER) : [];
          found = { kind: 'key', path, existing, range, colonFollows: /^[ \t]*:/.test(text.slice(range[1])) };
        } else {
          const k = path.pop() as string;
          found = path.length === 2 && path[0] === 'steps' && (k === 'layers' || k === 'exclude') ? { kind: 'selector', range, quote } : { kind: 'value', path, key: k, range, quote };
        }
        return visit.BREAK;
      }
      return visit.BREAK;
    },
  });
  return found;
}

/** The schema of the map at `path`: the recipe, calibration/evaluation/budget, or a step's options. */
function mapSpec(path: readonly (string | number)[]): ObjectSpec | undefined {
  if (path[0] === 'steps') return path.length === 3 ? STEP_SCHEMAS[path[2] as keyof typeof STEP_SCHEMAS] : undefined;
  let spec: ObjectSpec = RECIPE_SCHEMA;
  for (const k of path) {
    const next: ValueSpec | undefined = spec.properties[String(k)];
    if (next?.type !== 'object') return undefined;
    spec = next;
  }
  return spec;
}

const STEP_SNIPPETS: Record<string, string> = {
  prune: 'prune: { sparsity: ${1:0.5} }',
  quantize: 'quantize: { mode: ${1|static,dynamic,weight|} }',
};

function stepKinds(asKey: boolean): CompletionEntry[] {
  return Object.keys(STEP_SCHEMAS).map((k) => ({
    label: k,
    insertText: asKey ? k : STEP_SNIPPETS[k] ?? `${k}: {}`,
    snippet: !asKey,
    kind: 'step' as const,
    detail: `${k} step`,
    documentation: `Options: ${Object.keys(STEP_SCHEMAS[k as keyof typeof STEP_SCHEMAS].properties).join(', ')}`,
  }));
}

function valuesOf(spec: ValueSpec): (string | number | boolean)[] {
  switch (spec.type) {
    case 'enum': return [...spec.values];
    case 'boolean': return [true, false];
    case 'fraction': return [0.5, 0.7, '50%'];
    default: return [];
  }
}

/** A selector as YAML: plain when it reads back as that same string in a flow list, else double-quoted. */
export function yamlString(s: string, quote?: string): string {
  if (quote === '"') return JSON.stringify(s).slice(1, -1);
  if (quote === "'") return s.replace(/'/g, "''");
  let plainOk = /^[^\s\-?:,[\]{}#&*!|>'"%@`][^\s,[\]{}#]*$/.test(s) && !s.endsWith(':');
  if (plainOk) {
    try { plainOk = (parseYaml(`[${s}]`) as unknown[])[0] === s; } catch { plainOk = false; }
  }
  return plainOk ? s : JSON.stringify(s);
}

function selectors(model: RecipeModel | undefined, quote: string | undefined): CompletionEntry[] {
  if (!model) return [];
  const out: CompletionEntry[] = [];
  const width = String(model.layers.length).length;
  model.layers.forEach((l, i) => {
    const detail = `${l.op} · ${l.params.toLocaleString('en-US')} params · ${formatPercent(l.sparsity)} sparse · ${l.bits}-bit`;
    const sortText = `1${String(i).padStart(width, '0')}`;
    const exact = exactSelector(l.name);
    out.push({ label: exact, insertText: yamlString(exact, quote), kind: 'layer', detail, sortText: `${sortText}a` });
    // The plain name only where it selects exactly this layer (not an op type, glob or several nodes).
    const plain = matchSelector(l.name, model);
    if (plain.nodes === 1 && plain.layers.length === 1 && plain.layers[0] === l) {
      out.push({ label: l.name, insertText: yamlString(l.name, quote), kind: 'layer', detail, sortText: `${sortText}b` });
    }
  });
  for (const { op, count } of layerOps(model)) {
    const sel = `op:${op}`;
    out.push({ label: sel, insertText: yamlString(sel, quote), kind: 'op', detail: `${count} ${op} layer${count === 1 ? '' : 's'}`, sortText: `0${sel}` });
  }
  return out;
}

export function completions(ctx: CompletionContext, model?: RecipeModel): CompletionEntry[] {
  switch (ctx.kind) {
    case 'step': return stepKinds(false);
    case 'selector': return selectors(model, ctx.quote);
    case 'key': {
      if (ctx.path.length === 2 && ctx.path[0] === 'steps') return stepKinds(true);
      const spec = ctx.path.length === 0
        ? { ...RECIPE_SCHEMA, properties: { ...RECIPE_SCHEMA.properties, steps: { type: 'selectors', description: 'compression steps, run in order' } as ValueSpec } }
        : mapSpec(ctx.path);
      if (!spec) return [];
      return Object.entries(spec.properties).filter(([k]) => !ctx.existing.includes(k)).map(([k, v]) => ({
        label: k,
        insertText: ctx.colonFollows ? k : `${k}: `,
        kind: 'property' as const,
        detail: spec.required?.includes(k) ? `${v.type} (required)` : v.type,
        documentation: v.description,
      }));
    }
    case 'value': {
      const spec = mapSpec(ctx.path)?.properties[ctx.key];
      if (!spec) return [];
      return valuesOf(spec).map((v) => ({
        label: String(v),
        insertText: typeof v === 'string' ? yamlString(v, ctx.quote) : String(v),
        kind: 'value' as const,
        documentation: spec.description,
      }));
    }
  }
}
