// Per-layer diagnosis of OBS vs magnitude masks inside reconstruction (issue 11: why OBS + reconstruct looked behind
// magnitude + reconstruct at 50 %). For each variant the model is pruned with LAMP's per-layer counts and reconstructed
// layer by layer; printed per layer: shape, calibration rows, pruned count, the re-fit's mean squared error on the
// calibration rows (before → after the fit, from onnxruntime; 'before' is the layer as it stands before its fit:
// magnitude-pruned for mag, still dense for obs), and the relative output error ‖y − y₀‖² / ‖y₀‖² of the
// layer's output on the first 500 held-out samples (the whole pruned model up to that layer vs the original).
// Variants: mag (magnitude masks), obs (OBS masks chosen in reconstruction), obsn (obs without the safeguard when
// SAFEGUARD=1 enables it for obs); a trailing z (magz, obsz) = ridge towards zero instead of the trained weights.
// Env: HELD (held-out samples, default 1000), DAMP (OBS dampening), BLOCK (OBS mask block size).
//
// usage: node bench/obsLayerErrors.mjs cnn|mobilenet|paddle SPARSITY mag,obs,magz,obsz
import path from 'node:path';
import { BENCH_MODEL_EXPORTS, benchModel, outputsOf } from './benchModels.mjs';
import { loadTs } from './bundle.mjs';
const lib = await loadTs('obsLayerErrors', [
  ...BENCH_MODEL_EXPORTS,
  "export { readModel } from './src/core/onnx/read';",
  "export { obsPlan, obsMaskChooser, batchNormWeights } from './src/core/obs/sparsegpt';",
  "export { magnitudePrune } from './src/core/prune/magnitude';",
  "import { clone as c, ModelProtoSchema } from './src/core/onnx/proto'; export const clone = (p) => c(ModelProtoSchema, p);",
  "export { indexGraph } from './src/core/onnx/graph';",
  "export { weightLayout } from './src/core/prune/layers';",
  "export { reconstructLayers } from './src/core/recover/reconstruct';",
  "export { captureActivations } from './src/core/eval/activations';",
]);
const OUT = path.resolve('bench/out/obsPrune');
const name = process.argv[2] ?? 'cnn';
const sparsity = Number(process.argv[3] ?? 0.5);
const variants = (process.argv[4] ?? 'mag,obs').split(',');
const held = Number(process.env.HELD ?? 1000);
const { file, calibration, test } = await benchModel(lib, name, { out: OUT, held });
const calib = await lib.openDataset(calibration.data, { preprocess: calibration.preprocess });
const model = await lib.readModel(file);
const outputs = (proto, tag) => outputsOf(lib, proto, test, OUT, `diag-${tag}`);
const ref = await outputs(model.proto, 'fp32');
const opts = { sparsity, scope: 'global', ranking: 'lamp' };
const plan = lib.obsPlan(model, opts);
const original = lib.indexGraph(model.proto.graph);
const outNames = plan.plan.map((p) => p.layer.node.output[0]);
async function capture(proto) { const m = new Map(outNames.map((n) => [n, []])); await lib.captureActivations(proto, outNames, test, (out) => { for (const n of outNames) m.get(n).push(out.get(n).data.slice()); }, { batchSize: 32, limit: 500 }); return m; }
const refAct = await capture(model.proto);
for (const v of variants) {
  const { proto: mproto, plan: p } = lib.obsPlan(model, opts);
  const proto = v.startsWith('obs') ? lib.clone(model.proto) : mproto; // OBS layers keep their trained weights until their fit (as pruneStep)
  const toFit = p.map(({ layer, count }) => v.startsWith('mag') ? { name: layer.name, mask: undefined, _m: true } : { name: layer.name, chooseMask: lib.obsMaskChooser(layer, count, { rowScale: lib.batchNormWeights(layer, original, model), damp: process.env.DAMP ? Number(process.env.DAMP) : undefined, blockSize: process.env.BLOCK ? Number(process.env.BLOCK) : undefined, safeguard: process.env.SAFEGUARD === '1' && v !== 'obsn', onChoice: (c) => choices.push(c) }) });
  if (v.startsWith('mag')) { const mp = lib.magnitudePrune(model, opts); mp.layers.forEach((l, i) => { toFit[i].mask = l.mask; }); }
  const reports = []; const choices = [];
  const t0 = performance.now();
  await lib.reconstructLayers(model, { proto, dir: model.dir, file }, toFit, calib, { prior: v.endsWith('z') ? 'zero' : 'current', onLayer: (r) => reports.push(r) });
  const secs = (performance.now() - t0) / 1000;
  const out = await outputs(proto, v);
  const act = await capture(proto);
  console.log(`\n${name} ${sparsity} ${v}: top1 ${(100 * lib.topKAccuracy(out, test.labels, 1)).toFixed(2)} agree ${(100 * lib.agreement(out, ref)).toFixed(2)} (${secs.toFixed(1)} s)`);
  console.log('kept magnitude in', choices.filter((c) => c.kept === 'magnitude').map((c) => c.layer).join(' '));
  reports.forEach((r, i) => {
    const l = p[i].layer; const { outChannels, fanIn } = lib.weightLayout(l);
    let num = 0, den = 0; const a = act.get(outNames[i]), b = refAct.get(outNames[i]);
    a.forEach((x, k) => { for (let j = 0; j < x.length; j++) { num += (x[j] - b[k][j]) ** 2; den += b[k][j] ** 2; } });
    console.log(`${r.name.padEnd(28)} out ${outChannels} fanIn ${fanIn} rows ${r.rows} count ${p[i].count} calib mse ${r.mseBefore.toExponential(2)}→${r.mseAfter.toExponential(2)}  held relerr ${(num / den).toExponential(3)}`);
  });
}
