// Greedy block search for structured pruning after NetAdapt (Yang et al., ECCV 2018): channels go one block at a
// time, each time from the group whose removal raises the model's output error least per MAC saved. Where
// NetAdapt fine-tunes every proposal briefly, each proposal here is recovered by layer-wise reconstruction.
import { analyzeModel } from '../analysis/analyze';
import { captureActivations, type BatchSource } from '../eval/activations';
import { modelInput } from '../eval/modelInput';
import type { Model } from '../onnx/read';
import type { ModelProto } from '../onnx/proto';
import { reconstructLayers } from '../recover/reconstruct';
import type { LayerSelection } from '../select';
import { groupKey, structuredPrune, type StructuredResult } from './structured';

export interface BlockSearchOptions extends LayerSelection {
  /** fraction of the model's MACs to remove: blocks go until the MACs are at most (1 − reduction) × the original */
  macsReduction: number;
  /** channels per block (every group keeps a multiple of it) */
  block: number;
  /** no group loses more than this fraction (default 0.9) */
  maxGroupSparsity?: number;
  /** channel ranking inside a group (see StructuredOptions) */
  norm?: 'l1' | 'l2';
  activationVariance?: ReadonlyMap<string, Float64Array>;
  /** calibration samples for reconstruction and the error (default 128) */
  samples?: number;
  threads?: number;
  onStep?: (step: BlockSearchStep) => void;
  file?: string;
}

export interface BlockSearchStep {
  /** the group that lost a block, and the channels it keeps */
  group: string;
  kept: number;
  /** mean squared difference of the model output from the original's, on the calibration samples */
  outputMse: number;
  macs: number;
  /** proposals (pruned + reconstructed models) measured for this step */
  proposals: number;
}

export interface BlockSearchResult {
  /** kept channels per group, for `structuredPrune({ keep })` */
  keep: Map<string, number>;
  steps: BlockSearchStep[];
}

export async function searchBlocks(model: Model, calib: BatchSource, opts: BlockSearchOptions): Promise<BlockSearchResult> {
  const block = Math.max(1, opts.block);
  const samples = opts.samples ?? 128;
  const selection = { layers: opts.layers, exclude: opts.exclude };
  const input = modelInput(model.proto);
  const inputShapes = input ? { [input.name]: [1, ...calib.sampleShape] } : undefined;
  // The candidate as it is in memory (its untouched weights may be external, next to the original): no re-encode.
  const macsOf = (proto: ModelProto) => analyzeModel({ proto, file: model.file, dir: model.dir, fileBytes: 0 }, { inputShapes }).model.macs;
  const outputName = model.proto.graph!.output[0].name;
  const outputs = async (proto: ModelProto) => {
    const chunks: Float32Array[] = [];
    await captureActivations(proto, [outputName], calib, (t) => { chunks.push(t.get(outputName)!.data.slice()); }, { limit: samples, threads: opts.threads, file: opts.file });
    return chunks;
  };
  const reference = await outputs(model.proto);
  const outputMse = async (proto: ModelProto) => {
    const got = await outputs(proto);
    let sum = 0, n = 0;
    got.forEach((chunk, i) => { for (let j = 0; j < chunk.length; j++) sum += (chunk[j] - reference[i][j]) ** 2; n += chunk.length; });
    return sum / n;
  };
  const prune = async (keep: Map<string, number>): Promise<StructuredResult> => {
    const r = structuredPrune(model, { ...selection, sparsity: 0, keep, norm: opts.norm, activationVariance: opts.activationVariance, file: opts.file });
    await reconstructLayers(model, { proto: r.proto, dir: model.dir, file: model.file }, r.refit, calib, { samples, threads: opts.threads, file: opts.file });
    return r;
  };

  const groups = structuredPrune(model, { ...selection, sparsity: 0, file: opts.file }).groups.filter((g) => !g.blocked);
  const keep = new Map(groups.map((g) => [groupKey(g), g.channels]));
  const floor = (n: number) => Math.max(block, Math.ceil((1 - (opts.maxGroupSparsity ?? 0.9)) * n));
  let macs = macsOf(model.proto);
  const target = (1 - opts.macsReduction) * macs;
  let mse = 0;
  const steps: BlockSearchStep[] = [];
  while (macs > target) {
    let best: { group: string; kept: number; mse: number; macs: number; score: number } | undefined;
    let proposals = 0;
    for (const g of groups) {
      const key = groupKey(g);
      const kept = keep.get(key)! - block;
      if (g.channels % block !== 0 || kept < floor(g.channels)) continue;
      const r = await prune(new Map([...keep, [key, kept]]));
      proposals++;
      const [e, m] = [await outputMse(r.proto), macsOf(r.proto)];
      // Error added per MAC saved; a block that saves nothing ranks behind every block that does.
      const score = m < macs ? (e - mse) / (macs - m) : Infinity;
      if (!best || score < best.score) best = { group: key, kept, mse: e, macs: m, score };
    }
    if (!best) break;
    keep.set(best.group, best.kept);
    [mse, macs] = [best.mse, best.macs];
    const step = { group: best.group, kept: best.kept, outputMse: mse, macs, proposals };
    steps.push(step);
    opts.onStep?.(step);
  }
  return { keep, steps };
}
