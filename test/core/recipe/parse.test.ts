import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { CALIBRATION_METHODS } from '../../../src/core/quantize/calibrate/calibrate';
import { formatProblem, parseRecipe } from '../../../src/core/recipe/parse';
import { METHODS, recipeJsonSchema } from '../../../src/core/recipe/schema';
import { stringifyRecipe } from '../../../src/core/recipe/stringify';
import { fromRoot } from '../../fixtures/repoRoot';

const GOOD = `model: model.onnx
output: model.int8.onnx
calibration: { data: calib/, mean: 0.1307, std: [0.3081] }
evaluation: { data: val/, labels: val_y.npy, budget: { top1Drop: 1.0 } }
steps:
  - prune: { sparsity: 50%, scope: global, reconstruct: true, exclude: ["/fc2/Gemm", "name:a,b"] }
  - quantize:
      mode: static
      perChannel: true
      method: percentile
      layers: [op:Conv]
`;

/** The first problem as the CLI prints it. */
const firstLine = (text: string) => {
  const r = parseRecipe(text, 'r.yaml');
  assert.equal(r.recipe, undefined, 'a bad recipe yields no recipe');
  return formatProblem('r.yaml', text, r.problems[0]);
};

test('a valid recipe parses into steps with the CLI option names', () => {
  const r = parseRecipe(GOOD, 'r.yaml');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.recipe, {
    model: 'model.onnx', output: 'model.int8.onnx',
    calibration: { data: 'calib/', mean: 0.1307, std: [0.3081] },
    evaluation: { data: 'val/', labels: 'val_y.npy', budget: { top1Drop: 1 } },
    steps: [
      { kind: 'prune', sparsity: 0.5, scope: 'global', reconstruct: true, exclude: ['/fc2/Gemm', 'name:a,b'] },
      { kind: 'quantize', mode: 'static', perChannel: true, method: 'percentile', layers: ['op:Conv'] },
    ],
  });
});

test('step nodes carry ranges of the kind, options and each selector', () => {
  const { steps } = parseRecipe(GOOD);
  assert.equal(steps.length, 2);
  const [prune, quantize] = steps;
  const at = (r: [number, number]) => GOOD.slice(r[0], r[1]);
  assert.equal(prune.kind, 'prune');
  assert.equal(at(prune.kindRange!), 'prune');
  assert.equal(prune.flow, true);
  assert.deepEqual(prune.options.map((o) => o.key), ['sparsity', 'scope', 'reconstruct', 'exclude']);
  assert.equal(at(prune.options[0].valueRange), '50%');
  assert.deepEqual(prune.selectors.map((s) => [s.key, s.value, at(s.range)]), [['exclude', '/fc2/Gemm', '"/fc2/Gemm"'], ['exclude', 'name:a,b', '"name:a,b"']]);
  assert.equal(quantize.flow, false);
  assert.deepEqual(quantize.selectors.map((s) => [s.key, s.value, at(s.range)]), [['layers', 'op:Conv', 'op:Conv']]);
  assert.ok(at(quantize.optionsRange!).startsWith('mode: static'));
});

test('schema errors name the right line and column (counted by hand)', () => {
  // line 3 is "  - prune: { sparsity: -0.5 }": the value starts in column 24.
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - prune: { sparsity: -0.5 }\n'),
    "r.yaml:3:24: steps[0].prune.sparsity must be a fraction in [0, 1) or a percentage such as \"50%\", got -0.5");
  // an unknown key: its own position (line 4, column 7)
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - quantize:\n      mdoe: static\n'),
    'r.yaml:4:7: unknown key \'mdoe\' in steps[0].quantize (expected mode, bits, perChannel, blockSize, rounding, gptqInputs, method, activationType, target, reduceRange, biasCorrection, calibSamples, layers, exclude)');
  // a wrong type
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - quantize: { mode: weight, perChannel: yes }\n'),
    "r.yaml:3:43: steps[0].quantize.perChannel must be true or false, got 'yes'");
  // an unknown step kind: at the kind (line 3, column 5)
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - prnue: { sparsity: 0.5 }\n'),
    "r.yaml:3:5: steps[0]: unknown step kind 'prnue' (expected prune or quantize)");
  // an unknown top-level key
  assert.match(firstLine('model: m.onnx\noutputs: x.onnx\nsteps:\n  - prune: { sparsity: 0.5 }\n'), /^r\.yaml:2:1: unknown key 'outputs' \(expected model, output/);
  // cross-option checks land on the step kind, in the recipe's option names
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - prune: { sparsity: 0.5, reconstruct: true }\n'),
    'r.yaml:3:5: steps[0].prune: reconstruct, biasCorrection and distillHead need calibration data');
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - quantize: { mode: static }\n'),
    'r.yaml:3:5: steps[0].quantize: mode static needs calibration data (calibration images or .npy)');
  // missing required keys, YAML syntax errors, an empty step list
  assert.equal(firstLine('steps:\n  - prune: {}\n'), 'r.yaml:1:1: needs model');
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - prune:\n'), 'r.yaml:3:5: steps[0].prune needs sparsity');
  assert.match(firstLine('model: m.onnx\nsteps: [\n'), /^r\.yaml:\d+:\d+: /);
  assert.equal(firstLine('model: m.onnx\nsteps: []\n'), "r.yaml:2:8: steps must be a list of one or more steps such as '- prune: { sparsity: 0.5 }', got a list");
  assert.equal(firstLine('model: m.onnx\nsteps:\n  - prune: { sparsity: 0.5, layers: conv1 }\n'),
    "r.yaml:3:37: steps[0].prune.layers must be a list of selectors, got 'conv1'");
});

test('stringifyRecipe writes what parseRecipe reads back', () => {
  const { recipe } = parseRecipe(GOOD);
  const text = stringifyRecipe(recipe!);
  assert.match(text, /^ {2}- prune: \{ sparsity: 0\.5, scope: global, reconstruct: true, exclude: \[ \/fc2\/Gemm, "name:a,b" \] \}$/m);
  assert.deepEqual(parseRecipe(text).recipe, recipe);
});

test('media/onnxlens-recipe.schema.json is the schema table rendered; the method list matches the calibrator', () => {
  assert.deepEqual(JSON.parse(fs.readFileSync(fromRoot('media', 'onnxlens-recipe.schema.json'), 'utf8')), recipeJsonSchema());
  assert.deepEqual(METHODS, CALIBRATION_METHODS);
});
