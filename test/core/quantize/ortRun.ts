// Runs in-memory models with onnxruntime-node and compares outputs — the independent reference the
// quantization tests measure against.
import * as ort from 'onnxruntime-node';
import type { BatchSource } from '../../../src/core/eval/activations';
import { optimizedOpCounts } from '../../../src/core/onnx/optimize';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { encodeModel } from '../../../src/core/onnx/write';

/** A model in memory, its bytes, or a file path (external data is found next to the file). */
export type ModelLike = ModelProto | Uint8Array | string;

export async function session(proto: ModelLike): Promise<ort.InferenceSession> {
  const opts = { logSeverityLevel: 3 as const };
  if (typeof proto === 'string') return ort.InferenceSession.create(proto, opts);
  return ort.InferenceSession.create(proto instanceof Uint8Array ? proto : encodeModel(proto), opts);
}

/** The first output of `proto` for every sample of `source`, rows of `width` values. */
export async function outputs(proto: ModelLike, source: BatchSource, batch = 32): Promise<{ values: Float32Array; width: number; n: number }> {
  const s = await session(proto);
  const fixed = s.inputMetadata[0].isTensor ? s.inputMetadata[0].shape[0] : undefined;
  const size = typeof fixed === 'number' && fixed > 0 ? fixed : batch;
  const parts: Float32Array[] = [];
  for (let start = 0; start < source.n; start += size) {
    const count = Math.min(size, source.n - start);
    const x = new ort.Tensor('float32', await source.batch(start, count), [count, ...source.sampleShape]);
    parts.push((await s.run({ [s.inputNames[0]]: x }))[s.outputNames[0]].data as Float32Array);
  }
  await s.release();
  const values = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) { values.set(p, off); off += p.length; }
  return { values, width: values.length / source.n, n: source.n };
}

export function argmaxRows(o: { values: Float32Array; width: number; n: number }): Int32Array {
  return Int32Array.from({ length: o.n }, (_, r) => {
    let best = 0;
    for (let j = 1; j < o.width; j++) if (o.values[r * o.width + j] > o.values[r * o.width + best]) best = j;
    return best;
  });
}

export interface Comparison { agreement: number; maxAbsError: number; maxAbsReference: number }

export function compareOutputs(ref: { values: Float32Array; width: number; n: number }, got: { values: Float32Array; width: number; n: number }): Comparison {
  const a = argmaxRows(ref), b = argmaxRows(got);
  let same = 0, err = 0, mag = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  for (let i = 0; i < ref.values.length; i++) { err = Math.max(err, Math.abs(ref.values[i] - got.values[i])); mag = Math.max(mag, Math.abs(ref.values[i])); }
  return { agreement: same / a.length, maxAbsError: err, maxAbsReference: mag };
}

export function accuracy(o: { values: Float32Array; width: number; n: number }, labels: Int32Array): number {
  const p = argmaxRows(o);
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === labels[i]) ok++;
  return ok / p.length;
}

/** A data source over one in-memory float tensor [n, ...sampleShape]. */
export function arraySource(data: Float32Array, sampleShape: number[]): BatchSource {
  const size = sampleShape.reduce((a, b) => a * b, 1);
  return { n: data.length / size, sampleShape, batch: async (start, count) => data.slice(start * size, (start + count) * size) };
}

/** Op counts of the model onnxruntime executes after its QDQ fusions ('extended' level, no layout changes). */
export function fusedOps(proto: ModelProto): Promise<Map<string, number>> {
  return optimizedOpCounts(proto, 'extended');
}

export const count = (m: Map<string, number>, op: string) => m.get(op) ?? 0;
