// `onnx-lens prune MODEL -o OUT --sparsity S …`: unstructured or structured pruning, optionally followed by
// layer-wise reconstruction and classifier-head distillation on unlabelled calibration data. The flags become one
// recipe step (src/core/recipe/pruneStep.ts does the work); this file parses, writes and prints.
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors';
import { readModel } from '../core/onnx/read';
import { checkStep, type StepContext } from '../core/recipe/context';
import { pruneStep, STRUCTURED_ROUND_TO, type PruneSummary as StepSummary } from '../core/recipe/pruneStep';
import { cliOptionName, prunePattern } from '../core/recipe/stepChecks';
import type { PruneAllocation, PruneMethod, PruneStep } from '../core/recipe/types';
import { addDataOptions, preprocessFromFlags, type DataFlags } from './dataOptions';
import { addLayerOptions, layerSelection, type LayerFlags } from './layerOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';

interface PruneFlags extends DataFlags, LayerFlags {
  output: string;
  sparsity?: string;
  method?: PruneMethod;
  allocation?: PruneAllocation;
  pattern?: string;
  scope?: 'layer' | 'global';
  norm?: 'l1' | 'l2';
  structured?: boolean;
  roundTo?: string;
  importance?: 'magnitude' | 'activation' | 'obs';
  search?: boolean;
  plain?: boolean;
  calib?: string;
  calibSamples?: string;
  reconstruct?: boolean;
  biasCorrection?: boolean;
  distillHead?: boolean;
  json?: boolean;
}

type PruneSummary = { input: string; output: string } & StepSummary;

function parseFraction(text: string, flag: string): number {
  const v = Number(text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : text);
  if (!Number.isFinite(v) || v < 0 || v >= 1) throw new UsageError(undefined, `${flag} must be a fraction in [0, 1) or a percentage, got '${text}'`);
  return v;
}

/** The flags as one prune step (the same step a recipe's `- prune: {…}` gives). */
function stepFromFlags(flags: PruneFlags): PruneStep {
  // --pattern N:M alone prunes n/m of the weights; checkStep rejects a --sparsity that says otherwise.
  const pattern = flags.pattern !== undefined ? prunePattern(flags.pattern) : undefined;
  if (flags.sparsity === undefined && !pattern) {
    throw new UsageError(undefined, flags.pattern !== undefined ? `--pattern must be N:M with 0 < N < M, e.g. 2:4, got '${flags.pattern}'` : 'give --sparsity (or --pattern N:M)');
  }
  const sparsity = flags.sparsity !== undefined ? parseFraction(flags.sparsity, '--sparsity') : pattern!.n / pattern!.m;
  return {
    kind: 'prune', sparsity, method: flags.method, allocation: flags.allocation, pattern: flags.pattern, scope: flags.scope, norm: flags.norm, plain: flags.plain,
    structured: flags.structured, roundTo: positiveInt(flags.roundTo, '--round-to'), importance: flags.importance, search: flags.search,
    reconstruct: flags.reconstruct, biasCorrection: flags.biasCorrection, distillHead: flags.distillHead,
    calibSamples: positiveInt(flags.calibSamples, '--calib-samples'), ...layerSelection(flags),
  };
}

async function pruneFile(file: string, flags: PruneFlags): Promise<PruneSummary> {
  const step = stepFromFlags(flags);
  const ctx: StepContext = {
    file, optionName: cliOptionName,
    calibration: flags.calib ? { data: flags.calib, labels: flags.labels, preprocess: preprocessFromFlags(flags) } : undefined,
  };
  checkStep(step, ctx, file);
  checkOutputPath(file, flags.output);
  const model = await readModel(file);
  const dataLocation = outputDataLocation(model, file, flags.output);
  const r = await pruneStep(model, step, ctx);
  writeOutput(r.model.proto, flags.output, model, dataLocation);
  return { input: file, output: flags.output, ...r.summary };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** What the step did, in lines (`apply` prints them per step too). */
export function summaryLines(s: StepSummary): string[] {
  const lines: string[] = [];
  if (s.mode === 'unstructured') {
    const kind = s.pattern ? `${s.pattern}` : s.allocation === 'obc' ? 'global (OBC allocation)' : s.ranking === 'lamp' ? 'global LAMP' : s.ranking === 'plain' ? 'global plain' : 'layer';
    const method = s.method === 'obs' ? 'OBS (SparseGPT) pruning with Hessian updates' : 'magnitude pruning';
    lines.push(`${s.mode} ${kind} ${method}: ${pct(s.sparsity)} of ${s.paramsBefore.toLocaleString('en-US')} weights are zero`);
    for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${String(l.params).padStart(10)}  ${pct(l.sparsity!)}${l.skipped ? `  (left dense: ${l.skipped})` : ''}`);
  } else {
    lines.push(`structured channel pruning: ${s.paramsBefore.toLocaleString('en-US')} → ${s.paramsAfter.toLocaleString('en-US')} parameters (−${pct(s.sparsity)})${s.roundTo! > 1 ? `, channel counts rounded up to multiples of ${s.roundTo}` : ''}`);
    for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${String(l.channels).padStart(5)} → ${String(l.kept).padStart(5)} channels${l.blocked ? `  (kept: ${l.blocked})` : ''}`);
  }
  for (const st of s.search ?? []) lines.push(`  search: ${st.group} → ${st.kept} channels (${st.proposals} proposals), MACs ${st.macs.toLocaleString('en-US')}, output MSE ${st.outputMse.toExponential(2)}`);
  for (const r of s.reconstructed) {
    lines.push(r.maskChosen
      ? `  reconstructed ${r.name}: mask chosen and kept weights re-fit, output MSE ${r.mseAfter.toExponential(2)} (dense layer on the same inputs ${r.mseBefore.toExponential(2)})`
      : `  reconstructed ${r.name}: output MSE ${r.mseBefore.toExponential(2)} → ${r.mseAfter.toExponential(2)}`);
  }
  for (const b of s.biasCorrected ?? []) lines.push(`  bias corrected ${b.node}: mean |shift| ${b.meanShift.toExponential(2)}`);
  if (s.headDistilled) lines.push(`  head distilled ${s.headDistilled.name}: logit MSE ${s.headDistilled.mseBefore.toExponential(2)} → ${s.headDistilled.mseAfter.toExponential(2)}`);
  return lines;
}

const printSummary = (s: PruneSummary) => process.stdout.write(`${[...summaryLines(s), `wrote ${s.output}`].join('\n')}\n`);

/** The JSON summary leaves out the layers' masks. */
export const jsonSummary = (value: unknown): string => JSON.stringify(value, (k, v) => (k === 'mask' ? undefined : v));

export function register(program: Command): void {
  const cmd = program.command('prune')
    .description('zero the smallest weights (unstructured) or remove whole channels (--structured)')
    .argument('<model>', 'ONNX model to prune')
    .requiredOption('-o, --output <file>', 'where to write the pruned model (never the input)')
    .option('--sparsity <s>', 'fraction of weights (unstructured) or of each group\'s channels (structured) to remove, e.g. 0.5 or 50% (required unless --pattern)')
    .addOption(new Option('--method <method>', 'unstructured: zero the smallest weights (magnitude, default) or choose by OBS saliency w²/[H⁻¹]ᵢᵢ and update the kept weights with each layer\'s Hessian (obs, SparseGPT); obs needs --calib').choices(['magnitude', 'obs']))
    .addOption(new Option('--allocation <how>', 'method obs, global scope: how many weights each layer loses — OBC\'s per-layer error database (OBS errors at 0–95 % sparsity on each layer\'s Hessian) and dynamic programming for the least total error (obc, default), or LAMP scores as magnitude pruning uses (lamp)').choices(['obc', 'lamp']))
    .option('--pattern <n:m>', 'unstructured N:M sparsity, e.g. 2:4: n of every m consecutive weights of each output channel (layers whose fan-in is not a multiple of m stay dense)')
    .addOption(new Option('--scope <scope>', 'one sparsity per layer, or one global ranking (default: global; layer with --structured)').choices(['layer', 'global']))
    .addOption(new Option('--norm <norm>', 'magnitude score |w| (l1) or w² (l2, default); unstructured: only changes the LAMP global ranking; structured: channel norm').choices(['l1', 'l2']))
    .option('--structured', 'remove output channels (and the matching inputs downstream)')
    .option('--round-to <n>', `structured: keep channel counts at multiples of n, rounded up (default ${STRUCTURED_ROUND_TO}, what onnxruntime's fast CPU convs need; 1 = exact counts)`)
    .addOption(new Option('--importance <kind>', 'structured: rank channels by weight magnitude (default), by the output energy they carry on --calib data (activation), or by channel-structured OBS: removed one at a time, each the channel whose loss adds the least output error to the layers reading it after an OBS re-fit of their other weights (obs; Hessians from --calib)').choices(['magnitude', 'activation', 'obs']))
    .option('--search', 'structured: choose how many channels each group keeps by a greedy search (NetAdapt-style): blocks of --round-to channels go one at a time, each from the group whose removal adds the least output error per MAC saved after reconstruction, until the MACs fall by --sparsity; needs --calib and --reconstruct')
    .option('--plain', 'unstructured global: rank raw magnitudes across layers (plain global magnitude) instead of LAMP scores (the default)')
    .option('--calib <data>', 'unlabelled calibration data (image folder or .npy) for --method obs / --reconstruct / --distill-head')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .option('--reconstruct', 're-fit the pruned layers by least squares to the original layer outputs')
    .option('--bias-correction', 'shift each pruned model layer\'s bias so its per-channel output mean matches the original')
    .option('--distill-head', 're-fit the classifier to the original model\'s logits (ridge, closed form)')
    .option('--json', 'print a JSON summary');
  addLayerOptions(cmd, 'leave these layers alone');
  addDataOptions(cmd).action(async (file: string, flags: PruneFlags) => {
    const summary = await pruneFile(file, flags);
    if (flags.json) process.stdout.write(`${jsonSummary(summary)}\n`);
    else printSummary(summary);
  });
}
