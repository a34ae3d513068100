// Tests src/extension/recipe/recipeCompletion.ts: where the cursor is in a half-written recipe, and what is offered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { completionContext, completions, yamlString } from '../../../src/extension/recipe/recipeCompletion';
import { MODEL } from './fakeModel';

/** The context at the `|` in `marked`. */
function at(marked: string) {
  const offset = marked.indexOf('|');
  return completionContext(marked.slice(0, offset) + marked.slice(offset + 1), offset);
}
const labels = (marked: string) => {
  const ctx = at(marked);
  assert.ok(ctx, marked);
  return completions(ctx, MODEL).map((e) => e.label);
};

test('option names of the step the cursor is in, without those already given', () => {
  assert.deepEqual(at('model: m.onnx\nsteps:\n  - prune:\n      sparsity: 0.5\n      re|\n'),
    { kind: 'key', path: ['steps', 0, 'prune'], existing: ['sparsity'], range: [58, 60], colonFollows: false });
  const prune = labels('model: m.onnx\nsteps:\n  - prune: { sparsity: 0.5, | }\n');
  assert.ok(prune.includes('reconstruct') && prune.includes('exclude') && !prune.includes('sparsity') && !prune.includes('mode'));
  const quantize = labels('steps:\n  - quantize:\n      mode: static\n      |\n  - prune: { sparsity: 0.5 }\n');
  assert.ok(quantize.includes('perChannel') && quantize.includes('method') && !quantize.includes('sparsity'));
});

test('values from the schema, step kinds, top-level and nested keys', () => {
  assert.deepEqual(labels('steps:\n  - quantize:\n      mode: |\n'), ['weight', 'dynamic', 'static']);
  assert.deepEqual(labels('steps:\n  - quantize: { mode: st| }\n'), ['weight', 'dynamic', 'static']);
  assert.deepEqual(labels('steps:\n  - prune: { scope: | }\n'), ['layer', 'global']);
  assert.deepEqual(labels('steps:\n  - prune: { reconstruct: | }\n'), ['true', 'false']);
  assert.deepEqual(labels('model: m.onnx\nsteps:\n  - |\n'), ['prune', 'quantize']);
  assert.deepEqual(labels('model: m.onnx\n|\nsteps:\n  - prune: { sparsity: 0.5 }\n'), ['output', 'calibration', 'evaluation']);
  assert.deepEqual(labels('calibration:\n  data: x/\n  |\nsteps: []\n'), ['samples', 'size', 'resizeShorter', 'grayscale', 'bgr', 'layout', 'mean', 'std']);
  const step = completions(at('steps:\n  - |\n')!).find((e) => e.label === 'prune')!;
  assert.equal(step.insertText, 'prune: { sparsity: ${1:0.5} }');
  assert.equal(step.snippet, true);
});

test('selectors: name:LABEL for every layer, the plain name where it picks just that layer, op:Type', () => {
  const got = labels('steps:\n  - prune: { sparsity: 0.5, exclude: [conv1, |] }\n');
  // The unnamed MatMul's label has no glob characters and no op: prefix, so plain it picks that one layer too.
  assert.deepEqual(got, ['name:conv1', 'conv1', 'name:/blk/conv2', '/blk/conv2', 'name:MatMul:mm_out', 'MatMul:mm_out', 'name:fc', 'fc', 'op:Conv', 'op:Gemm', 'op:MatMul']);
  assert.deepEqual(at('steps:\n  - prune:\n      layers:\n        - |\n'), { kind: 'selector', range: [42, 42], quote: undefined });
  // Inside quotes: the quoted text is replaced, and the insert is escaped for that quote.
  const text = 'steps:\n  - prune: { exclude: ["/bl"] }\n';
  const quoted = completionContext(text, text.indexOf('/bl') + 3);
  assert.deepEqual(quoted, { kind: 'selector', range: [31, 34], quote: '"' });
  assert.equal(text.slice(31, 34), '/bl');
});

test('yamlString quotes only what YAML would read otherwise', () => {
  assert.equal(yamlString('name:/blk/conv2'), 'name:/blk/conv2');
  assert.equal(yamlString('*conv*'), '"*conv*"', 'an alias otherwise');
  assert.equal(yamlString('a,b'), '"a,b"', 'two items in a flow list otherwise');
  assert.equal(yamlString('true'), '"true"');
  assert.equal(yamlString('123'), '"123"');
  assert.equal(yamlString('name:a b'), '"name:a b"');
  assert.equal(yamlString('say "x"', '"'), 'say \\"x\\"');
  assert.equal(yamlString("it's", "'"), "it''s");
});
