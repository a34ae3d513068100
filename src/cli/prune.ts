// `onnx-lens prune MODEL -o OUT --sparsity S …`: unstructured or structured pruning, optionally followed by
// layer-wise reconstruction and classifier-head distillation on unlabelled calibration data.
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors';
import { modelInput } from '../core/eval/modelInput';
import type { ModelProto } from '../core/onnx/proto';
import { inlineExternalData, readModel } from '../core/onnx/read';
import { weightedLayers, weightLayout } from '../core/prune/layers';
import { magnitudePrune } from '../core/prune/magnitude';
import { searchBlocks, type BlockSearchStep } from '../core/prune/blockSearch';
import { activationVariances, structuredPrune } from '../core/prune/structured';
import { correctBiases, sameNameTargets, type BiasCorrection } from '../core/recover/biasCorrection';
import { distillHead } from '../core/recover/headDistill';
import { reconstructLayers, type LayerFitReport, type LayerToFit } from '../core/recover/reconstruct';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { addLayerOptions, layerSelection, type LayerFlags } from './layerOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';

interface PruneFlags extends DataFlags, LayerFlags {
  output: string;
  sparsity: string;
  scope?: 'layer' | 'global';
  norm?: 'l1' | 'l2';
  structured?: boolean;
  roundTo?: string;
  importance?: 'magnitude' | 'activation';
  search?: boolean;
  plain?: boolean;
  calib?: string;
  calibSamples?: string;
  reconstruct?: boolean;
  biasCorrection?: boolean;
  distillHead?: boolean;
  json?: boolean;
}

interface PruneSummary {
  input: string;
  output: string;
  mode: 'unstructured' | 'structured';
  scope: 'layer' | 'global';
  /** unstructured global: how weights are ranked across layers */
  ranking?: 'lamp' | 'plain';
  /** structured: kept channel counts are multiples of this */
  roundTo?: number;
  /** unstructured: zeros / weights of the pruned layers; structured: 1 − params after / params before */
  sparsity: number;
  paramsBefore: number;
  paramsAfter: number;
  layers: { name: string; params?: number; zeros?: number; sparsity?: number; channels?: number; kept?: number; blocked?: string }[];
  /** structured --search: the blocks removed, in order */
  search?: BlockSearchStep[];
  reconstructed: LayerFitReport[];
  biasCorrected?: BiasCorrection[];
  headDistilled?: LayerFitReport;
}

function parseFraction(text: string, flag: string): number {
  const v = Number(text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : text);
  if (!Number.isFinite(v) || v < 0 || v >= 1) throw new UsageError(undefined, `${flag} must be a fraction in [0, 1) or a percentage, got '${text}'`);
  return v;
}

/**
 * Structured default for --round-to. onnxruntime's CPU provider runs a Conv with its blocked NCHWc kernels only
 * when channel counts are multiples of 4, and those kernels compute whole blocks of 8 (AVX2) or 16 (AVX-512)
 * channels. With exact counts (e.g. 45 of 64) the pruned model falls back to plain convs and measured slower
 * than the original (bench/README.md, "Pruning").
 */
const STRUCTURED_ROUND_TO = 8;

async function pruneFile(file: string, flags: PruneFlags): Promise<PruneSummary> {
  const sparsity = parseFraction(flags.sparsity, '--sparsity');
  const scope = flags.scope ?? (flags.structured ? 'layer' : 'global');
  if (flags.plain && flags.structured) throw new UsageError(file, '--plain applies to unstructured global pruning only, not with --structured');
  if (flags.plain && scope === 'layer') throw new UsageError(file, '--plain applies to global pruning only, not with --scope layer');
  if (flags.roundTo !== undefined && !flags.structured) throw new UsageError(file, '--round-to applies to --structured pruning only');
  checkOutputPath(file, flags.output);
  if ((flags.reconstruct || flags.biasCorrection || flags.distillHead) && !flags.calib) throw new UsageError(file, '--reconstruct, --bias-correction and --distill-head need --calib DATA');
  const model = await readModel(file);
  const dataLocation = outputDataLocation(model, file, flags.output);
  // Pruning, reconstruction and bias correction run the model in onnxruntime from memory.
  model.proto = inlineExternalData(model.proto, model);
  const selection = layerSelection(flags);

  const samples = positiveInt(flags.calibSamples, '--calib-samples', 256);
  if (flags.importance === 'activation' && !(flags.structured && flags.calib)) throw new UsageError(file, '--importance activation needs --structured and --calib DATA');
  if (flags.search && !(flags.structured && flags.calib && flags.reconstruct)) throw new UsageError(file, '--search needs --structured, --calib DATA and --reconstruct');
  const calib = flags.calib ? await datasetFromOptions(flags.calib, flags, modelInput(model.proto)?.shape, samples) : undefined;

  let proto;
  let toFit: LayerToFit[];
  let summary: Omit<PruneSummary, 'reconstructed' | 'output' | 'input'>;
  if (flags.structured) {
    const activationVariance = flags.importance === 'activation' ? await activationVariances(model, calib!, { samples, file }) : undefined;
    const roundTo = positiveInt(flags.roundTo, '--round-to', STRUCTURED_ROUND_TO);
    const search = flags.search
      ? await searchBlocks(model, calib!, { ...selection, macsReduction: sparsity, block: roundTo, norm: flags.norm, activationVariance, samples, file })
      : undefined;
    const r = structuredPrune(model, { ...selection, sparsity: search ? 0 : sparsity, scope, norm: flags.norm, roundTo, activationVariance, keep: search?.keep, file });
    proto = r.proto;
    toFit = r.refit;
    summary = {
      mode: 'structured', scope, roundTo, sparsity: 1 - r.paramsAfter / r.paramsBefore, paramsBefore: r.paramsBefore, paramsAfter: r.paramsAfter,
      layers: r.groups.map((g) => ({ name: g.producers.join('+'), channels: g.channels, kept: g.kept, ...(g.blocked ? { blocked: g.blocked } : {}) })),
      ...(search ? { search: search.steps } : {}),
    };
  } else {
    const ranking = flags.plain ? 'plain' : 'lamp';
    const r = magnitudePrune(model, { ...selection, sparsity, scope, norm: flags.norm, ranking, file });
    proto = r.proto;
    toFit = r.layers.map((l) => ({ name: l.name, mask: l.mask }));
    const params = r.layers.reduce((a, l) => a + l.params, 0);
    const zeros = r.layers.reduce((a, l) => a + l.zeros, 0);
    summary = {
      mode: 'unstructured', scope, ...(scope === 'global' ? { ranking } : {}), sparsity: r.sparsity, paramsBefore: params, paramsAfter: params - zeros,
      layers: r.layers.map((l) => ({ name: l.name, params: l.params, zeros: l.zeros, sparsity: l.sparsity })),
    };
  }

  const reconstructed: LayerFitReport[] = [];
  let biasCorrected: BiasCorrection[] | undefined;
  let headDistilled: LayerFitReport | undefined;
  if (calib) {
    if (flags.reconstruct) reconstructed.push(...await reconstructLayers(model, { proto, dir: model.dir, file: model.file }, toFit, calib, { samples, file }));
    if (flags.biasCorrection) {
      const r = await correctBiases(model.proto, proto, sameChannelTargets(model.proto, proto), calib, { limit: samples, file, dir: model.dir });
      proto = r.proto;
      biasCorrected = r.corrections;
    }
    if (flags.distillHead) headDistilled = await distillHead(model, { proto, dir: model.dir, file: model.file }, calib, { samples, file });
  }
  writeOutput(proto, flags.output, model, dataLocation);
  return { input: file, output: flags.output, ...summary, reconstructed, ...(biasCorrected ? { biasCorrected } : {}), ...(headDistilled ? { headDistilled } : {}) };
}

/** Bias-correction targets: Conv/Gemm layers whose output channels pruning left intact. */
function sameChannelTargets(original: ModelProto, pruned: ModelProto) {
  const outs = (p: ModelProto) => new Map(weightedLayers(p.graph!).map((l) => [l.name, weightLayout(l).outChannels]));
  const [before, after] = [outs(original), outs(pruned)];
  return sameNameTargets(original, pruned).filter((t) => after.has(t.node) && before.get(t.node) === after.get(t.node));
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function printSummary(s: PruneSummary): void {
  const lines: string[] = [];
  if (s.mode === 'unstructured') {
    const kind = s.ranking === 'lamp' ? 'global LAMP' : s.ranking === 'plain' ? 'global plain' : 'layer';
    lines.push(`${s.mode} ${kind} magnitude pruning: ${pct(s.sparsity)} of ${s.paramsBefore.toLocaleString('en-US')} weights are zero`);
    for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${String(l.params).padStart(10)}  ${pct(l.sparsity!)}`);
  } else {
    lines.push(`structured channel pruning: ${s.paramsBefore.toLocaleString('en-US')} → ${s.paramsAfter.toLocaleString('en-US')} parameters (−${pct(s.sparsity)})${s.roundTo! > 1 ? `, channel counts rounded up to multiples of ${s.roundTo}` : ''}`);
    for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${String(l.channels).padStart(5)} → ${String(l.kept).padStart(5)} channels${l.blocked ? `  (kept: ${l.blocked})` : ''}`);
  }
  for (const st of s.search ?? []) lines.push(`  search: ${st.group} → ${st.kept} channels (${st.proposals} proposals), MACs ${st.macs.toLocaleString('en-US')}, output MSE ${st.outputMse.toExponential(2)}`);
  for (const r of s.reconstructed) lines.push(`  reconstructed ${r.name}: output MSE ${r.mseBefore.toExponential(2)} → ${r.mseAfter.toExponential(2)}`);
  for (const b of s.biasCorrected ?? []) lines.push(`  bias corrected ${b.node}: mean |shift| ${b.meanShift.toExponential(2)}`);
  if (s.headDistilled) lines.push(`  head distilled ${s.headDistilled.name}: logit MSE ${s.headDistilled.mseBefore.toExponential(2)} → ${s.headDistilled.mseAfter.toExponential(2)}`);
  lines.push(`wrote ${s.output}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function register(program: Command): void {
  const cmd = program.command('prune')
    .description('zero the smallest weights (unstructured) or remove whole channels (--structured)')
    .argument('<model>', 'ONNX model to prune')
    .requiredOption('-o, --output <file>', 'where to write the pruned model (never the input)')
    .requiredOption('--sparsity <s>', 'fraction of weights (unstructured) or of each group\'s channels (structured) to remove, e.g. 0.5 or 50%')
    .addOption(new Option('--scope <scope>', 'one sparsity per layer, or one global ranking (default: global; layer with --structured)').choices(['layer', 'global']))
    .addOption(new Option('--norm <norm>', 'magnitude score |w| (l1) or w² (l2, default); unstructured: only changes the LAMP global ranking; structured: channel norm').choices(['l1', 'l2']))
    .option('--structured', 'remove output channels (and the matching inputs downstream)')
    .option('--round-to <n>', `structured: keep channel counts at multiples of n, rounded up (default ${STRUCTURED_ROUND_TO}, what onnxruntime's fast CPU convs need; 1 = exact counts)`)
    .addOption(new Option('--importance <kind>', 'structured: rank channels by weight magnitude (default) or by the output energy they carry on --calib data').choices(['magnitude', 'activation']))
    .option('--search', 'structured: choose how many channels each group keeps by a greedy search (NetAdapt-style): blocks of --round-to channels go one at a time, each from the group whose removal adds the least output error per MAC saved after reconstruction, until the MACs fall by --sparsity; needs --calib and --reconstruct')
    .option('--plain', 'unstructured global: rank raw magnitudes across layers (plain global magnitude) instead of LAMP scores (the default)')
    .option('--calib <data>', 'unlabelled calibration data (image folder or .npy) for --reconstruct / --distill-head')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .option('--reconstruct', 're-fit the pruned layers by least squares to the original layer outputs')
    .option('--bias-correction', 'shift each pruned model layer\'s bias so its per-channel output mean matches the original')
    .option('--distill-head', 're-fit the classifier to the original model\'s logits (ridge, closed form)')
    .option('--json', 'print a JSON summary');
  addLayerOptions(cmd, 'leave these layers alone');
  addDataOptions(cmd).action(async (file: string, flags: PruneFlags) => {
    const summary = await pruneFile(file, flags);
    if (flags.json) process.stdout.write(`${JSON.stringify(summary, (k, v) => (k === 'mask' ? undefined : v))}\n`);
    else printSummary(summary);
  });
}
