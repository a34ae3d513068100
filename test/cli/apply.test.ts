import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/core/eval/datasets';
import { TensorProtoSchema, toBinary } from '../../src/core/onnx/proto';
import { readModelSync } from '../../src/core/onnx/read';
import { CLI, cli, sha256 } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';
import { accuracy, outputs } from '../core/quantize/ortRun';

/** Every initializer's serialized bytes by name: two models with equal maps hold identical tensors. */
function initializers(file: string): Map<string, Buffer> {
  return new Map(readModelSync(file).proto.graph!.initializer.map((t) => [t.name, Buffer.from(toBinary(TensorProtoSchema, t))]));
}

function assertSameInitializers(a: string, b: string): void {
  const [x, y] = [initializers(a), initializers(b)];
  assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort());
  for (const [name, bytes] of x) assert.ok(bytes.equals(y.get(name)!), `initializer ${name} differs`);
}

function writeRecipe(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

test('apply replays prune and quantize: identical initializers to the CLI commands', () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 64);
  const runs: [string[], string][] = [
    [['prune', '--sparsity', '0.5', '--calib', calib.data, '--reconstruct', '--bias-correction', '--exclude', '/stem/*'],
      `- prune: { sparsity: 50%, reconstruct: true, biasCorrection: true, exclude: ["/stem/*"] }`],
    [['prune', '--sparsity', '0.4', '--structured', '--round-to', '4', '--calib', calib.data, '--reconstruct'],
      `- prune: { sparsity: 0.4, structured: true, roundTo: 4, reconstruct: true }`],
    [['quantize', '--mode', 'static', '--calib', calib.data, '--method', 'percentile', '--exclude', 'name:/fc/Gemm'],
      `- quantize: { mode: static, method: percentile, exclude: ["name:/fc/Gemm"] }`],
    [['quantize', '--mode', 'weight', '--bits', '4', '--no-per-channel'], `- quantize: { mode: weight, bits: 4, perChannel: false }`],
  ];
  for (const [i, [args, step]] of runs.entries()) {
    const viaCli = path.join(dir, `cli${i}.onnx`);
    const r = cli(args[0], MNIST_MODEL, '-o', viaCli, ...args.slice(1));
    assert.equal(r.status, 0, r.stderr);
    // Paths in a recipe are relative to it: the calibration data sits next to it.
    const recipe = writeRecipe(dir, `r${i}.onnxlens.yaml`,
      `model: ${MNIST_MODEL}\noutput: apply${i}.onnx\ncalibration: { data: ${path.basename(calib.data)} }\nsteps:\n  ${step}\n`);
    const a = cli('apply', recipe, '--json');
    assert.equal(a.status, 0, a.stderr);
    const summary = JSON.parse(a.stdout);
    assert.equal(summary.output, path.join(dir, `apply${i}.onnx`));
    assert.deepEqual(summary.steps.map((s: { kind: string }) => s.kind), [args[0]]);
    assert.deepEqual(summary.warnings, []);
    assertSameInitializers(viaCli, summary.output);
  }
});

test('a two-step recipe (prune 50 % + static int8) runs in onnxruntime within 1 pp of the float model', async () => {
  const dir = tempDir();
  writeMnistNpy(dir, 'calib', 128);
  const split = writeMnistNpy(dir, 'test', 600);
  const before = sha256(MNIST_MODEL);
  const recipe = writeRecipe(dir, 'two.onnxlens.yaml', `model: ${MNIST_MODEL}
output: out/ignored.onnx
calibration: { data: calib_x.npy, samples: 128 }
evaluation: { data: test_x.npy, labels: test_y.npy, budget: { top1Drop: 1.0 } }
steps:
  - prune: { sparsity: 0.5, reconstruct: true }
  - quantize: { mode: static, perChannel: true }
`);
  const out = path.join(dir, 'two.onnx');
  const r = cli('apply', recipe, '-o', out, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha256(MNIST_MODEL), before);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.steps.map((s: { kind: string }) => s.kind), ['prune', 'quantize']);
  assert.equal(summary.bytesAfter, fs.statSync(out).size);
  assert.ok(summary.bytesAfter < 0.4 * summary.bytesBefore);
  // Half the float weights are exact zeros before quantization; int8 keeps zeros at zero.
  assert.ok(Math.abs(summary.steps[0].sparsity - 0.5) < 0.01);
  const data = await openDataset(split.data, { labels: split.labels });
  const ref = accuracy(await outputs(fs.readFileSync(MNIST_MODEL), data, 64), data.labels!);
  const got = accuracy(await outputs(fs.readFileSync(out), data, 64), data.labels!);
  console.log(`prune 50 % + reconstruct + static int8: fp32 top-1 ${ref}, compressed ${got}`);
  assert.ok(ref - got <= 0.01, `top-1 ${ref} → ${got}`);
});

test('bad recipes: one line file:line:column on stderr, exit 1, nothing written', () => {
  const dir = tempDir();
  const out = path.join(dir, 'out.onnx');
  const model = `model: ${MNIST_MODEL}\noutput: out.onnx\n`;
  const cases: [string, string][] = [
    [`${model}steps:\n  - prune: { sparsity: 0.5, sparsty: 0.4 }\n`, ":4:29: unknown key 'sparsty' in steps[0].prune"],
    [`${model}steps:\n  - quantize: { mode: weight, bits: eight }\n`, ":4:37: steps[0].quantize.bits must be one of 8, 4, got 'eight'"],
    [`${model}steps:\n  - prune: { sparsity: -0.5 }\n`, ':4:24: steps[0].prune.sparsity must be a fraction in [0, 1)'],
    [`${model}steps:\n  - distill: { sparsity: 0.5 }\n`, ":4:5: steps[0]: unknown step kind 'distill' (expected prune or quantize)"],
    [`${model}flavour: int8\nsteps:\n  - prune: { sparsity: 0.5 }\n`, ":3:1: unknown key 'flavour'"],
    [`model: missing.onnx\noutput: out.onnx\nsteps:\n  - prune: { sparsity: 0.5 }\n`, `:1:8: model file not found: ${path.join(dir, 'missing.onnx')}`],
    [`${model}calibration: { data: nowhere.npy }\nsteps:\n  - quantize: { mode: static }\n`, `:3:22: calibration data not found: ${path.join(dir, 'nowhere.npy')}`],
    [`${model}steps:\n  - prune: { sparsity: 0.5 , reconstruct: true }\n`, ':4:5: steps[0].prune: reconstruct, biasCorrection and distillHead need calibration data'],
  ];
  for (const [i, [text, message]] of cases.entries()) {
    const recipe = writeRecipe(dir, `bad${i}.onnxlens.yaml`, text);
    const r = cli('apply', recipe);
    assert.equal(r.status, 1, text);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`onnx-lens: ${recipe}${message}`), `${r.stderr} should start with ${recipe}${message}`);
    assert.ok(!fs.existsSync(out));
  }
  // Not recipe-shaped problems are one line too.
  for (const args of [[path.join(dir, 'none.onnxlens.yaml')], [writeRecipe(dir, 'self.onnxlens.yaml', `model: ${MNIST_MODEL}\nsteps:\n  - prune: { sparsity: 0.5 }\n`), '-o', MNIST_MODEL]]) {
    const r = cli('apply', ...args);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /recipe not found|overwrite the input/);
  }
});

/** Runs `onnx-lens apply` with fd 3 as a pipe; resolves with the progress lines, exit code and signal. */
function applyWithProgress(recipe: string, onLine?: (line: string, kill: () => void) => void) {
  return new Promise<{ lines: string[]; code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'apply', recipe, '--progress-fd', '3'], { cwd: fromRoot(), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += d; });
    child.stdout!.resume();
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        onLine?.(line, () => child.kill('SIGTERM'));
      }
    });
    child.on('close', (code) => resolve({ lines, code, stderr }));
  });
}

test('--progress-fd 3 writes JSON progress lines, fractions rising to 1', async () => {
  const dir = tempDir();
  writeMnistNpy(dir, 'calib', 32);
  const recipe = writeRecipe(dir, 'p.onnxlens.yaml', `model: ${MNIST_MODEL}\noutput: p.onnx\ncalibration: { data: calib_x.npy }\nsteps:\n  - prune: { sparsity: 0.5, reconstruct: true }\n  - quantize: { mode: dynamic }\n`);
  const r = await applyWithProgress(recipe);
  assert.equal(r.code, 0, r.stderr);
  const events = r.lines.map((l) => JSON.parse(l));
  assert.ok(events.length >= 4);
  for (const e of events) {
    assert.equal(e.type, 'progress');
    assert.equal(e.steps, 2);
    assert.ok(e.step === 0 || e.step === 1);
    assert.equal(typeof e.message, 'string');
  }
  const fractions = events.map((e) => e.fraction);
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b));
  assert.equal(fractions.at(-1), 1);
  assert.ok(events.some((e) => /reconstructing/.test(e.message)));
  assert.ok(fs.existsSync(path.join(dir, 'p.onnx')));
});

test('SIGTERM mid-run stops apply and leaves no output file', async () => {
  const dir = tempDir();
  writeMnistNpy(dir, 'calib', 256);
  const recipe = writeRecipe(dir, 'slow.onnxlens.yaml', `model: ${MNIST_MODEL}\noutput: slow.onnx\ncalibration: { data: calib_x.npy }
steps:
  - prune: { sparsity: 0.5, reconstruct: true, biasCorrection: true, distillHead: true }
  - quantize: { mode: static, method: entropy }
`);
  let killed = false;
  const r = await applyWithProgress(recipe, (line, kill) => {
    if (!killed && /reconstructing/.test(line)) { killed = true; kill(); }
  });
  assert.ok(killed, 'the run reached reconstruction');
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /stopped by SIGTERM; nothing written/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.onnx') || f.endsWith('.tmp')), []);
});

test('apply --data measures each step: its top-1, change, agreement and bytes are what bench --baseline reports for the model that step made', () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', 200);
  const steps = ['- prune: { sparsity: 0.6 }', '- quantize: { mode: weight, bits: 4, perChannel: false }'];
  // The model after step 1 alone, and after both, written by plain apply runs.
  const one = writeRecipe(dir, 'one.onnxlens.yaml', `model: ${MNIST_MODEL}\noutput: one.onnx\nsteps:\n  ${steps[0]}\n`);
  const both = writeRecipe(dir, 'both.onnxlens.yaml', `model: ${MNIST_MODEL}\noutput: both.onnx\nsteps:\n  ${steps.join('\n  ')}\n`);
  assert.equal(cli('apply', one).status, 0);
  const r = cli('apply', both, '--json', '--data', split.data, '--labels', split.labels);
  assert.equal(r.status, 0, r.stderr);
  const applied = JSON.parse(r.stdout) as { steps: { kind: string; measured: { top1: number; delta: number; agreement: number; bytes: number } }[]; evaluation: { n: number; top1: number } };
  assert.equal(applied.evaluation.n, 200);
  const bench = (model: string) => {
    const b = cli('bench', model, '--baseline', MNIST_MODEL, '--data', split.data, '--labels', split.labels, '--json', '--runs', '1');
    assert.equal(b.status, 0, b.stderr);
    return JSON.parse(b.stdout) as { top1: number; bytes: number; baseline: { top1: number }; delta: { top1: number; agreement: number } };
  };
  for (const [i, model] of [path.join(dir, 'one.onnx'), path.join(dir, 'both.onnx')].entries()) {
    const expected = bench(model);
    const m = applied.steps[i].measured;
    assert.equal(m.top1, expected.top1, `step ${i + 1} top-1`);
    assert.ok(Math.abs(m.delta - expected.delta.top1) < 1e-9, `step ${i + 1} Δ ${m.delta} vs ${expected.delta.top1}`);
    assert.equal(m.agreement, expected.delta.agreement, `step ${i + 1} agreement`);
    assert.equal(applied.evaluation.top1, expected.baseline.top1);
    if (i === 1) assert.equal(m.bytes, expected.bytes, 'the last step made the bytes written');
  }
  // 60 % unstructured pruning without recovery costs this CNN accuracy: the measurement sees it.
  assert.ok(applied.steps[0].measured.delta < -1, String(applied.steps[0].measured.delta));
  // Without --data the JSON has no measurement.
  const plain = JSON.parse(cli('apply', one, '--json').stdout) as { steps: object[]; evaluation?: unknown };
  assert.ok(!('measured' in plain.steps[0]) && plain.evaluation === undefined);
});
