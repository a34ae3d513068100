// What onnxruntime actually computes: every node output of a model exposed as a graph output and run once,
// so tests compare inferred shapes, MACs and activation sizes against real tensors, not against our own code.
import * as ort from 'onnxruntime-node';
import { clone, create, ModelProtoSchema, ValueInfoProtoSchema, type ModelProto } from '../../../src/core/onnx/proto';
import { encodeModel } from '../../../src/core/onnx/write';
import { seededRandom } from '../../../src/core/random';

export interface Observed { dims: number[]; type: string; bytes: number }

const bytesPerElement: Record<string, number> = {
  float32: 4, float16: 2, float64: 8, int64: 8, int32: 4, uint8: 1, int8: 1, bool: 1, uint16: 2, int16: 2,
};

/** Runs `proto` with `feeds` and returns the shape, type and byte size of every node output (Constant nodes excluded). */
export async function observeTensors(proto: ModelProto, feeds: Record<string, ort.Tensor>): Promise<Map<string, Observed>> {
  const m = clone(ModelProtoSchema, proto);
  const g = m.graph!;
  const outputs = new Set(g.output.map((o) => o.name));
  for (const n of g.node) {
    if (n.opType === 'Constant') continue;
    for (const o of n.output) if (o && !outputs.has(o)) { g.output.push(create(ValueInfoProtoSchema, { name: o })); outputs.add(o); }
  }
  const session = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'disabled' });
  try {
    const result = await session.run(feeds);
    const seen = new Map<string, Observed>();
    for (const [name, t] of Object.entries(result)) {
      const dims = t.dims.map(Number);
      seen.set(name, { dims, type: t.type, bytes: dims.reduce((a, b) => a * b, 1) * (bytesPerElement[t.type] ?? NaN) });
    }
    return seen;
  } finally {
    await session.release();
  }
}

/** Deterministic values in [-1, 1), the same on every run. */
export function noise(n: number, seed = 1): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
}

export function floatInput(dims: number[], seed = 1): ort.Tensor {
  return new ort.Tensor('float32', noise(dims.reduce((a, b) => a * b, 1), seed), dims);
}

/** The values onnxruntime computes for the named tensors (graph outputs or intermediates). */
export async function runTensors(proto: ModelProto, feeds: Record<string, ort.Tensor>, names: string[]): Promise<Record<string, ort.Tensor>> {
  const m = clone(ModelProtoSchema, proto);
  const g = m.graph!;
  for (const name of names) if (!g.output.some((o) => o.name === name)) g.output.push(create(ValueInfoProtoSchema, { name }));
  const session = await ort.InferenceSession.create(encodeModel(m));
  try {
    const result = await session.run(feeds, names);
    return Object.fromEntries(names.map((n) => [n, result[n]]));
  } finally {
    await session.release();
  }
}

/** Row `k` of the identity: a [1, n] float input that selects one row of a [n, m] weight. */
function oneHot(n: number, k: number): ort.Tensor {
  const v = new Float32Array(n);
  v[k] = 1;
  return new ort.Tensor('float32', v, [1, n]);
}

/**
 * The [k, n] weight of a MatMul-like model (input `x` [1, k], output `y` [1, n]) as onnxruntime reads it: `y` for
 * each row of the identity, row after row, from one session.
 */
export async function weightRowsByOrt(proto: ModelProto, k: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(encodeModel(proto));
  try {
    const rows: number[] = [];
    for (let j = 0; j < k; j++) rows.push(...((await session.run({ x: oneHot(k, j) }, ['y'])).y.data as Float32Array));
    return rows;
  } finally {
    await session.release();
  }
}
