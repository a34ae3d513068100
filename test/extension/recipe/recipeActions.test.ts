// Tests src/extension/recipe/recipeActions.ts + recipeEdits.ts: each quick fix's edit, applied and parsed again
// with the recipe parser, is a valid recipe holding the intended value, and leaves the other lines as written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRecipe } from '../../../src/core/recipe/parse';
import type { Recipe } from '../../../src/core/recipe/types';
import { recipeActions } from '../../../src/extension/recipe/recipeActions';
import { selectorDiagnostics } from '../../../src/extension/recipe/recipeDiagnostics';
import { addExclude, appendStep, applyEdits, setStepOption } from '../../../src/extension/recipe/recipeEdits';
import { MODEL } from './fakeModel';

const RECIPE = `# compress the small net
model: net.onnx
output: net.small.onnx
calibration: { data: calib/ }
steps:
  - prune: { sparsity: 0.5, scope: global, layers: ["op:Conv"], exclude: [conv3] }   # conv3: a typo
  - quantize:
      mode: static   # calibrated
      layers:
        - conv1
        - relu1
`;

/** The recipe after the action titled `title` at the first occurrence of `at`. */
function apply(text: string, at: string, title: string, delta = 1): { text: string; recipe: Recipe } {
  const parsed = parseRecipe(text);
  const offset = text.indexOf(at) + delta;
  const diagnostics = selectorDiagnostics(parsed, MODEL, 'net.onnx');
  const actions = recipeActions(text, parsed, offset, MODEL, diagnostics);
  const action = actions.find((a) => a.title === title);
  assert.ok(action, `'${title}' among ${JSON.stringify(actions.map((a) => a.title))}`);
  const edited = applyEdits(text, [action.edit]);
  const reparsed = parseRecipe(edited);
  assert.deepEqual(reparsed.problems, [], edited);
  return { text: edited, recipe: reparsed.recipe! };
}

const titlesAt = (text: string, at: string) => recipeActions(text, parseRecipe(text), text.indexOf(at) + 1, MODEL, selectorDiagnostics(parseRecipe(text), MODEL, 'net.onnx')).map((a) => a.title);

test('on a selector matching two layers: exclude or quantize each; on its prune step: sparsity and reconstruct', () => {
  assert.deepEqual(titlesAt(RECIPE, '"op:Conv"'), [
    'Exclude conv1 from the prune step', 'Quantize conv1 to int8 per-channel',
    'Exclude /blk/conv2 from the prune step', 'Quantize /blk/conv2 to int8 per-channel',
    'Set sparsity to 70 %', 'Add reconstruct',
  ]);
  assert.deepEqual(titlesAt(RECIPE, 'conv1'), ['Exclude this layer from the quantize step', 'Quantize this layer to int8 per-channel']);
  assert.deepEqual(titlesAt(RECIPE, 'relu1'), [], 'a node without weights: nothing to exclude or quantize');
});

test('Exclude adds name:LABEL to the step\'s exclude list, in a flow step', () => {
  const { text, recipe } = apply(RECIPE, '"op:Conv"', 'Exclude /blk/conv2 from the prune step');
  assert.deepEqual(recipe.steps[0].exclude, ['conv3', 'name:/blk/conv2']);
  assert.deepEqual(recipe.steps[0].layers, ['op:Conv']);
  // Only the prune line changed.
  const before = RECIPE.split('\n'), after = text.split('\n');
  assert.equal(after.length, before.length);
  assert.deepEqual(after.filter((l, i) => l !== before[i]).length, 1);
});

test('Exclude creates the exclude list of a block step', () => {
  const { text, recipe } = apply(RECIPE, 'conv1', 'Exclude this layer from the quantize step');
  assert.deepEqual(recipe.steps[1].exclude, ['name:conv1']);
  assert.deepEqual(recipe.steps[1].layers, ['conv1', 'relu1']);
  // The comment stays (the yaml package writes one space before it within the edited step).
  assert.match(text, /\n {6}mode: static +# calibrated\n/);
  assert.ok(text.startsWith(RECIPE.slice(0, RECIPE.indexOf('  - quantize:'))), 'the lines before the step are untouched');
});

test('Quantize this layer appends a weight-only per-channel step for it', () => {
  const { text, recipe } = apply(RECIPE, 'conv1', 'Quantize this layer to int8 per-channel');
  assert.equal(recipe.steps.length, 3);
  assert.deepEqual(recipe.steps[2], { kind: 'quantize', mode: 'weight', perChannel: true, layers: ['name:conv1'] });
  assert.ok(text.startsWith(RECIPE.trimEnd()), 'appended after the last step, nothing else changed');
  assert.match(text.slice(RECIPE.trimEnd().length), /^\n {2}- quantize:\n {6}mode: weight\n/, 'indented like the other steps');
});

test('Set sparsity and Add reconstruct edit the prune step in place', () => {
  assert.equal((apply(RECIPE, 'prune', 'Set sparsity to 70 %').recipe.steps[0] as { sparsity: number }).sparsity, 0.7);
  const { recipe } = apply(RECIPE, 'prune', 'Add reconstruct');
  assert.equal((recipe.steps[0] as { reconstruct?: boolean }).reconstruct, true);
  // A percentage stays a percentage.
  const pct = RECIPE.replace('sparsity: 0.5', 'sparsity: "60%"');
  const p = apply(pct, 'prune', 'Set sparsity to 50 %');
  assert.ok(p.text.includes('sparsity: "50%"'), p.text);
  assert.equal((p.recipe.steps[0] as { sparsity: number }).sparsity, 0.5);
});

test('an unknown layer offers the close names; the preferred one replaces the selector', () => {
  const parsed = parseRecipe(RECIPE);
  const diagnostics = selectorDiagnostics(parsed, MODEL, 'net.onnx');
  const actions = recipeActions(RECIPE, parsed, RECIPE.indexOf('conv3') + 2, MODEL, diagnostics);
  assert.deepEqual(actions.filter((a) => a.preferred).map((a) => a.title), ["Replace with 'conv1'"]);
  const { recipe } = apply(RECIPE, 'conv3', "Replace with 'conv1'");
  assert.deepEqual(recipe.steps[0].exclude, ['conv1']);
});

test('the edits in a block recipe without sequence indentation, and on a step without options', () => {
  const text = 'model: m.onnx\nsteps:\n- prune:\n    sparsity: 0.5\n- quantize:\n    mode: dynamic\n';
  const added = applyEdits(text, [appendStep(text, { quantize: { mode: 'weight', perChannel: true, layers: ['name:a b'] } })!]);
  assert.equal(added, `${text}- quantize:\n    mode: weight\n    perChannel: true\n    layers:\n      - name:a b\n`);
  const excluded = applyEdits(text, [addExclude(text, 0, 'name:x,y')!]);
  assert.equal(excluded, 'model: m.onnx\nsteps:\n- prune:\n    sparsity: 0.5\n    exclude: [ "name:x,y" ]\n- quantize:\n    mode: dynamic\n');
  assert.equal(addExclude(excluded, 0, 'name:x,y'), undefined, 'already excluded');
  const bare = 'model: m.onnx\nsteps:\n  - prune:\n';
  assert.equal(applyEdits(bare, [setStepOption(bare, 0, 'sparsity', 0.7)!]), 'model: m.onnx\nsteps:\n  - prune: { sparsity: 0.7 }\n');
});
