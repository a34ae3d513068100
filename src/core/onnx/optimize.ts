// Graph pre-processing with onnxruntime's own optimizer, as ONNX Runtime's quant_pre_process does:
// a session at level 'basic' (constant folding, Conv+BatchNormalization/Add/Mul fusion, Identity and
// Dropout removal) dumps the optimized model through `optimizedModelFilePath`, and we read it back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { OnnxFormatError } from '../errors';
import { onnxruntime } from '../eval/onnxruntime';
import type { ModelProto } from './proto';
import { decodeModel } from './read';
import { encodeModel } from './write';

export type OptimizationLevel = 'basic' | 'extended' | 'all';

/** Runs onnxruntime's graph optimizer on `proto` and returns the model it writes out. */
export async function optimizeModel(proto: ModelProto, level: OptimizationLevel = 'basic', file?: string): Promise<ModelProto> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-opt-'));
  try {
    const target = path.join(dir, 'optimized.onnx');
    let session: ort.InferenceSession;
    try {
      session = await onnxruntime().InferenceSession.create(encodeModel(proto), { graphOptimizationLevel: level, optimizedModelFilePath: target, logSeverityLevel: 3 });
    } catch (e) {
      throw new OnnxFormatError(file, `onnxruntime cannot load the model: ${(e as Error).message.split('\n')[0]}`);
    }
    await session.release();
    return decodeModel(fs.readFileSync(target), { file, dir }).proto;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Op-type counts of the model onnxruntime would execute at `level` (how QDQ units were fused). */
export async function optimizedOpCounts(proto: ModelProto, level: OptimizationLevel = 'all'): Promise<Map<string, number>> {
  const optimized = await optimizeModel(proto, level);
  const counts = new Map<string, number>();
  for (const n of optimized.graph?.node ?? []) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  return counts;
}
