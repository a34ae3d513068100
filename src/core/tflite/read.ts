// A reader of the few TFLite flatbuffer fields that deployment needs (operator codes, tensors, operator order),
// by field id from TFLite's schema (tensorflow/lite/schema/schema.fbs), through the npm `flatbuffers` ByteBuffer.
import { ByteBuffer } from 'flatbuffers';

export interface TfliteTensorInfo { name: string; shape: number[]; type: number; buffer: number }
export interface TfliteOperatorInfo { builtin: number; inputs: number[]; outputs: number[] }

export interface TfliteSummary {
  /** builtin operator codes in the file's order */
  builtins: number[];
  tensors: TfliteTensorInfo[];
  /** the first subgraph's operators, in execution order */
  operators: TfliteOperatorInfo[];
  inputs: number[];
  outputs: number[];
  /** byte length of each buffer's data (buffer 0 is the empty sentinel) */
  bufferBytes: number[];
}

/** A table field's position, or 0 when absent (vtable slot 4 + 2·id). */
const field = (bb: ByteBuffer, table: number, id: number) => bb.__offset(table, 4 + 2 * id);

function tables(bb: ByteBuffer, table: number, id: number): number[] {
  const o = field(bb, table, id);
  if (!o) return [];
  const start = bb.__vector(table + o);
  return Array.from({ length: bb.__vector_len(table + o) }, (_, i) => bb.__indirect(start + 4 * i));
}

function int32s(bb: ByteBuffer, table: number, id: number): number[] {
  const o = field(bb, table, id);
  if (!o) return [];
  const start = bb.__vector(table + o);
  return Array.from({ length: bb.__vector_len(table + o) }, (_, i) => bb.readInt32(start + 4 * i));
}

const int32 = (bb: ByteBuffer, table: number, id: number, fallback: number) => {
  const o = field(bb, table, id);
  return o ? bb.readInt32(table + o) : fallback;
};
const int8 = (bb: ByteBuffer, table: number, id: number, fallback: number) => {
  const o = field(bb, table, id);
  return o ? bb.readInt8(table + o) : fallback;
};

/** Reads `bytes` (a .tflite file); throws when it does not carry the `TFL3` identifier. */
export function readTflite(bytes: Uint8Array): TfliteSummary {
  const bb = new ByteBuffer(bytes);
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(4, 8)) !== 'TFL3') throw new Error('not a TFLite flatbuffer (no TFL3 identifier)');
  const model = bb.readInt32(0);
  // OperatorCode: deprecated_builtin_code (byte, 0), custom_code (1), version (2), builtin_code (int32, 3).
  const builtins = tables(bb, model, 1).map((c) => Math.max(int8(bb, c, 0, 0), int32(bb, c, 3, 0)));
  const bufferBytes = tables(bb, model, 4).map((b) => {
    const o = field(bb, b, 0);
    return o ? bb.__vector_len(b + o) : 0;
  });
  const subgraph = tables(bb, model, 2)[0];
  if (subgraph === undefined) throw new Error('the TFLite model has no subgraph');
  // Tensor: shape (0), type (1), buffer (2), name (3). Operator: opcode_index (0), inputs (1), outputs (2).
  const tensors = tables(bb, subgraph, 0).map((t) => {
    const n = field(bb, t, 3);
    return { shape: int32s(bb, t, 0), type: int8(bb, t, 1, 0), buffer: int32(bb, t, 2, 0), name: n ? bb.__string(t + n) as string : '' };
  });
  const operators = tables(bb, subgraph, 3).map((op) => ({ builtin: builtins[int32(bb, op, 0, 0)], inputs: int32s(bb, op, 1), outputs: int32s(bb, op, 2) }));
  return { builtins, tensors, operators, inputs: int32s(bb, subgraph, 1), outputs: int32s(bb, subgraph, 2), bufferBytes };
}
