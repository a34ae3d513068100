import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeTextDirectionSet } from '../../src/core/eval/textDirectionSet';
import { parseRecipe } from '../../src/core/recipe/parse';
import { DOWN, fragileModel } from '../builders/fragileMnist';
import { cli, sha256 } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';

const CLS = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const PREPROCESS = ['--mean', '0.5', '--std', '0.5'];

test('plan meets its budget on the PaddleOCR classifier, measured by bench on data it was not planned on', async () => {
  const dir = tempDir('onnx-lens-plan-');
  // Three renderings with different seeds: different words, faces, sizes and noise — disjoint sets of images.
  const [planning, calib, heldOut] = ['plan', 'calib', 'held'].map((d) => path.join(dir, d));
  await writeTextDirectionSet(planning, { count: 400, seed: 21 });
  await writeTextDirectionSet(calib, { count: 128, seed: 22 });
  await writeTextDirectionSet(heldOut, { count: 600, seed: 23 });
  const [recipe, out] = [path.join(dir, 'cls.onnxlens.yaml'), path.join(dir, 'cls.plan.onnx')];
  const budget = 1;

  const r = cli('plan', CLS, '--budget', String(budget), '--data', planning, '--calib', calib, ...PREPROCESS,
    '--int4-tries', '4', '--runs', '10', '-o', recipe, '--model-out', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  console.log(plan.trials.map((t: { action: string; deltaTop1: number; bytes: number; kept: boolean }) => `${t.action}: ${t.deltaTop1.toFixed(2)} pp, ${t.bytes} bytes${t.kept ? ' (kept)' : ''}`).join('\n'));
  assert.equal(plan.n, 400);
  assert.equal(plan.withinBudget, true);
  assert.ok(plan.measured.deltaTop1 >= -budget, `planning data: ${plan.measured.deltaTop1} pp`);
  assert.ok(plan.measured.bytes <= plan.uniformInt8.bytes, 'no larger than uniform int8');
  assert.equal(plan.layers.length, 54, 'every Conv and the classifier Gemm');
  assert.ok(plan.layers.every((l: { choice: string }) => ['float', 'int8', 'int4'].includes(l.choice)));
  assert.equal(plan.recipeFile, recipe);
  assert.equal(plan.modelOut, out);
  assert.equal(fs.statSync(out).size, plan.measured.bytes);

  // The recipe: parses, points at the model and data relative to itself, and `apply` makes the same model.
  const parsed = parseRecipe(fs.readFileSync(recipe, 'utf8'), recipe);
  assert.deepEqual(parsed.problems, []);
  assert.equal(path.resolve(dir, parsed.recipe!.model), CLS);
  assert.deepEqual(parsed.recipe!.evaluation?.budget, { top1Drop: budget });
  assert.deepEqual(parsed.recipe!.steps, plan.steps);
  const applied = path.join(dir, 'applied.onnx');
  const a = cli('apply', recipe, '-o', applied);
  assert.equal(a.status, 0, a.stderr);
  assert.ok(fs.existsSync(applied), `${a.stdout}\n${a.stderr}`);
  assert.equal(sha256(applied), sha256(out));

  // Held-out data. The drop is a mean of per-sample differences d_i ∈ {−1, 0, 1}, non-zero only where the two
  // models disagree, so its standard error is at most √(disagreement / n): the margin is two of those (one-sided
  // ≈ 97.7 %), which also covers what choosing the plan on the planning data adds to its drop there.
  const b = cli('bench', out, '--baseline', CLS, '--data', heldOut, ...PREPROCESS, '--runs', '5', '--json');
  assert.equal(b.status, 0, b.stderr);
  const bench = JSON.parse(b.stdout);
  assert.equal(bench.n, 600);
  const margin = 100 * 2 * Math.sqrt((1 - bench.delta.agreement) / bench.n);
  console.log(`held out: float ${(100 * bench.baseline.top1).toFixed(2)} %, plan ${(100 * bench.top1).toFixed(2)} % (${bench.delta.top1.toFixed(2)} pp, margin ${margin.toFixed(2)} pp), size ${bench.bytes} of ${bench.baseline.bytes}`);
  assert.ok(bench.baseline.top1 > 0.9, `the held-out set is sane: ${bench.baseline.top1}`);
  assert.ok(bench.delta.top1 >= -(budget + margin), `held-out drop ${bench.delta.top1} pp > ${budget} + ${margin.toFixed(2)} pp`);
});

test('plan text output: the layer table with each choice, the measured result, and the recipe when no -o is given', () => {
  const dir = tempDir();
  const { file } = fragileModel(dir);
  const calib = writeMnistNpy(dir, 'calib', 64);
  const split = writeMnistNpy(dir, 'test', 100);
  const r = cli('plan', file, '--budget', '1', '--data', split.data, '--labels', split.labels, '--calib', calib.data, '--int4-tries', '0', '--runs', '5');
  assert.equal(r.status, 0, r.stderr);
  const [head, recipe] = r.stdout.split('\n\n');
  const rows = head.split('\n');
  assert.match(rows[0], /plan within 1 pp top-1 drop .* \(100 samples, original top-1/);
  assert.match(rows[1], /layer\s+op\s+params\s+alone Δtop-1\s+choice/);
  assert.match(rows[2], new RegExp(`^${DOWN}\\s+Conv.*float$`));
  assert.match(head, /^\d float, \d int8, 0 int4 weights; \d+ evaluations$/m);
  assert.match(head, /^plan, measured: top-1 .* bytes \(.* % of .*\), batch-1 p50 .* ms vs .* ms/m);
  const parsed = parseRecipe(recipe);
  assert.deepEqual(parsed.problems, []);
  const [step, ...rest] = parsed.recipe!.steps;
  assert.deepEqual(rest, [], 'no int4 step with --int4-tries 0');
  assert.ok(step.kind === 'quantize' && step.mode === 'static' && step.exclude?.includes(`name:${DOWN}`), JSON.stringify(step));
  assert.match(r.stderr, /sensitivity: \d+\/100/);
});

test('plan bad input: one line on stderr, exit code 1, nothing written', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', 20);
  const recipe = path.join(dir, 'p.onnxlens.yaml');
  const data = ['--data', split.data, '--labels', split.labels, '--calib', split.data];
  const cases: [string[], RegExp][] = [
    [[MNIST_MODEL, ...data], /missing --budget/],
    [[MNIST_MODEL, '--budget', '-1', ...data], /--budget must be a number of percentage points ≥ 0, got '-1'/],
    [[MNIST_MODEL, '--budget', '1', '--data', split.data, '--labels', split.labels], /missing --calib/],
    [[MNIST_MODEL, '--budget', '1', '--data', split.data, '--calib', split.data], /no labels/],
    [[MNIST_MODEL, '--budget', '1', ...data, '--model-out', MNIST_MODEL], /would overwrite the input model/],
    [[MNIST_MODEL, '--budget', '1', ...data, '--int4-tries', 'x'], /--int4-tries must be an integer ≥ 0, got 'x'/],
    [[path.join(dir, 'none.onnx'), '--budget', '1', ...data], /none\.onnx/],
  ];
  for (const [args, message] of cases) {
    const r = cli('plan', ...args, '-o', recipe);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.ok(!fs.existsSync(recipe));
  }
});
