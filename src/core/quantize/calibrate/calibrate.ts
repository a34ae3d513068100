// Activation calibration over a data set: a MinMax pass, then (for Percentile and Entropy) a histogram
// pass over the now known range; batches are streamed, so memory holds one batch of activations.
import { captureActivations, type BatchSource, type CaptureOptions } from '../../eval/activations';
import type { ModelProto } from '../../onnx/proto';
import { entropyRange } from './entropy';
import { AbsHistogram } from './histogram';
import { MinMaxObserver, type TensorRange } from './minmax';
import { percentileRange } from './percentile';

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export interface CalibrationOptions extends CaptureOptions {
  method?: CalibrationMethod;
  /** histogram bins for percentile / entropy (default 2048) */
  bins?: number;
  /** Percentile: kept share of |x| in percent (default 99.999) */
  percentile?: number;
  /** Entropy: number of quantized bins the KL search compares against (default 128) */
  quantizedBins?: number;
  /** Entropy: least share of non-zero |x| a candidate threshold must keep unclipped (default 0.999) */
  minCoverage?: number;
  file?: string;
}

export async function calibrate(proto: ModelProto, tensors: readonly string[], source: BatchSource, opts: CalibrationOptions = {}): Promise<Map<string, TensorRange>> {
  const observers = new Map(tensors.map((t) => [t, new MinMaxObserver()]));
  await captureActivations(proto, tensors, source, (batch) => {
    for (const [name, t] of batch) observers.get(name)!.observe(t.data);
  }, opts);
  const observed = new Map([...observers].map(([name, o]) => [name, o.range()]));
  const method = opts.method ?? 'minmax';
  if (method === 'minmax') return observed;
  const histograms = new Map([...observed].map(([name, r]) => [name, new AbsHistogram(Math.max(Math.abs(r.min), Math.abs(r.max)), opts.bins ?? 2048)]));
  await captureActivations(proto, tensors, source, (batch) => {
    for (const [name, t] of batch) histograms.get(name)!.observe(t.data);
  }, opts);
  // Graph inputs keep their observed range: preprocessed pixels have no outliers worth clipping.
  const inputs = new Set(proto.graph!.input.map((v) => v.name));
  const ranges = new Map<string, TensorRange>();
  for (const [name, hist] of histograms) {
    const r = observed.get(name)!;
    if (inputs.has(name)) { ranges.set(name, r); continue; }
    ranges.set(name, method === 'percentile' ? percentileRange(hist, r, opts.percentile) : entropyRange(hist, r, opts.quantizedBins, opts.minCoverage));
  }
  return ranges;
}
