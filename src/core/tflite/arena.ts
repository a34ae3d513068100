// A tensor-arena estimate for TensorFlow Lite Micro, after its GreedyMemoryPlanner
// (tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc): every activation tensor lives from the op that
// writes it (model inputs: from the start) to the last op that reads it (model outputs: to the end); tensors are
// placed largest first at the lowest 16-byte-aligned offset that overlaps no placed tensor alive at the same time.
// The planned peak is exact for that planner; the persistent part (per-tensor and per-op structures, per-channel
// requantization data) is a stated approximation, as its size depends on the TFLM version and the kernels.
import { BuiltinOperator, TensorType } from './schema';
import type { TfliteSummary } from './read';

/** TFLM's kBufferAlignment. */
const ALIGNMENT = 16;
/** Approximate persistent bytes: TfLiteEvalTensor (12 B on 32-bit) plus bookkeeping, per tensor. */
export const BYTES_PER_TENSOR = 16;
/** Approximate persistent bytes per operator: TfLiteNode, its registration and a kernel's OpData. */
export const BYTES_PER_OPERATOR = 64;
/** Per output channel of CONV_2D / DEPTHWISE_CONV_2D: int32 output multiplier and shift. */
export const BYTES_PER_CHANNEL = 8;

const ELEMENT_BYTES: Record<number, number> = { [TensorType.FLOAT32]: 4, [TensorType.INT32]: 4, [TensorType.UINT8]: 1, [TensorType.INT64]: 8, [TensorType.INT8]: 1 };

export interface ArenaEstimate {
  /** bytes of the activation plan (the peak of the greedy placement) */
  activations: number;
  /** approximate persistent bytes (see the constants above) */
  persistent: number;
  total: number;
  /** the largest single activation tensor, bytes */
  largestTensor: number;
}

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

export function estimateArena(m: TfliteSummary): ArenaEstimate {
  const last = m.operators.length - 1;
  const lifetimes = new Map<number, { first: number; last: number }>();
  const touch = (t: number, at: number) => {
    if (t < 0 || m.tensors[t].buffer > 0 && (m.bufferBytes[m.tensors[t].buffer] ?? 0) > 0) return; // constants live in flash
    const l = lifetimes.get(t);
    if (l) { l.first = Math.min(l.first, at); l.last = Math.max(l.last, at); } else lifetimes.set(t, { first: at, last: at });
  };
  for (const t of m.inputs) touch(t, 0);
  m.operators.forEach((op, i) => { op.inputs.forEach((t) => touch(t, i)); op.outputs.forEach((t) => touch(t, i)); });
  for (const t of m.outputs) touch(t, Math.max(last, 0));

  const items = [...lifetimes].map(([t, l]) => {
    const tensor = m.tensors[t];
    const bytes = tensor.shape.reduce((a, b) => a * b, 1) * (ELEMENT_BYTES[tensor.type] ?? 4);
    return { ...l, bytes: align(bytes), raw: bytes };
  }).sort((a, b) => b.bytes - a.bytes);
  const placed: { first: number; last: number; offset: number; bytes: number }[] = [];
  let peak = 0;
  for (const it of items) {
    const live = placed.filter((p) => p.first <= it.last && it.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of live) {
      if (offset + it.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    placed.push({ ...it, offset });
    peak = Math.max(peak, offset + it.bytes);
  }

  const channels = m.operators
    .filter((op) => op.builtin === BuiltinOperator.CONV_2D || op.builtin === BuiltinOperator.DEPTHWISE_CONV_2D)
    .reduce((sum, op) => sum + (m.tensors[op.outputs[0]].shape.at(-1) ?? 0), 0);
  const persistent = BYTES_PER_TENSOR * m.tensors.length + BYTES_PER_OPERATOR * m.operators.length + BYTES_PER_CHANNEL * channels;
  return { activations: peak, persistent, total: peak + persistent, largestTensor: Math.max(0, ...items.map((i) => i.raw)) };
}
