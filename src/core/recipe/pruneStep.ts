// The prune step: unstructured magnitude (global LAMP, plain, or per layer) or OBS (SparseGPT) masks, optionally
// N:M, or structured channel pruning (optionally with a NetAdapt-style block search), then the no-retraining
// recovery on calibration data: layer-wise reconstruction → bias correction → classifier-head distillation.
import type { ModelProto } from '../onnx/proto';
import { inlineExternalData, type Model } from '../onnx/read';
import { searchBlocks, type BlockSearchStep } from '../prune/blockSearch';
import { readConstant, weightedLayers, weightLayout } from '../prune/layers';
import { layerHessians } from '../obs/hessian';
import { batchNormWeights, layerResult, obsMaskChooser, obsPlan, obsPruneModel, sparsityOf, type ObsLayerResult } from '../obs/sparsegpt';
import { indexGraph } from '../onnx/graph';
import { clone, ModelProtoSchema } from '../onnx/proto';
import { magnitudePrune, prunableLayers, type PruneResult } from '../prune/magnitude';
import { activationVariances, structuredPrune } from '../prune/structured';
import { correctBiases, sameNameTargets, type BiasCorrection } from '../recover/biasCorrection';
import { distillHead } from '../recover/headDistill';
import { reconstructLayers, type LayerFitReport, type LayerToFit } from '../recover/reconstruct';
import { calibSamples, checkStep, openCalibration, phase, type StepContext } from './context';
import { prunePattern, pruneScope } from './stepChecks';
import type { PruneAllocation, PruneMethod, PruneStep } from './types';

export interface PruneSummary {
  mode: 'unstructured' | 'structured';
  /** unstructured: how the mask was chosen, when not by magnitude */
  method?: PruneMethod;
  /** unstructured N:M pattern (then scope does not matter: every output channel keeps m − n of each m) */
  pattern?: string;
  scope: 'layer' | 'global';
  /** unstructured global: how weights are ranked across layers */
  ranking?: 'lamp' | 'plain';
  /** method obs, global: how the layers' sparsities were chosen */
  allocation?: PruneAllocation;
  /** structured: kept channel counts are multiples of this */
  roundTo?: number;
  /** unstructured: zeros / weights of the pruned layers; structured: 1 − params after / params before */
  sparsity: number;
  paramsBefore: number;
  paramsAfter: number;
  layers: { name: string; params?: number; zeros?: number; sparsity?: number; skipped?: string; channels?: number; kept?: number; blocked?: string }[];
  /** structured search: the blocks removed, in order */
  search?: BlockSearchStep[];
  reconstructed: LayerFitReport[];
  biasCorrected?: BiasCorrection[];
  headDistilled?: LayerFitReport;
}

/**
 * Structured default for roundTo. onnxruntime's CPU provider runs a Conv with its blocked NCHWc kernels only
 * when channel counts are multiples of 4, and those kernels compute whole blocks of 8 (AVX2) or 16 (AVX-512)
 * channels. With exact counts (e.g. 45 of 64) the pruned model falls back to plain convs and measured slower
 * than the original (bench/README.md, "Pruning").
 */
export const STRUCTURED_ROUND_TO = 8;

/** Per-layer sparsity for method obs (global scope, unstructured). */
export const DEFAULT_ALLOCATION: PruneAllocation = 'obc';

export async function pruneStep(input: Model, step: PruneStep, ctx: StepContext = {}): Promise<{ model: Model; summary: PruneSummary }> {
  const file = ctx.file ?? input.file;
  checkStep(step, ctx, file);
  const { sparsity } = step;
  const scope = pruneScope(step);
  const recover = [step.reconstruct, step.biasCorrection, step.distillHead].filter(Boolean).length;
  // OBC's allocation needs every layer's Hessian (of the original model) before any layer is pruned.
  const allocation = step.method === 'obs' && step.pattern === undefined && scope === 'global' && !step.plain ? step.allocation ?? DEFAULT_ALLOCATION : undefined;
  // obs: the Hessians (unless reconstruction chooses the masks and LAMP allocates) before the masks
  const phases = 1 + (step.search || (step.method === 'obs' && (!step.reconstruct || allocation === 'obc')) ? 1 : 0) + recover;
  let done = 0;
  // Pruning, reconstruction and bias correction run the model in onnxruntime from memory.
  const model: Model = { ...input, proto: inlineExternalData(input.proto, input) };
  const selection = { layers: step.layers, exclude: step.exclude };
  const samples = calibSamples(step, ctx);
  const needsCalib = recover > 0 || step.importance === 'activation' || step.importance === 'obs' || step.search || step.method === 'obs';
  const calib = needsCalib ? await openCalibration(ctx, model, samples) : undefined;

  let proto: ModelProto;
  let toFit: LayerToFit[];
  let summary: Omit<PruneSummary, 'reconstructed'>;
  let afterRecovery: (() => void) | undefined;
  if (step.structured) {
    const activationVariance = step.importance === 'activation' ? await activationVariances(model, calib!, { samples, file }) : undefined;
    const roundTo = step.roundTo ?? STRUCTURED_ROUND_TO;
    if (step.search) phase(ctx, done++, phases, 'searching which channel blocks to remove');
    const search = step.search
      ? await searchBlocks(model, calib!, { ...selection, macsReduction: sparsity, block: roundTo, norm: step.norm, activationVariance, samples, file })
      : undefined;
    phase(ctx, done++, phases, 'removing channels');
    // Channel-structured OBS reads the Hessians of every dense layer (Conv group 1, Gemm/MatMul) that could consume a group.
    const readers = step.importance === 'obs' ? weightedLayers(model.proto.graph!).filter((l) => l.kind !== 'conv' || l.group === 1).map((l) => l.name) : [];
    const obsHessians = readers.length > 0 ? await layerHessians(model, calib!, readers, { samples, file, signal: ctx.signal }) : undefined;
    const r = structuredPrune(model, { ...selection, sparsity: search ? 0 : sparsity, scope, norm: step.norm, roundTo, activationVariance, obsHessians, keep: search?.keep, file });
    proto = r.proto;
    toFit = r.refit;
    summary = {
      mode: 'structured', scope, roundTo, sparsity: 1 - r.paramsAfter / r.paramsBefore, paramsBefore: r.paramsBefore, paramsAfter: r.paramsAfter,
      layers: r.groups.map((g) => ({ name: g.producers.join('+'), channels: g.channels, kept: g.kept, ...(g.blocked ? { blocked: g.blocked } : {}) })),
      ...(search ? { search: search.steps } : {}),
    };
  } else {
    const ranking: 'lamp' | 'plain' = step.plain ? 'plain' : 'lamp';
    const options = { ...selection, sparsity, scope, norm: step.norm, ranking, file } as const;
    const pattern = step.pattern !== undefined ? prunePattern(step.pattern) : undefined;
    const hessiansFor = async () => {
      phase(ctx, done++, phases, 'collecting layer Hessians');
      const names = prunableLayers(model.proto, selection, file).map((l) => l.name);
      return layerHessians(model, calib!, names, { samples, file, signal: ctx.signal });
    };
    let r: PruneResult;
    if (step.method === 'obs' && step.reconstruct) {
      // Sequential OBS: each layer's mask is chosen during its reconstruction, from the pruned model's inputs.
      const hessians = allocation === 'obc' ? await hessiansFor() : undefined;
      phase(ctx, done++, phases, 'allocating the layers\' sparsity');
      const plan = obsPlan(model, { ...options, pattern, allocation, hessians });
      const original = indexGraph(model.proto.graph!);
      // The layers keep their trained weights until their fit: the fit's ridge term pulls towards them.
      proto = clone(ModelProtoSchema, model.proto);
      toFit = plan.plan.filter((p) => !p.skipped).map(({ layer, count }) => ({
        name: layer.name, chooseMask: obsMaskChooser(layer, count, { pattern, rowScale: batchNormWeights(layer, original, model) }),
      }));
      // The layers' zeros are known once reconstruction has chosen the masks.
      r = { proto, layers: [], sparsity: 0 };
      afterRecovery = () => {
        const index = indexGraph(proto.graph!);
        const layers = plan.plan.map((p) => layerResult(p.layer, readConstant(index, p.layer.weightName, model), undefined, p.skipped));
        summary = unstructuredSummary(step, scope, ranking, pattern, { proto, layers, sparsity: sparsityOf(layers) }, allocation);
      };
    } else {
      if (step.method === 'obs') {
        const hessians = await hessiansFor();
        phase(ctx, done++, phases, 'pruning by OBS saliency with Hessian updates');
        r = obsPruneModel(model, { ...options, pattern, hessians, allocation });
      } else {
        phase(ctx, done++, phases, 'zeroing the smallest weights');
        r = pattern ? obsPruneModel(model, { ...options, pattern }) : magnitudePrune(model, options);
      }
      proto = r.proto;
      // Layers an N:M pattern left dense are not pruned: nothing to re-fit.
      toFit = r.layers.filter((l: ObsLayerResult) => !l.skipped).map((l) => ({ name: l.name, mask: l.mask }));
    }
    summary = unstructuredSummary(step, scope, ranking, pattern, r, allocation);
  }

  const reconstructed: LayerFitReport[] = [];
  let biasCorrected: BiasCorrection[] | undefined;
  let headDistilled: LayerFitReport | undefined;
  if (calib) {
    if (step.reconstruct) {
      phase(ctx, done++, phases, `reconstructing ${toFit.length} layers`);
      reconstructed.push(...await reconstructLayers(model, { proto, dir: model.dir, file: model.file }, toFit, calib, { samples, file, signal: ctx.signal }));
    }
    if (step.biasCorrection) {
      phase(ctx, done++, phases, 'correcting biases');
      const r = await correctBiases(model.proto, proto, sameChannelTargets(model.proto, proto), calib, { limit: samples, file, dir: model.dir });
      proto = r.proto;
      biasCorrected = r.corrections;
    }
    if (step.distillHead) {
      phase(ctx, done++, phases, 'distilling the classifier head');
      headDistilled = await distillHead(model, { proto, dir: model.dir, file: model.file }, calib, { samples, file });
    }
  }
  afterRecovery?.();
  phase(ctx, phases, phases, 'pruned');
  return {
    model: { ...model, proto },
    summary: { ...summary, reconstructed, ...(biasCorrected ? { biasCorrected } : {}), ...(headDistilled ? { headDistilled } : {}) },
  };
}

function unstructuredSummary(
  step: PruneStep, scope: 'layer' | 'global', ranking: 'lamp' | 'plain', pattern: { n: number; m: number } | undefined, r: PruneResult,
  allocation?: PruneAllocation,
): Omit<PruneSummary, 'reconstructed'> {
  const params = r.layers.reduce((a, l) => a + l.params, 0);
  const zeros = r.layers.reduce((a, l) => a + l.zeros, 0);
  return {
    mode: 'unstructured', scope, ...(step.method === 'obs' ? { method: step.method } : {}), ...(allocation ? { allocation } : {}),
    ...(pattern ? { pattern: `${pattern.n}:${pattern.m}` } : scope === 'global' ? { ranking } : {}),
    sparsity: r.sparsity, paramsBefore: params, paramsAfter: params - zeros,
    layers: r.layers.map((l: ObsLayerResult) => ({ name: l.name, params: l.params, zeros: l.zeros, sparsity: l.sparsity, ...(l.skipped ? { skipped: l.skipped } : {}) })),
  };
}

/** Bias-correction targets: Conv/Gemm layers whose output channels pruning left intact. */
function sameChannelTargets(original: ModelProto, pruned: ModelProto) {
  const outs = (p: ModelProto) => new Map(weightedLayers(p.graph!).map((l) => [l.name, weightLayout(l).outChannels]));
  const [before, after] = [outs(original), outs(pruned)];
  return sameNameTargets(original, pruned).filter((t) => after.has(t.node) && before.get(t.node) === after.get(t.node));
}
