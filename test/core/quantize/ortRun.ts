// Runs in-memory models with onnxruntime-node and compares outputs — the independent reference the
// quantization tests measure against.
import * as ort from 'onnxruntime-node';
import type { BatchSource } from '../../../src/core/eval/activations';
import { agreement, maxAbsDiff, topKAccuracy } from '../../../src/core/eval/metrics';
import { runModel, type ModelSession, type Outputs } from '../../../src/core/eval/runner';
import { optimizedOpCounts } from '../../../src/core/onnx/optimize';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { encodeModel } from '../../../src/core/onnx/write';

/** A model in memory, its bytes, or a file path (external data is found next to the file). */
export type ModelLike = ModelProto | Uint8Array | string;

async function session(proto: ModelLike): Promise<ort.InferenceSession> {
  const opts = { logSeverityLevel: 3 as const };
  if (typeof proto === 'string') return ort.InferenceSession.create(proto, opts);
  return ort.InferenceSession.create(proto instanceof Uint8Array ? proto : encodeModel(proto), opts);
}

/** The first output of `proto` for every sample of `source`, rows of `width` values. */
export async function outputs(proto: ModelLike, source: BatchSource, batch = 32): Promise<Outputs> {
  const s = await session(proto);
  const input = s.inputMetadata[0];
  const model: ModelSession = {
    file: typeof proto === 'string' ? proto : 'model', session: s,
    inputName: input.name, inputShape: input.isTensor ? [...input.shape] : [], outputName: s.outputNames[0],
  };
  try {
    return await runModel(model, source, { batchSize: batch });
  } finally {
    await s.release();
  }
}

export interface Comparison { agreement: number; maxAbsError: number; maxAbsReference: number }

export function compareOutputs(ref: Outputs, got: Outputs): Comparison {
  let mag = 0;
  for (const v of ref.values) mag = Math.max(mag, Math.abs(v));
  return { agreement: agreement(ref, got), maxAbsError: maxAbsDiff(ref, got), maxAbsReference: mag };
}

export function accuracy(o: Outputs, labels: Int32Array): number {
  return topKAccuracy(o, labels, 1);
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
