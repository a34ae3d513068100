// `onnx-lens export MODEL -o OUT.tflite [--calib DATA] [--shape NAME=DIMS] [--c-array OUT.h] [--io float|int8] [--json]`:
// a full-integer TensorFlow Lite flatbuffer from a static int8 QDQ model, or from a float model quantized first by the
// static quantizer on --calib data (full-range int8 weights: microcontrollers accumulate in 32 bits). Symbolic input
// dims are fixed by --shape and shape subgraphs folded first. Written atomically; nothing is written on an error.
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { OnnxLensError, UnsupportedOperator, UsageError } from '../core/errors';
import { fixShapes } from '../core/onnx/fixShapes';
import { nodeLabel } from '../core/onnx/graph';
import { readModel, type Model } from '../core/onnx/read';
import { writeFilesAtomic } from '../core/onnx/write';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quantize/calibrate/calibrate';
import { calibSamples as samplesOf, openCalibration, type StepContext } from '../core/recipe/context';
import { quantizeStep } from '../core/recipe/quantizeStep';
import type { QuantizeStep } from '../core/recipe/types';
import { cliOptionName } from '../core/recipe/stepChecks';
import { cArrayHeader, cIdentifier } from '../core/tflite/cArray';
import { exportTflite, type EdgeTensor } from '../core/tflite/export';
import { floatGaps, quantizeFloatGaps } from '../core/tflite/fullInteger';
import { unexportableNodes } from '../core/tflite/support';
import { addDataOptions, preprocessFromFlags, type DataFlags } from './dataOptions';
import { parseShapes } from './inspect';
import { checkOutputPath, positiveInt } from './modelOutput';

interface ExportFlags extends DataFlags {
  output?: string; io: 'int8' | 'float'; json?: boolean; shape: string[]; calib?: string; calibSamples?: string;
  method?: CalibrationMethod; cArray?: string;
}

/** The target the float model is quantized for: full-range int8 weights, as TFLite's int8 kernels expect. */
const EXPORT_TARGET = 'arm64';

const edge = (kind: string, t: EdgeTensor) => `${kind.padEnd(7)}${t.name} [${t.shape.join(',')}] ${t.type === 'int8' ? 'int8' : 'float32 (int8 inside)'}, scale ${t.scale}, zero point ${t.zeroPoint}`;

const isQdq = (model: Model) => model.proto.graph!.node.some((n) => n.opType === 'QuantizeLinear');

/** Writes the outputs together (nothing is replaced unless all are written); a failure names the file. */
function writeOutputs(files: { file: string; data: Uint8Array }[]): void {
  try {
    writeFilesAtomic(files);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    const failed = files.find((f) => (e as NodeJS.ErrnoException).path?.includes(path.basename(f.file))) ?? files[0];
    throw new UsageError(failed.file, `cannot write the output (${code})`);
  }
}

/**
 * Ops with no TFLite conversion at all are refused before any calibration (minutes on a large model), in the words
 * the exporter uses for the first one, with the other op types that would stop it too.
 */
function refuseUnexportable(file: string, model: Model): void {
  const graph = model.proto.graph!;
  const blocked = unexportableNodes(graph);
  if (blocked.length === 0) return;
  const [first, ...rest] = blocked;
  const counts = new Map<string, number>();
  for (const b of rest) counts.set(b.op, (counts.get(b.op) ?? 0) + 1);
  const more = rest.length ? ` (and ${rest.length} more: ${[...counts].map(([op, n]) => (n > 1 ? `${op} ×${n}` : op)).join(', ')})` : '';
  throw new UnsupportedOperator(file, `${nodeLabel(graph.node[first.index])}: ${first.op} cannot be exported to TFLite yet${more}`);
}

async function exportFile(file: string, flags: ExportFlags) {
  checkOutputPath(file, flags.output);
  const out = flags.output;
  if (flags.cArray !== undefined) {
    checkOutputPath(file, flags.cArray);
    if (path.resolve(flags.cArray) === path.resolve(out)) throw new UsageError(file, '--c-array and -o name the same file');
  }
  const shapes = parseShapes(flags.shape);
  const calibSamples = positiveInt(flags.calibSamples, '--calib-samples');
  const model = await readModel(file);
  refuseUnexportable(file, model);
  const quantized = isQdq(model);
  if (!quantized && flags.calib === undefined) {
    throw new UsageError(file, 'a float model needs --calib DATA (images or .npy) to be quantized to int8 before export, or give a static int8 QDQ model (onnx-lens quantize --mode static)');
  }

  const fixed = fixShapes(model.proto, shapes, { file, source: model });
  let proto = fixed.proto;
  let quantizedHere: { layers: number; target: string } | undefined;
  let gaps: string[] = [];
  if (flags.calib !== undefined) {
    const ctx: StepContext = {
      file, optionName: cliOptionName,
      calibration: { data: flags.calib, labels: flags.labels, preprocess: preprocessFromFlags(flags) },
      onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
    };
    const step: QuantizeStep = { kind: 'quantize', mode: 'static', target: EXPORT_TARGET, calibSamples, method: flags.method };
    if (!quantized) {
      const r = await quantizeStep({ ...model, proto }, step, ctx);
      proto = r.model.proto;
      quantizedHere = { layers: r.summary.layers.length, target: EXPORT_TARGET };
    }
    // Tensors onnxruntime keeps float between its integer kernels (Mul, HardSwish, Softmax, …) need int8 for TFLite.
    if (floatGaps(proto, model).length > 0) {
      const data = await openCalibration(ctx, { ...model, proto }, samplesOf(step, ctx));
      ({ proto, gaps } = await quantizeFloatGaps(proto, data, { method: flags.method, file, source: model }));
    }
  }

  let result;
  try {
    result = exportTflite(proto, { io: flags.io, source: model });
  } catch (e) {
    if (!(e instanceof OnnxLensError) || e.file) throw e;
    // A float tensor between int8 ops of a QDQ model given without --calib: say what would quantize it.
    const gap = flags.calib === undefined ? floatGaps(proto, model).find((t) => e.reason.includes(`'${t}'`)) : undefined;
    throw new UnsupportedOperator(file, gap ? `${e.reason}; with --calib DATA export quantizes such float tensors for TFLite` : e.reason);
  }
  const header = flags.cArray !== undefined ? cArrayHeader(result.bytes, cIdentifier(flags.cArray), path.basename(out)) : undefined;
  writeOutputs([{ file: out, data: result.bytes }, ...(header ? [{ file: flags.cArray!, data: new TextEncoder().encode(header.text) }] : [])]);
  return { result, header, fixed, quantizedHere, gaps, onnxBytes: fs.statSync(file).size };
}

export function register(program: Command): void {
  const cmd = program.command('export')
    .description('write an int8 model as a full-integer TensorFlow Lite model (.tflite), optionally as a C array for TFLite Micro')
    .argument('<model>', 'int8 QDQ ONNX model (onnx-lens quantize --mode static), or a float model with --calib')
    .option('-o, --output <file>', 'where to write the .tflite')
    .addOption(new Option('--io <type>', 'input/output type: float adds QUANTIZE/DEQUANTIZE at the edges (float32 NHWC in, float32 out); int8 keeps int8 tensors (their scale and zero point are printed)')
      .choices(['int8', 'float']).default('float'))
    .option('--shape <name=dims>', 'concrete shape of a graph input with symbolic dims (repeatable), e.g. x=1,3,48,192',
      (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--calib <data>', 'calibration data (image folder or .npy): a float model is quantized to static int8 first (full-range int8 weights); float tensors left between int8 ops are calibrated on it')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .addOption(new Option('--method <method>', 'activation range calibration (default minmax)').choices([...CALIBRATION_METHODS]))
    .option('--c-array <file.h>', 'also write the .tflite as a C/C++ header for TensorFlow Lite Micro (aligned array, op resolver list, arena estimate)')
    .option('--json', 'print a JSON summary');
  addDataOptions(cmd).action(async (file: string, flags: ExportFlags) => {
    const { result, header, fixed, quantizedHere, gaps, onnxBytes } = await exportFile(file, flags);
    const out = flags.output!;
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({
        model: file, output: out, io: flags.io, onnxBytes, tfliteBytes: result.bytes.length, inputs: result.inputs, outputs: result.outputs, ops: result.ops,
        foldedNodes: fixed.folded, removedNodes: fixed.removed, quantized: quantizedHere, requantizedFloatTensors: gaps,
        cArray: header && { file: flags.cArray, name: header.info.name, resolver: header.info.resolverCalls, arena: header.info.arena },
      })}\n`);
      return;
    }
    const kb = (n: number) => n.toLocaleString('en-US');
    process.stdout.write([
      ...(quantizedHere ? [`quantized to static int8 QDQ on ${flags.calib} (target ${quantizedHere.target}: full-range int8 weights), ${quantizedHere.layers} layers`] : []),
      ...(gaps.length ? [`${gaps.length} tensors onnxruntime keeps float (between its integer kernels) quantized to int8 on the calibration data`] : []),
      ...(fixed.folded ? [`shapes fixed: ${fixed.folded} shape nodes folded to constants, ${fixed.removed} unused nodes removed`] : []),
      `TFLite full-integer int8 (${flags.io} input/output), ops ${result.ops.join(', ')}`,
      ...result.inputs.map((t) => edge('input', t)),
      ...result.outputs.map((t) => edge('output', t)),
      `size ${kb(onnxBytes)} → ${kb(result.bytes.length)} bytes`,
      `wrote ${out}`,
      ...(header ? [`wrote ${flags.cArray} (${header.info.name}[], ${header.info.resolverCalls.length} ops to register, tensor arena about ${kb(header.info.arena.total)} bytes, an estimate)`] : []),
    ].join('\n') + '\n');
  });
}
