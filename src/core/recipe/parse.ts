// Recipe files (`*.onnxlens.yaml`): YAML parsed with the `yaml` Document API, so every problem and every step,
// option and selector carries its 0-based `[start, end)` offsets into the text (for `file:line:column`
// messages, hovers, diagnostics and quick fixes). Validation follows the table in schema.ts, then the
// cross-option checks in stepChecks.ts. Light imports only: the extension host runs this.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { RECIPE_SCHEMA, STEP_SCHEMAS, type ObjectSpec, type ValueSpec } from './schema';
import { recipeOptionName, stepProblem } from './stepChecks';
import type { OptionNode, ParsedRecipe, Recipe, RecipeProblem, SelectorNode, Step, StepKind, StepNode, TextRange } from './types';

const rangeOf = (node: YamlNode | null | undefined, fallback: TextRange): TextRange =>
  node?.range ? [node.range[0], node.range[1]] : fallback;

const describe = (node: YamlNode | null | undefined): string => {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return node.value === null ? 'nothing' : `${typeof node.value === 'string' ? `'${node.value}'` : String(node.value)}`;
  return 'an alias';
};

class Checker {
  readonly problems: RecipeProblem[] = [];

  error(range: TextRange, message: string): undefined {
    this.problems.push({ message, severity: 'error', range });
    return undefined;
  }

  /** The JS value of `node` if it matches `spec`, else undefined (with a problem). */
  value(node: YamlNode | null | undefined, spec: ValueSpec, path: string, at: TextRange): unknown {
    const range = rangeOf(node, at);
    if (isAlias(node)) return this.error(range, `${path}: YAML aliases are not supported in recipes`);
    if (spec.type === 'object') return this.object(node, spec, path, range);
    if (spec.type === 'selectors' || (spec.type === 'numbers' && isSeq(node))) {
      if (!isSeq(node)) return this.error(range, `${path} must be a list of selectors, got ${describe(node)}`);
      const items = node.items.map((item, i) => this.value(item as YamlNode, spec.type === 'selectors'
        ? { type: 'string', description: '' } : { type: 'number', description: '' }, `${path}[${i}]`, range));
      if (items.some((v) => v === undefined)) return undefined;
      if (spec.type === 'numbers' && items.length !== 1 && items.length !== 3) return this.error(range, `${path} must be one number or three, got ${items.length}`);
      return items;
    }
    const v = isScalar(node) ? node.value : undefined;
    const got = describe(node);
    switch (spec.type) {
      case 'boolean': return typeof v === 'boolean' ? v : this.error(range, `${path} must be true or false, got ${got}`);
      case 'string': return typeof v === 'string' && v !== '' ? v : this.error(range, `${path} must be a non-empty string, got ${got}`);
      case 'enum': return spec.values.includes(v as string | number) ? v : this.error(range, `${path} must be one of ${spec.values.join(', ')}, got ${got}`);
      case 'integer': return Number.isInteger(v) && (v as number) >= spec.minimum ? v : this.error(range, `${path} must be an integer ≥ ${spec.minimum}, got ${got}`);
      case 'number': return typeof v === 'number' && Number.isFinite(v) && (spec.minimum === undefined || v >= spec.minimum)
        ? v : this.error(range, `${path} must be a number${spec.minimum !== undefined ? ` ≥ ${spec.minimum}` : ''}, got ${got}`);
      case 'numbers': return typeof v === 'number' && Number.isFinite(v) ? v : this.error(range, `${path} must be a number or a list of one or three numbers, got ${got}`);
      case 'fraction': {
        const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v) : null;
        const f = typeof v === 'number' ? v : m ? Number(m[1]) / 100 : NaN;
        return f >= 0 && f < 1 ? f : this.error(range, `${path} must be a fraction in [0, 1) or a percentage such as "50%", got ${got}`);
      }
      case 'size': {
        const ok = (Number.isInteger(v) && (v as number) >= 1) || (typeof v === 'string' && /^(\d+)(?:[xX](\d+))?$/.test(v) && !/(^|[xX])0+($|[xX])/.test(v));
        return ok ? v : this.error(range, `${path} must be HxW or N, got ${got}`);
      }
    }
  }

  /** `skip`: a key checked elsewhere (the top level's steps). */
  object(node: YamlNode | null | undefined, spec: ObjectSpec, path: string, range: TextRange, skip?: string): Record<string, unknown> | undefined {
    const empty = node === null || node === undefined || (isScalar(node) && node.value === null);
    if (!empty && !isMap(node)) return this.error(range, `${path} must be a map of options, got ${describe(node)}`);
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const pair of empty ? [] : (node as YAMLMap).items) {
      const keyNode = pair.key as YamlNode | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key !== undefined && key === skip) continue;
      const keyRange = rangeOf(keyNode, range);
      const sub = key !== undefined && Object.hasOwn(spec.properties, key) ? spec.properties[key] : undefined;
      if (!sub) {
        ok = false;
        this.error(keyRange, `unknown key '${key ?? describe(keyNode)}'${path ? ` in ${path}` : ''} (expected ${Object.keys(spec.properties).join(', ')})`);
        continue;
      }
      const v = this.value(pair.value as YamlNode | null, sub, path ? `${path}.${key}` : key!, keyRange);
      if (v === undefined) ok = false;
      else out[key!] = v;
    }
    for (const key of spec.required ?? []) {
      if (key !== skip && !(key in out) && !(empty ? [] : (node as YAMLMap).items).some((p) => isScalar(p.key) && p.key.value === key)) {
        ok = false;
        this.error(range, `${path ? `${path} ` : ''}needs ${key}`);
      }
    }
    return ok ? out : undefined;
  }
}

function pairRange(pair: Pair): TextRange | undefined {
  const k = pair.key as YamlNode | null;
  const v = pair.value as YamlNode | null;
  if (!k?.range) return undefined;
  return [k.range[0], v?.range ? v.range[1] : k.range[1]];
}

/** The step's shape for editor features, whatever its validity. */
function stepNode(item: YamlNode, index: number): StepNode {
  const range = rangeOf(item, [0, 0]);
  const node: StepNode = { index, range, flow: false, options: [], selectors: [] };
  if (!isMap(item) || item.items.length !== 1) return node;
  const [pair] = item.items;
  const key = pair.key as YamlNode | null;
  if (isScalar(key)) {
    node.kind = String(key.value);
    node.kindRange = rangeOf(key, range);
  }
  const options = pair.value as YamlNode | null;
  if (!isMap(options)) return node;
  node.optionsRange = rangeOf(options, range);
  node.flow = options.flow === true;
  for (const p of options.items) {
    const k = p.key as YamlNode | null;
    const v = p.value as YamlNode | null;
    if (!isScalar(k)) continue;
    const keyRange = rangeOf(k, range);
    node.options.push({ key: String(k.value), keyRange, valueRange: rangeOf(v, pairRange(p) ?? keyRange) } satisfies OptionNode);
    if ((k.value === 'layers' || k.value === 'exclude') && isSeq(v)) {
      for (const s of v.items) {
        if (isScalar(s) && typeof s.value === 'string') node.selectors.push({ key: k.value, value: s.value, range: rangeOf(s, keyRange) } satisfies SelectorNode);
      }
    }
  }
  return node;
}

/**
 * Parses and validates a recipe. `file` names the recipe in messages only; paths in the recipe stay as written
 * (relative to the recipe file; see resolveRecipePath). `recipe` is set only when there is no error.
 */
export function parseRecipe(text: string, file?: string): ParsedRecipe {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const check = new Checker();
  const whole: TextRange = [0, text.length];
  for (const e of doc.errors) check.error([e.pos[0], Math.max(e.pos[1], e.pos[0])], e.message.split('\n')[0]);
  for (const w of doc.warnings) check.problems.push({ message: w.message.split('\n')[0], severity: 'warning', range: [w.pos[0], w.pos[1]] });
  const root = doc.contents as YamlNode | null;
  const stepsPair = isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === 'steps') : undefined;
  const stepsNode = stepsPair?.value as YamlNode | null | undefined;
  const steps = isSeq(stepsNode) ? stepsNode.items.map((item, i) => stepNode(item as YamlNode, i)) : [];
  if (doc.errors.length > 0) return { problems: check.problems, steps };
  if (!isMap(root)) {
    check.error(rangeOf(root, whole), `a recipe must be a map with model and steps, got ${describe(root)}`);
    return { problems: check.problems, steps };
  }

  // The top level without steps, then each step.
  const top = check.object(root, { ...RECIPE_SCHEMA, properties: { ...RECIPE_SCHEMA.properties, steps: { type: 'string', description: '' } } }, '', rangeOf(root, whole), 'steps');
  const parsedSteps: Step[] = [];
  if (!stepsPair) check.error([0, 0], 'needs steps');
  else if (!isSeq(stepsNode) || stepsNode.items.length === 0) check.error(rangeOf(stepsNode, rangeOf(stepsPair.key as YamlNode, whole)), `steps must be a list of one or more steps such as '- prune: { sparsity: 0.5 }', got ${describe(stepsNode)}`);
  else {
    stepsNode.items.forEach((item, i) => {
      const step = parseStep(check, item as YamlNode, steps[i], `steps[${i}]`, top?.calibration !== undefined);
      if (step) parsedSteps.push(step);
    });
  }
  const problems = check.problems;
  if (problems.some((p) => p.severity === 'error') || !top) return { problems, steps };
  return { recipe: { ...(top as Omit<Recipe, 'steps'>), steps: parsedSteps }, problems, steps };
}

function parseStep(check: Checker, item: YamlNode, node: StepNode, path: string, hasCalibration: boolean): Step | undefined {
  const kinds = Object.keys(STEP_SCHEMAS);
  if (!isMap(item) || item.items.length !== 1) return check.error(node.range, `${path} must be one step such as '- prune: { sparsity: 0.5 }' (a map with one key: ${kinds.join(' or ')}), got ${describe(item)}`);
  const kind = node.kind ?? '';
  if (!kinds.includes(kind)) return check.error(node.kindRange ?? node.range, `${path}: unknown step kind '${kind}' (expected ${kinds.join(' or ')})`);
  const options = check.object(item.items[0].value as YamlNode | null, STEP_SCHEMAS[kind as StepKind], `${path}.${kind}`, node.kindRange ?? node.range);
  if (!options) return undefined;
  const step = { kind, ...options } as Step;
  const problem = stepProblem(step, { hasCalibration, name: recipeOptionName });
  if (problem) return check.error(node.kindRange ?? node.range, `${path}.${kind}: ${problem}`);
  return step;
}

/** `line:column` (1-based) of a text offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const lc = new LineCounter();
  let at = 0;
  for (const line of text.split('\n')) {
    lc.addNewLine(at);
    at += line.length + 1;
  }
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

/** The one-line form the CLI prints: `file:line:column: message`. */
export function formatProblem(file: string, text: string, problem: RecipeProblem): string {
  const { line, column } = lineColumn(text, problem.range[0]);
  return `${file}:${line}:${column}: ${problem.message}`;
}
