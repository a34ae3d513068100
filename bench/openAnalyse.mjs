// Open + analyse benchmark on large generated models: a ResNet-50-shaped model (~100 MB, random weights) and a
// widened one (~550 MB). Each run is a fresh child process, so its peak RSS (process.resourceUsage().maxRSS)
// is that run's alone. Prints medians of ms, MB/s and peak RSS, and — where Python's onnx package is installed
// (Debian python3-onnx) — the same weight decoding done by onnx.load + numpy_helper.to_array, as a ratio.
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
  const rows = [];
  const measure = (label, cmd, argv) => {
    const runs = Array.from({ length: m.runs }, () => run(cmd, argv));
    const total = runs.map((r) => r.openMs + r.workMs);
    const row = {
      label,
      openMs: median(runs.map((r) => r.openMs)),
      workMs: median(runs.map((r) => r.workMs)),
      totalMs: median(total),
      rss: median(runs.map((r) => r.maxRssBytes)),
      params: runs[0].params,
      zeros: runs[0].zeros,
    };
    rows.push(row);
    return row;
  };
  const analyse = measure('onnx-lens open + analyzeModel', process.execPath, [tasks, 'analyse', file]);
  const values = measure('onnx-lens open + decode every weight', process.execPath, [tasks, 'values', file]);
  const py = python ? measure('python onnx.load + numpy_helper.to_array', python.py, ['bench/python_onnx_load.py', file]) : undefined;

  console.log(`\n${m.name}: ${(size / MB).toFixed(1)} MB, ${values.params.toLocaleString('en')} weights (${values.zeros.toLocaleString('en')} zero), ${m.runs} runs`);
  console.log('  task                                        open ms   work ms  total ms    MB/s  peak RSS MB  RSS/file');
  for (const r of rows) {
    console.log(`  ${r.label.padEnd(42)} ${r.openMs.toFixed(0).padStart(8)} ${r.workMs.toFixed(0).padStart(9)} ${r.totalMs.toFixed(0).padStart(9)} ${(size / MB / (r.totalMs / 1000)).toFixed(0).padStart(7)} ${(r.rss / MB).toFixed(0).padStart(12)} ${(r.rss / size).toFixed(2).padStart(9)}`);
  }
  if (analyse.params !== values.params) console.log(`  note: analyzeModel counted ${analyse.params} parameters, the decode loop ${values.params}`);
  if (py) {
    if (py.params !== values.params || py.zeros !== values.zeros) console.log(`  MISMATCH: Python counted ${py.params} weights / ${py.zeros} zeros`);
    console.log(`  speed-up vs Python (total ms): decode every weight ${(py.totalMs / values.totalMs).toFixed(1)}x, full analyse ${(py.totalMs / analyse.totalMs).toFixed(1)}x`);
  }
}
