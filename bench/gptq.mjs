// GPTQ vs round-to-nearest weights on the MNIST CNN and depthwise-heavy MNIST MobileNet fixtures and the PaddleOCR
// text-direction classifier, for weight-only int4/int8 and static QDQ (W8A8, W4A8): top-1 and agreement with the
// fp32 model (onnxruntime outputs on held-out data), and the cost — layer Hessians (one calibration pass), GPTQ
// per layer and for the whole model.
// Data: MNIST test digits (--held) with 256 calibration digits; PaddleOCR: text lines rendered with seed 1 (held
// out, --held) and seed 2 (128 calibration images). Weights per output channel, symmetric; int4 Conv/Gemm
// weights as DequantizeLinear (opset 21); static QDQ with the default target (portable: 7-bit int8 weights).
// GPTQ's Hessians come from the original model's inputs ("gptq"), or from the model with the earlier layers
// already rounded ("gptq-seq", GPTQ's sequential mode; static: with quantized activations too). The weight-only
// "gptq" row is checked to be bit-identical to rounding with all Hessians held at once (layerHessians).
//
// usage: node bench/gptq.mjs [--held 1000] [--bits 4,8] [--act-order true] [--models cnn,mobilenet,paddle]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_MODEL_EXPORTS, benchModel, outputsOf } from './benchModels.mjs';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: {
  held: { type: 'string', default: '1000' }, bits: { type: 'string', default: '4,8' }, 'act-order': { type: 'string', default: 'true' },
  models: { type: 'string', default: 'cnn,mobilenet,paddle' },
} });
const OUT = path.resolve('bench/out/gptq');
fs.mkdirSync(OUT, { recursive: true });
const held = Number(args.held);
const actOrder = args['act-order'] === 'true';

const lib = await loadTs('gptq', [
  ...BENCH_MODEL_EXPORTS,
  "export { readModelSync } from './src/core/onnx/read';",
  "export { nodeLabel } from './src/core/onnx/graph';",
  "export { quantizeWeightOnly, weightCandidates } from './src/core/quantize/weightOnly';",
  "export { quantizeStatic } from './src/core/quantize/qdq';",
  "export { layerHessians } from './src/core/obs/hessian';",
  "export { gptqRounding } from './src/core/obs/gptq';",
  "export { recordingRounding, replayRounding, roundLayersByGptq } from './src/core/obs/gptqModel';",
]);


const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
const flags = [...new Set(cpu.match(/\b(avx512_vnni|avx_vnni|avx2)\b/g) ?? [])].sort().join(' ');
console.log(`CPU: ${os.cpus()[0].model}, ${os.cpus().length} cores, flags ${flags || 'none of avx2/avx_vnni/avx512_vnni'}; act-order ${actOrder}`);
const pct = (x) => (100 * x).toFixed(2);

const MODELS = { cnn: 'MNIST CNN', mobilenet: 'MNIST MobileNet', paddle: 'PaddleOCR cls' };
const row = (scheme, rounding, top1, ref, agree, time) =>
  console.log(`${scheme.padEnd(6)} | ${rounding.padEnd(8)} | ${pct(top1).padStart(7)}  | ${(100 * (top1 - ref)).toFixed(2).padStart(6)} | ${pct(agree).padStart(11)} | ${time}`);
const same = (a, b) => a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]);

for (const key of args.models.split(',')) {
  const name = MODELS[key];
  const { file, calibration, test } = await benchModel(lib, key, { out: OUT, held });
  const calib = await lib.openDataset(calibration.data, { preprocess: calibration.preprocess });
  const model = lib.readModelSync(file);
  const ref = await outputsOf(lib, model.proto, test, OUT, `${name}-fp32`.replace(/\W/g, '_'));
  const chosen = lib.weightCandidates(model.proto);
  const t0 = performance.now();
  const hessians = await lib.layerHessians(model, calib, chosen.map(lib.nodeLabel));
  const hessianMs = performance.now() - t0;
  const labels = test.labels;
  const fp32 = lib.topKAccuracy(ref, labels, 1);
  console.log(`\n${name}: ${chosen.length} layers, fp32 top-1 ${pct(fp32)} % on ${test.n} held-out samples; Hessians ${(hessianMs / 1000).toFixed(2)} s on ${calib.n} calibration samples (all at once)`);
  console.log('scheme | rounding | top-1 %  | Δ pp   | agreement % | time (rounding with its Hessians, or the whole static quantization)');
  for (const bits of args.bits.split(',').map(Number)) {
    const opts = { bits, perChannel: true };
    const nearestStart = performance.now();
    const q = lib.quantizeWeightOnly(model.proto, chosen, opts, model);
    const nearestMs = performance.now() - nearestStart;
    const out = await outputsOf(lib, q.proto, test, OUT, `${name}-${bits}-nearest`.replace(/\W/g, '_'));
    row(`W${bits}`, 'nearest', lib.topKAccuracy(out, labels, 1), fp32, lib.agreement(out, ref), `${(nearestMs / 1000).toFixed(2)} s`);
    // All Hessians held at once (the earlier method), for the bit-identity check.
    const held = new Map();
    const dry = lib.recordingRounding();
    lib.quantizeWeightOnly(model.proto, chosen, { ...opts, rounding: dry.rounding }, model);
    for (const [layer, r] of dry.requests) held.set(layer, lib.gptqRounding(model.proto, hessians, { actOrder })({ name: layer }, r.values, r.dims, r.quant));
    for (const inputs of ['original', 'quantized']) {
      const perLayer = [];
      const t1 = performance.now();
      const g = await lib.roundLayersByGptq(model, calib, dry.requests, { actOrder, inputs, onLayer: (layer, ms) => perLayer.push([layer, ms]) });
      const ms = performance.now() - t1;
      const qg = lib.quantizeWeightOnly(model.proto, chosen, { ...opts, rounding: lib.replayRounding(g.rounded) }, model);
      const outG = await outputsOf(lib, qg.proto, test, OUT, `${name}-${bits}-gptq-${inputs}`.replace(/\W/g, '_'));
      const total = perLayer.reduce((s, [, t]) => s + t, 0);
      const slowest = perLayer.sort((a, b) => b[1] - a[1])[0];
      const identical = inputs === 'original' ? `; ${[...held].every(([layer, h]) => same(h, g.rounded.get(layer))) ? 'bit-identical to' : 'DIFFERS from'} all-at-once` : '';
      row(`W${bits}`, inputs === 'original' ? 'gptq' : 'gptq-seq', lib.topKAccuracy(outG, labels, 1), fp32, lib.agreement(outG, ref),
        `${(ms / 1000).toFixed(2)} s in ${g.passes} passes, peak H ${(g.peakBytes / 2 ** 20).toFixed(2)} MiB; GPTQ itself ${(total / 1000).toFixed(2)} s, slowest layer ${slowest[0]} ${slowest[1].toFixed(0)} ms, median ${perLayer[perLayer.length >> 1][1].toFixed(1)} ms${identical}`);
    }
  }
  // Static QDQ with uint8 activations (W8A8 with the default target portable: 7-bit weights; W4A8: int4 weights
  // run in float by onnxruntime); GPTQ's time includes its own Hessian passes.
  for (const weightBits of [8, 4]) for (const [weightRounding, gptqInputs] of [['nearest'], ['gptq', 'original'], ['gptq', 'quantized']]) {
    const t1 = performance.now();
    const q = await lib.quantizeStatic(model.proto, calib, { perChannel: true, activationType: 'uint8', method: 'minmax', weightRounding, gptqInputs, weightBits }, model);
    const ms = performance.now() - t1;
    const out = await outputsOf(lib, q, test, OUT, `${name}-static-${weightBits}-${weightRounding}-${gptqInputs}`.replace(/\W/g, '_'));
    row(`W${weightBits}A8`, gptqInputs === 'quantized' ? 'gptq-seq' : weightRounding, lib.topKAccuracy(out, labels, 1), fp32, lib.agreement(out, ref), `${(ms / 1000).toFixed(2)} s`);
  }
}
