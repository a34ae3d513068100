// Open + analyse benchmark on large generated models: a ResNet-50-shaped model (~100 MB, random weights) and a
// widened one (~550 MB). Each run is a fresh child process, so its peak RSS (process.resourceUsage().maxRSS)
// is that run's alone. Prints medians of ms, MB/s and peak RSS, and — where Python's onnx package is installed
// (Debian python3-onnx) — the weight decoding and zero count done by onnx.load + numpy_helper.to_array, with
// the speed-up of each onnx-lens task over it.
//
// usage: node bench/openAnalyse.mjs [--runs 5] [--big-runs 3] [--only resnet50,resnet50x2.38] [--no-python]
// models are generated once into bench/out/ (gitignored).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, 'big-runs': { type: 'string', default: '3' }, only: { type: 'string' }, 'no-python': { type: 'boolean' } },
});
const out = path.resolve('bench/out');
fs.mkdirSync(out, { recursive: true });

const tasks = path.join(out, 'openAnalyseTasks.cjs');
await esbuild.build({
  entryPoints: ['bench/openAnalyseTasks.ts'], bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile: tasks, logLevel: 'warning',
});

const models = [
  { name: 'resnet50', scale: 1, runs: Number(args.runs) },
  { name: 'resnet50x2.38', scale: 2.38, runs: Number(args['big-runs']) },
].filter((m) => !args.only || args.only.split(',').includes(m.name));

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** A python3 that can import onnx and numpy (the pyenv shim on PATH may not see Debian's packages). */
function findPython() {
  if (args['no-python']) return undefined;
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import onnx, numpy; print(onnx.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { py, version: r.stdout.trim() };
  }
  return undefined;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const MB = 1e6;
const python = findPython();

console.log(`node ${process.version}, ${python ? `Python onnx ${python.version} (${python.py})` : 'no Python onnx'}; medians over fresh child processes`);
for (const m of models) {
  const file = path.join(out, `${m.name}.onnx`);
  if (!fs.existsSync(file)) {
    const t0 = performance.now();
    spawnSync(process.execPath, ['--max-old-space-size=8192', tasks, 'generate', file, String(m.scale)], { stdio: 'inherit' });
    console.log(`generated ${file} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const size = fs.statSync(file).size;
  // Page-cache warm-up, so every run (and both languages) read the file from memory.
  fs.readFileSync(file);
  // Tasks run in interleaved rounds (one run of each per round), so a burst of load from other jobs on the
  // machine falls on all of them alike; ratios are also taken within each round.
  const jobs = [
    { label: 'onnx-lens analyzeFile (lazy open + analyse)', cmd: process.execPath, argv: [tasks, 'analyse-lazy', file] },
    { label: 'onnx-lens readModelSync + analyzeModel', cmd: process.execPath, argv: [tasks, 'analyse', file] },
    { label: 'onnx-lens readModelSync + decode all weights', cmd: process.execPath, argv: [tasks, 'values', file] },
    ...(python ? [{ label: 'python onnx.load + numpy_helper.to_array', cmd: python.py, argv: ['bench/python_onnx_load.py', file] }] : []),
  ];
  const results = jobs.map(() => []);
  for (let round = 0; round < m.runs; round++) jobs.forEach((j, k) => results[k].push(run(j.cmd, j.argv)));
  const rows = jobs.map((j, k) => {
    const runs = results[k];
    return {
      label: j.label,
      openMs: median(runs.map((r) => r.openMs)),
      workMs: median(runs.map((r) => r.workMs)),
      totalMs: median(runs.map((r) => r.openMs + r.workMs)),
      rss: median(runs.map((r) => r.maxRssBytes)),
      params: runs[0].params,
      zeros: runs[0].zeros,
      runs,
    };
  });
  const [, , values, py] = rows;
  console.log(`\n${m.name}: ${(size / MB).toFixed(1)} MB, ${values.params.toLocaleString('en')} weights (${values.zeros.toLocaleString('en')} zero), ${m.runs} runs`);
  console.log(`  ${'task'.padEnd(46)} open ms   work ms  total ms    MB/s  peak RSS MB  RSS/file`);
  for (const r of rows) {
    console.log(`  ${r.label.padEnd(46)}${r.openMs.toFixed(0).padStart(8)} ${r.workMs.toFixed(0).padStart(9)} ${r.totalMs.toFixed(0).padStart(9)} ${(size / MB / (r.totalMs / 1000)).toFixed(0).padStart(7)} ${(r.rss / MB).toFixed(0).padStart(12)} ${(r.rss / size).toFixed(2).padStart(9)}`);
  }
  for (const r of rows) {
    if (r.params !== values.params || r.zeros !== values.zeros) console.log(`  MISMATCH: ${r.label} counted ${r.params} weights / ${r.zeros} zeros`);
  }
  if (py) {
    const total = (r) => r.openMs + r.workMs;
    const ratio = (row) => median(py.runs.map((p, round) => total(p) / total(row.runs[round])));
    console.log(`  speed-up vs Python, median of per-round ratios: ${rows.slice(0, 3).map((r) => `${r.label.replace('onnx-lens ', '')} ${ratio(r).toFixed(2)}x`).join(', ')}`);
  }
}
