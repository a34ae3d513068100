// Tests src/extension/editor/editSteps.ts: the recipe an edit list becomes, and the sparsity prompt's parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { exactSelector, keptInFloat, parseSparsity, recipeSteps, recipeYaml, type EditStep } from '../../../src/extension/editor/editSteps';

const q: EditStep = { kind: 'quantize', options: { mode: 'weight', bits: 8, layers: [exactSelector('Conv:/x,y*')] }, label: 'q' };
const p: EditStep = { kind: 'prune', options: { sparsity: 0.5, scope: 'layer', reconstruct: true }, calibration: '/w/calib', label: 'p' };

test('recipe steps: after the last revert, without keep-in-float markers', () => {
  const keep: EditStep = { kind: 'keepFloat', layers: ['fc'], label: 'k' };
  assert.deepEqual(recipeSteps([p, { kind: 'revertToOriginal', label: 'r' }, keep, q]), [q]);
  assert.deepEqual(keptInFloat([keep, { kind: 'revertToOriginal', label: 'r' }]), []);
  assert.deepEqual(keptInFloat([keep, q, { ...keep, layers: ['fc', 'conv1'] }]), ['fc', 'conv1']);
});

test('the recipe names the model and data relative to the recipe, steps as one-key maps, selectors verbatim', () => {
  const text = recipeYaml([p, q as Extract<EditStep, { kind: 'quantize' }>] as never, '/w/models/m.onnx', '/w/m.onnxlens.yaml', '/w/models/m.edited.onnx');
  const doc = parse(text);
  assert.deepEqual(doc, {
    model: 'models/m.onnx', output: 'models/m.edited.onnx', calibration: { data: 'calib' },
    steps: [{ prune: { sparsity: 0.5, scope: 'layer', reconstruct: true } }, { quantize: { mode: 'weight', bits: 8, layers: ['name:Conv:/x,y*'] } }],
  });
  assert.equal(parse(recipeYaml([], '/elsewhere/m.onnx', '/w/r.onnxlens.yaml')).model, '/elsewhere/m.onnx', 'outside the folder: absolute');
});

test('sparsity prompt: percent, fraction or whole number', () => {
  assert.equal(parseSparsity('50%'), 0.5);
  assert.equal(parseSparsity(' 12.5 % '), 0.125);
  assert.equal(parseSparsity('0.3'), 0.3);
  assert.equal(parseSparsity('70'), 0.7);
  for (const bad of ['', '0', '100%', 'abc', '-5%', '150']) assert.equal(parseSparsity(bad), undefined, bad);
});
