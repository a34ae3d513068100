// Structured-pruning speed-up: p50 latency (onnxruntime-node CPU, one intra-op thread, batch 1) of the fp32
// model vs 30 % and 50 % structured channel pruning, on the trained MNIST CNN and a ResNet-50-shaped model;
// plus the wall time of pruning (and of reconstruction on 256 MNIST calibration digits).
// Models are timed in interleaved rounds (one block of runs per model per round) and the median over all
// timed runs is reported, so drift on a shared machine hits every model alike.
//
// usage: node bench/pruneLatency.mjs [--rounds 5] [--runs 40] [--only mnist|resnet50]
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '40' }, only: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const RUNS = Number(args.runs);

const bundle = path.resolve('bench/out/pruneLatency.bundle.cjs');
await esbuild.build({
  stdin: {
    contents: [
      "export { activationVariances, structuredPrune } from './src/core/prune/structured';",
      "export { reconstructLayers } from './src/core/recover/reconstruct';",
      "export { decodeModel, readModelSync } from './src/core/onnx/read';",
      "export { encodeModel } from './src/core/onnx/write';",
      "export { resnet50Shaped } from './test/builders/convNet';",
      "export { mnistSamples, MNIST_MODEL, MNIST_MEAN, MNIST_STD } from './test/fixtures/mnist';",
    ].join('\n'),
    resolveDir: process.cwd(), loader: 'ts',
  },
  bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile: bundle, external: ['onnxruntime-node', 'sharp'], logLevel: 'warning',
});
const lib = createRequire(import.meta.url)(bundle);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function latencies(variants, inputShape) {
  const x = new Float32Array(inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
  const sessions = [];
  for (const v of variants) sessions.push(await ort.InferenceSession.create(v.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' }));
  const feeds = sessions.map((s) => ({ [s.inputNames[0]]: new ort.Tensor('float32', x, inputShape) }));
  for (let i = 0; i < sessions.length; i++) for (let w = 0; w < 5; w++) await sessions[i].run(feeds[i]);
  const times = sessions.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < sessions.length; i++) {
      for (let k = 0; k < RUNS; k++) {
        const t0 = performance.now();
        await sessions[i].run(feeds[i]);
        times[i].push(performance.now() - t0);
      }
    }
  }
  for (const s of sessions) await s.release();
  return times.map(median);
}

function calibration() {
  const s = lib.mnistSamples('calib', 256);
  const x = s.pixels.map((p) => (p - lib.MNIST_MEAN) / lib.MNIST_STD);
  return { n: s.n, sampleShape: [1, 28, 28], batch: async (start, count) => x.slice(start * 784, (start + count) * 784) };
}

async function benchModel(name, model, inputShape, { reconstruct, settings }) {
  const variants = [{ label: 'fp32', bytes: lib.encodeModel(model.proto), params: undefined, pruneMs: 0, recMs: 0 }];
  for (const opts of settings) {
    const t0 = performance.now();
    const activationVariance = opts.activation ? await lib.activationVariances(model, calibration(), { threads: 1 }) : undefined;
    const r = lib.structuredPrune(model, { ...opts, activationVariance });
    const pruneMs = performance.now() - t0;
    let recMs = 0;
    if (reconstruct) {
      const t1 = performance.now();
      await lib.reconstructLayers(model, { proto: r.proto }, r.refit, calibration(), { threads: 1 });
      recMs = performance.now() - t1;
    }
    variants[0].params ??= r.paramsBefore;
    const label = `${opts.sparsity * 100} % ${opts.scope ?? 'layer'}${opts.roundTo ? ` /${opts.roundTo}` : ''}${opts.activation ? ' act' : ''}`;
    variants.push({ label, bytes: lib.encodeModel(r.proto), params: r.paramsAfter, pruneMs, recMs });
  }
  const p50 = await latencies(variants, inputShape);
  console.log(`\n${name} (batch 1, 1 thread, ${ROUNDS}×${RUNS} timed runs per model, median)`);
  console.log('structured          | params       | p50 ms   | speed-up | prune ms | reconstruct ms');
  variants.forEach((v, i) => {
    console.log(`${v.label.padEnd(19)} | ${String(v.params).padStart(12)} | ${p50[i].toFixed(3).padStart(8)} | ${(p50[0] / p50[i]).toFixed(2).padStart(7)}x | ${v.pruneMs.toFixed(0).padStart(8)} | ${reconstruct && i > 0 ? v.recMs.toFixed(0) : '-'}`);
  });
}

console.log(`node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}; shared 2-core machine: figures are medians and noisy`);
// "30 % global /16 act": channels ranked by activation energy across groups and removed in blocks of 16 (onnxruntime's NCHWc conv kernels work on 16-channel
// blocks with AVX-512, 8 with AVX2; other counts fall back to slower kernels).
if (!args.only || args.only === 'mnist') {
  await benchModel('MNIST CNN (trained fixture; pruning + reconstruction on 256 calibration digits)', lib.readModelSync(lib.MNIST_MODEL), [1, 1, 28, 28], {
    reconstruct: true,
    settings: [{ sparsity: 0.3 }, { sparsity: 0.3, roundTo: 8 }, { sparsity: 0.3, roundTo: 16, scope: 'global', activation: true }, { sparsity: 0.5 }],
  });
}
if (!args.only || args.only === 'resnet50') {
  await benchModel('ResNet-50-shaped (generated, BN folded; pruning only)', lib.decodeModel(lib.encodeModel(lib.resnet50Shaped())), [1, 3, 224, 224], {
    reconstruct: false,
    settings: [{ sparsity: 0.3 }, { sparsity: 0.3, roundTo: 16 }, { sparsity: 0.5, roundTo: 16 }],
  });
}
