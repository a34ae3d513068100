// Weight histogram of one layer's main weight in real (dequantized) values: equal-width bins between the
// smallest and largest value. Exact zeros (pruned weights: a quantized weight at its zero-point) are counted
// apart, so the pruning spike neither hides the distribution nor gets lost in a bin.
import { UsageError } from '../errors';
import { nodeLabel } from '../onnx/graph';
import type { Model } from '../onnx/read';
import { findLayers } from './analyze';

export interface WeightHistogram {
  /** bins + 1 bin edges, ascending */
  edges: number[];
  /** non-zero values per bin [edges[k], edges[k+1]) (the last bin includes its right edge) */
  counts: number[];
  /** values exactly zero (for quantized weights: equal to the zero-point); not included in `counts` */
  zeroCount: number;
  /** index of the bin whose range holds 0, or -1 when 0 lies outside [min, max] */
  zeroBin: number;
  min: number;
  max: number;
  /** stored element type of the weight (e.g. 'int8' for a quantized layer, whose values are shown dequantized) */
  dtype: string;
}

export function weightHistogram(model: Model, layerName: string, bins = 64): WeightHistogram {
  const layer = findLayers(model).find((l) => nodeLabel(l.node) === layerName);
  if (!layer) throw new UsageError(model.file, `no layer named '${layerName}' with weights`);
  const w = layer.weights.find((x) => x.role === 'weight') ?? layer.weights[0];
  const stored = w.values();
  const real = new Float64Array(stored.length);
  let zeroCount = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < stored.length; i++) {
    const zp = w.zeroPoint(i);
    const v = (stored[i] - zp) * w.scale(i);
    real[i] = v;
    if (stored[i] === zp) zeroCount++;
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) { min = 0; max = 0; }
  const n = Math.max(1, Math.floor(bins));
  const width = max > min ? (max - min) / n : 1;
  const edges = Array.from({ length: n + 1 }, (_, k) => min + k * width);
  const counts = new Array<number>(n).fill(0);
  const binOf = (v: number) => Math.min(n - 1, Math.floor((v - min) / width));
  for (let i = 0; i < real.length; i++) if (stored[i] !== w.zeroPoint(i) && Number.isFinite(real[i])) counts[binOf(real[i])]++;
  return { edges, counts, zeroCount, zeroBin: min <= 0 && 0 <= max ? binOf(0) : -1, min, max, dtype: w.dtype };
}
