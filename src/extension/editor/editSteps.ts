// What one edit of the ONNX Lens editor is: a recipe step (src/core/recipe, DESIGN.md "Recipes") on exact layer
// names, plus the two edits that are not recipe steps (keep in float, revert to the original). Also the recipe
// text a list of edits becomes (Export Recipe, and the one-step recipes the editor runs). No vscode import.
import path from 'node:path';
import { stringify } from 'yaml';

export type EditStep =
  /** a recipe step: `{ prune: options }` / `{ quantize: options }`; `calibration` is the data it needs, if any */
  | { kind: 'prune' | 'quantize'; options: Record<string, unknown>; calibration?: string; label: string }
  /** later model-wide quantize steps leave these layers in float; the model itself does not change */
  | { kind: 'keepFloat'; layers: string[]; label: string }
  /** the model as opened (an undoable edit, so that "revert to original" can itself be undone) */
  | { kind: 'revertToOriginal'; label: string };

/** The exact-name selector of a recipe (contract: everything after `name:` is one node label, verbatim). */
export const exactSelector = (layer: string) => `name:${layer}`;

/** Does this step change the model's bytes (and so need the CLI)? */
export const changesModel = (s: EditStep): s is Extract<EditStep, { kind: 'prune' | 'quantize' }> => s.kind === 'prune' || s.kind === 'quantize';

/** The steps a recipe needs to reproduce the document: those after the last revert, without keep-in-float markers. */
export function recipeSteps(edits: readonly EditStep[]): Extract<EditStep, { kind: 'prune' | 'quantize' }>[] {
  const lastRevert = edits.map((e) => e.kind).lastIndexOf('revertToOriginal');
  return edits.slice(lastRevert + 1).filter(changesModel);
}

/** Layers kept in float by the edits so far (after the last revert). */
export function keptInFloat(edits: readonly EditStep[]): string[] {
  const lastRevert = edits.map((e) => e.kind).lastIndexOf('revertToOriginal');
  const names = new Set<string>();
  for (const e of edits.slice(lastRevert + 1)) if (e.kind === 'keepFloat') e.layers.forEach((n) => names.add(n));
  return [...names];
}

/**
 * A recipe file's text for `steps` applied to `model`. Paths are written relative to `recipeFile`'s folder
 * when they lie under it, absolute otherwise. The calibration data is the last one a step used.
 */
export function recipeYaml(steps: readonly Extract<EditStep, { kind: 'prune' | 'quantize' }>[], model: string, recipeFile: string, output?: string): string {
  const dir = path.dirname(path.resolve(recipeFile));
  const rel = (p: string) => {
    const r = path.relative(dir, path.resolve(p));
    return r && !r.startsWith('..') && !path.isAbsolute(r) ? r.split(path.sep).join('/') : path.resolve(p);
  };
  const calibration = [...steps].reverse().find((s) => s.calibration)?.calibration;
  const doc: Record<string, unknown> = { model: rel(model) };
  if (output) doc.output = rel(output);
  if (calibration) doc.calibration = { data: rel(calibration) };
  doc.steps = steps.map((s) => ({ [s.kind]: s.options }));
  return stringify(doc, { lineWidth: 0 });
}

/** "50%", "50" or "0.5" → 0.5; undefined when not a fraction strictly between 0 and 1. */
export function parseSparsity(text: string): number | undefined {
  const t = text.trim();
  const n = Number(t.replace(/\s*%$/, ''));
  if (!t || !Number.isFinite(n)) return undefined;
  const f = t.endsWith('%') || n > 1 ? n / 100 : n;
  return f > 0 && f < 1 ? f : undefined;
}
