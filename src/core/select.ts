// Layer selectors shared by prune, quantize and recipes: node names, globs (`*`, `?`), op types (`op:Conv`, or
// a bare op type such as `Conv` when no node carries that name), and the exact form `name:LABEL`: everything
// after `name:` is one node label (`nodeLabel`, so unnamed nodes are `name:Op:firstOutput`) taken verbatim —
// no glob, no op type, no comma splitting. The editor writes this form for the layers a user picked.
import { UsageError } from './errors';
import { nodeLabel } from './onnx/graph';
import type { NodeProto } from './onnx/proto';

export interface LayerSelection {
  /** selectors of layers to include; empty or undefined = every candidate */
  layers?: readonly string[];
  /** selectors of layers to leave alone */
  exclude?: readonly string[];
}

export const EXACT_PREFIX = 'name:';

/** The selector that matches exactly the node with this label (see nodeLabel), whatever characters it holds. */
export const exactSelector = (label: string): string => `${EXACT_PREFIX}${label}`;

/**
 * Splits a CLI value like "a,b,/blk*\/Conv" into selectors. A part starting with `name:` takes the rest of
 * the value verbatim, commas included (so `a,name:x,y` is `a` and the label `x,y`).
 */
export function parseSelectors(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? [value] : value;
  return items.flatMap(splitSelectors);
}

function splitSelectors(value: string): string[] {
  const out: string[] = [];
  let rest = value;
  while (rest.length > 0) {
    const lead = rest.trimStart();
    if (lead.startsWith(EXACT_PREFIX)) {
      out.push(lead);
      break;
    }
    const comma = rest.indexOf(',');
    const part = (comma < 0 ? rest : rest.slice(0, comma)).trim();
    if (part) out.push(part);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

type Matcher = (n: NodeProto) => boolean;

function compile(selector: string, nodes: readonly NodeProto[]): Matcher {
  if (selector.startsWith(EXACT_PREFIX)) {
    const label = selector.slice(EXACT_PREFIX.length);
    return (n) => nodeLabel(n) === label;
  }
  if (selector.startsWith('op:')) {
    const op = selector.slice(3);
    return (n) => n.opType === op;
  }
  if (/[*?]/.test(selector)) {
    const re = globToRegExp(selector);
    return (n) => re.test(nodeLabel(n));
  }
  if (nodes.some((n) => nodeLabel(n) === selector)) return (n) => nodeLabel(n) === selector;
  if (nodes.some((n) => n.opType === selector)) return (n) => n.opType === selector;
  return () => false;
}

/**
 * The candidates picked by the selection. Throws UsageError naming any selector that matches no layer
 * among all `nodes` (a typo should not silently select nothing).
 */
export function selectLayers<T extends NodeProto>(candidates: readonly T[], selection: LayerSelection, nodes: readonly NodeProto[] = candidates, file?: string): T[] {
  const check = (selectors: readonly string[]) => selectors.map((s) => {
    const m = compile(s, nodes);
    if (!nodes.some(m)) throw new UsageError(file, `selector '${s}' matches no layer`);
    return m;
  });
  const include = check(parseSelectors(selection.layers));
  const exclude = check(parseSelectors(selection.exclude));
  return candidates.filter((n) => (include.length === 0 || include.some((m) => m(n))) && !exclude.some((m) => m(n)));
}
