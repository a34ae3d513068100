// Joint pruning + quantization (OBC's joint mode): a model pruned 50 % (magnitude or OBS, each + reconstruct, as
// `onnx-lens prune` does it) then quantized static W4A8 with round-to-nearest or GPTQ. GPTQ keeps the pruned zeros
// exactly zero (each row rounded with the Hessian of its kept columns); the "zeros kept" column checks it: of the
// pruned model's zero weights in the quantized layers, how many are zero in the int4 weights (nearest rounds 0 to 0
// too). Top-1 on held-out data and agreement with the fp32 model, from onnxruntime outputs.
// The same as `onnx-lens prune M -o P --sparsity 0.5 [--method obs] --reconstruct --calib C` then
// `onnx-lens quantize P -o Q --mode static --bits 4 --rounding gptq --calib C`.
// Data: MNIST calib split (256) and test split (--held); PaddleOCR: lines rendered with seed 1 (held out) and
// seed 2 (128 calibration images).
//
// usage: node bench/jointPruneQuant.mjs [--held 1000] [--models mobilenet,paddle] [--methods magnitude,obs]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_MODEL_EXPORTS, benchModel, outputsOf } from './benchModels.mjs';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: {
  held: { type: 'string', default: '1000' }, models: { type: 'string', default: 'mobilenet,paddle' }, methods: { type: 'string', default: 'magnitude,obs' },
  'gptq-inputs': { type: 'string', default: 'original' },
} });
const OUT = path.resolve('bench/out/jointPruneQuant');
fs.mkdirSync(OUT, { recursive: true });
const held = Number(args.held);

const lib = await loadTs('jointPruneQuant', [
  ...BENCH_MODEL_EXPORTS,
  "export { readModel } from './src/core/onnx/read';",
  "export { indexGraph, nodeLabel } from './src/core/onnx/graph';",
  "export { tensorValues } from './src/core/onnx/tensor';",
  "export { weightedLayers } from './src/core/prune/layers';",
  "export { pruneStep } from './src/core/recipe/pruneStep';",
  "export { quantizeStep } from './src/core/recipe/quantizeStep';",
  "export { parseCpuinfo } from './src/core/eval/cpuFeatures';",
]);


/** Zero weights of each Conv/Gemm/MatMul of the pruned float model, by layer name (positions). */
function prunedZeros(model) {
  const zeros = new Map();
  for (const l of lib.weightedLayers(model.proto.graph)) {
    const index = lib.indexGraph(model.proto.graph);
    const v = lib.tensorValues(index.constants.get(l.weightName), model);
    zeros.set(l.name, Array.from(v, (x, i) => (x === 0 ? i : -1)).filter((i) => i >= 0));
  }
  return zeros;
}

/** Of the pruned zeros, how many are zero in the quantized model's integer weights (read through each layer's weight DequantizeLinear). */
function zerosKept(zeros, quantized) {
  const index = lib.indexGraph(quantized.graph);
  let kept = 0, total = 0;
  for (const n of quantized.graph.node) {
    const z = zeros.get(lib.nodeLabel(n));
    const dq = index.producer.get(n.input[1] ?? '');
    if (!z || dq?.opType !== 'DequantizeLinear') continue;
    const q = lib.tensorValues(index.constants.get(dq.input[0]), {});
    const zp = dq.input[2] ? lib.tensorValues(index.constants.get(dq.input[2]), {}) : undefined;
    total += z.length;
    // Symmetric weights: zero point 0 (a per-channel zero point would be the same for all channels).
    kept += z.filter((i) => Number(q[i]) === (zp ? Number(zp[0]) : 0)).length;
  }
  return { kept, total };
}

const { name: cpuName, flags: cpuFlags } = lib.parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
const simd = ['avx2', 'avx_vnni', 'avx512_vnni'].filter((f) => cpuFlags.has(f)).join(' ') || 'none of avx2/avx_vnni/avx512_vnni';
console.log(`CPU: ${cpuName} (${os.cpus().length} cores; ${simd}); node ${process.version}; int4 weights run in float in onnxruntime`);
const pct = (x) => (100 * x).toFixed(2);
const TITLES = { cnn: 'MNIST CNN', mobilenet: 'MNIST MobileNet (depthwise)', paddle: 'PaddleOCR text-direction classifier' };

for (const name of args.models.split(',')) {
  const { file, calibration, test } = await benchModel(lib, name, { out: OUT, held });
  const model = await lib.readModel(file);
  const ref = await outputsOf(lib, model.proto, test, OUT, `${name}-fp32`);
  const fp32 = lib.topKAccuracy(ref, test.labels, 1);
  console.log(`\n${TITLES[name]}: fp32 top-1 ${pct(fp32)} % on ${test.n} held-out samples`);
  console.log('prune 50 %              | quantize        | top-1 %  | Δ pp   | agreement % | zeros kept        | time');
  for (const method of args.methods.split(',')) {
    const t0 = performance.now();
    const pruned = await lib.pruneStep(model, { kind: 'prune', sparsity: 0.5, reconstruct: true, ...(method === 'obs' ? { method } : {}) }, { file, calibration });
    const pruneSeconds = (performance.now() - t0) / 1000;
    const label = `${method} + reconstruct`.padEnd(23);
    const outP = await outputsOf(lib, pruned.model.proto, test, OUT, `${name}-${method}-pruned`);
    console.log(`${label} | fp32            | ${pct(lib.topKAccuracy(outP, test.labels, 1)).padStart(7)}  | ${(100 * (lib.topKAccuracy(outP, test.labels, 1) - fp32)).toFixed(2).padStart(6)} | ${pct(lib.agreement(outP, ref)).padStart(11)} | sparsity ${pct(pruned.summary.sparsity)} % | ${pruneSeconds.toFixed(2)} s`);
    const zeros = prunedZeros(pruned.model);
    for (const rounding of ['nearest', 'gptq']) {
      const t1 = performance.now();
      const step = { kind: 'quantize', mode: 'static', bits: 4, rounding, ...(rounding === 'gptq' && args['gptq-inputs'] !== 'original' ? { gptqInputs: args['gptq-inputs'] } : {}) };
      const q = await lib.quantizeStep(pruned.model, step, { file, calibration });
      const seconds = (performance.now() - t1) / 1000;
      const out = await outputsOf(lib, q.model.proto, test, OUT, `${name}-${method}-${rounding}`);
      const top1 = lib.topKAccuracy(out, test.labels, 1);
      const { kept, total } = zerosKept(zeros, q.model.proto);
      console.log(`${label} | W4A8 ${rounding.padEnd(10)} | ${pct(top1).padStart(7)}  | ${(100 * (top1 - fp32)).toFixed(2).padStart(6)} | ${pct(lib.agreement(out, ref)).padStart(11)} | ${`${kept}/${total}`.padStart(17)} | ${seconds.toFixed(2)} s`);
    }
  }
}
