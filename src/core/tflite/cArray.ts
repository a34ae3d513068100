// A .tflite model as a C/C++ header for TensorFlow Lite Micro firmware, in the form TFLM's examples use
// (`alignas(16) const unsigned char model[] = {…}; const unsigned int model_len`, like `xxd -i` but aligned so the
// flatbuffer can be read in place), with the MicroMutableOpResolver calls and a tensor-arena estimate as comments.
import { estimateArena } from './arena';
import { readTflite } from './read';

/**
 * TFLite builtin operator code → [schema name, MicroMutableOpResolver method] for the builtins TFLite Micro
 * registers (tensorflow/lite/schema/schema.fbs; tensorflow/lite/micro/micro_mutable_op_resolver.h).
 */
const RESOLVER: Record<number, [string, string]> = {
  0: ['ADD', 'AddAdd'], 1: ['AVERAGE_POOL_2D', 'AddAveragePool2D'], 2: ['CONCATENATION', 'AddConcatenation'],
  3: ['CONV_2D', 'AddConv2D'], 4: ['DEPTHWISE_CONV_2D', 'AddDepthwiseConv2D'], 6: ['DEQUANTIZE', 'AddDequantize'],
  9: ['FULLY_CONNECTED', 'AddFullyConnected'], 14: ['LOGISTIC', 'AddLogistic'], 17: ['MAX_POOL_2D', 'AddMaxPool2D'],
  18: ['MUL', 'AddMul'], 19: ['RELU', 'AddRelu'], 21: ['RELU6', 'AddRelu6'], 22: ['RESHAPE', 'AddReshape'],
  25: ['SOFTMAX', 'AddSoftmax'], 28: ['TANH', 'AddTanh'], 34: ['PAD', 'AddPad'], 39: ['TRANSPOSE', 'AddTranspose'],
  40: ['MEAN', 'AddMean'], 41: ['SUB', 'AddSub'], 43: ['SQUEEZE', 'AddSqueeze'], 45: ['STRIDED_SLICE', 'AddStridedSlice'],
  49: ['SPLIT', 'AddSplit'], 54: ['PRELU', 'AddPrelu'], 55: ['MAXIMUM', 'AddMaximum'], 57: ['MINIMUM', 'AddMinimum'],
  60: ['PADV2', 'AddPadV2'], 98: ['LEAKY_RELU', 'AddLeakyRelu'], 114: ['QUANTIZE', 'AddQuantize'],
  117: ['HARD_SWISH', 'AddHardSwish'], 126: ['BATCH_MATMUL', 'AddBatchMatMul'],
};

const C_KEYWORDS = new Set(('auto break case char const continue default do double else enum extern float for goto if inline int long '
  + 'register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while alignas alignof bool '
  + 'class delete false friend mutable namespace new operator private protected public template this throw true try typename using '
  + 'virtual').split(' '));

/** A C identifier from a file name: `person-detect.int8.h` → `person_detect_int8`. */
export function cIdentifier(file: string): string {
  const base = file.replace(/\\/g, '/').split('/').pop()!.replace(/\.(h|hpp|hh|cc|c|cpp)$/i, '');
  const name = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+/, '');
  return !name || /^\d/.test(name) || C_KEYWORDS.has(name) ? `model_${name}` : name;
}

export interface CArrayInfo {
  name: string;
  /** MicroMutableOpResolver methods, one per builtin the model uses */
  resolverCalls: string[];
  arena: ReturnType<typeof estimateArena>;
}

/** The header text for `bytes` (a .tflite file) as array `name`, and what its comments say. */
export function cArrayHeader(bytes: Uint8Array, name: string, source = 'model'): { text: string; info: CArrayInfo } {
  const model = readTflite(bytes);
  const codes = [...new Set(model.builtins)];
  const resolverCalls = codes.map((c) => (RESOLVER[c] ? `${RESOLVER[c][1]}()` : `/* builtin ${c}: no MicroMutableOpResolver method known */`));
  const arena = estimateArena(model);
  const guard = `${name.toUpperCase()}_H_`;
  const kb = (n: number) => `${n.toLocaleString('en-US')} bytes`;
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 12) {
    rows.push(`  ${Array.from(bytes.subarray(i, i + 12), (b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')},`);
  }
  const edges = (ids: number[]) => ids.map((t) => `${model.tensors[t].name} [${model.tensors[t].shape.join(',')}]`).join(', ');
  const text = [
    `// ${name}: ${source} as a TensorFlow Lite flatbuffer (${kb(bytes.length)}), written by onnx-lens export --c-array.`,
    `// Inputs: ${edges(model.inputs)}. Outputs: ${edges(model.outputs)}.`,
    '//',
    `// Ops to register in TensorFlow Lite Micro (${codes.length}):`,
    `//   tflite::MicroMutableOpResolver<${codes.length}> resolver;`,
    ...resolverCalls.map((c) => `//   resolver.${c};`),
    '//',
    `// Tensor arena: about ${kb(arena.total)} (an estimate, not a measurement): activations ${kb(arena.activations)} as TFLM's`,
    `// greedy memory planner lays them out (largest tensor ${kb(arena.largestTensor)}), plus about ${kb(arena.persistent)} of`,
    '// interpreter structures and per-channel requantization data (approximate; it varies with the TFLM version).',
    '// Kernel scratch buffers (e.g. CMSIS-NN) come on top: start with a margin and read',
    '// MicroInterpreter::arena_used_bytes() on the device.',
    `#ifndef ${guard}`,
    `#define ${guard}`,
    '#if !defined(__cplusplus)',
    '#include <stdalign.h>',
    '#endif',
    '',
    `alignas(16) const unsigned char ${name}[] = {`,
    ...rows,
    '};',
    `const unsigned int ${name}_len = ${bytes.length};`,
    '',
    `#endif  // ${guard}`,
    '',
  ].join('\n');
  return { text, info: { name, resolverCalls, arena } };
}
