// Tests src/extension/recipe/recipeDiagnostics.ts and recipeLocate.ts: problems at the selectors' own text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecipe } from '../../../src/core/recipe/parse';
import { parseDiagnostics, selectorDiagnostics, similarLayers } from '../../../src/extension/recipe/recipeDiagnostics';
import { modelReference, optionKeyAt, selectorAt, stepAt } from '../../../src/extension/recipe/recipeLocate';
import { MODEL } from './fakeModel';

const RECIPE = `model: ./net.onnx
steps:
  - prune: { sparsity: 0.5, exclude: [conv3, "op:LSTM", relu1, "/blk/*"] }
`;

test('unknown layers and empty selectors are errors at their text; nodes without weights a warning', () => {
  const d = selectorDiagnostics(parseRecipe(RECIPE), MODEL, 'net.onnx');
  const at = (s: string) => [RECIPE.indexOf(s), RECIPE.indexOf(s) + s.length];
  assert.deepEqual(d.map((x) => ({ range: x.range, severity: x.severity, message: x.message })), [
    { range: at('conv3'), severity: 'error', message: "unknown layer 'conv3': net.onnx has no node of that name (did you mean 'conv1'?)" },
    { range: at('"op:LSTM"'), severity: 'error', message: "selector 'op:LSTM' matches no node of net.onnx" },
    { range: at('relu1'), severity: 'warning', message: "'relu1' matches 1 node of net.onnx but no layer with weights: the prune step leaves it alone" },
  ]);
  assert.deepEqual(d[0].suggestions, ['conv1']);
});

test('similarLayers: names within a few edits, closest first', () => {
  assert.deepEqual(similarLayers('/blk/conv3', MODEL), ['/blk/conv2']);
  assert.deepEqual(similarLayers('CONV1', MODEL), ['conv1'], 'case does not count');
  assert.deepEqual(similarLayers('transformer', MODEL), []);
});

test('parse problems pass through with their ranges', () => {
  const text = 'model: m.onnx\nsteps:\n  - prune: { sparsity: 2, colour: red }\n';
  const d = parseDiagnostics(parseRecipe(text));
  assert.ok(d.length >= 2, JSON.stringify(d));
  assert.ok(d.some((x) => text.slice(x.range[0], x.range[1]).includes('colour')), JSON.stringify(d));
  assert.ok(d.every((x) => x.severity === 'error' && x.code === 'schema'));
});

test('locating: the selector, step and option under the cursor, and the model reference', () => {
  const parsed = parseRecipe(RECIPE);
  assert.equal(selectorAt(parsed, RECIPE.indexOf('relu1') + 5)?.selector.value, 'relu1', 'just after the word still counts');
  assert.equal(selectorAt(parsed, RECIPE.indexOf('op:LSTM'))?.selector.value, 'op:LSTM');
  assert.equal(selectorAt(parsed, RECIPE.indexOf('sparsity')), undefined);
  assert.equal(stepAt(parsed, RECIPE.indexOf('sparsity'))?.kind, 'prune');
  assert.equal(optionKeyAt(parsed, RECIPE.indexOf('sparsity') + 2)?.option.key, 'sparsity');
  assert.deepEqual(modelReference(RECIPE), { path: './net.onnx', range: [7, 17] });
  assert.equal(modelReference('steps: []\n'), undefined);
});
