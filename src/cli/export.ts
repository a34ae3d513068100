// `onnx-lens export MODEL -o OUT.tflite [--io float|int8] [--json]`: a static int8 QDQ model (from `quantize --mode static`)
// as a full-integer TensorFlow Lite flatbuffer, written atomically; nothing is written when an op cannot be exported.
import fs from 'node:fs';
import { Option, type Command } from 'commander';
import { OnnxLensError, UnsupportedOperator, UsageError } from '../core/errors';
import { readModel } from '../core/onnx/read';
import { writeFileAtomic } from '../core/onnx/write';
import { exportTflite, type EdgeTensor } from '../core/tflite/export';
import { checkOutputPath } from './modelOutput';

interface ExportFlags { output?: string; io: 'int8' | 'float'; json?: boolean }

const edge = (kind: string, t: EdgeTensor) => `${kind.padEnd(7)}${t.name} [${t.shape.join(',')}] ${t.type === 'int8' ? 'int8' : 'float32 (int8 inside)'}, scale ${t.scale}, zero point ${t.zeroPoint}`;

export function register(program: Command): void {
  program.command('export')
    .description('write a static int8 QDQ model as a full-integer TensorFlow Lite model (.tflite)')
    .argument('<model>', 'int8 QDQ ONNX model (onnx-lens quantize --mode static)')
    .option('-o, --output <file>', 'where to write the .tflite')
    .addOption(new Option('--io <type>', 'input/output type: float adds QUANTIZE/DEQUANTIZE at the edges (float32 NHWC in, float32 out); int8 keeps int8 tensors (their scale and zero point are printed)')
      .choices(['int8', 'float']).default('float'))
    .option('--json', 'print a JSON summary')
    .action(async (file: string, flags: ExportFlags) => {
      checkOutputPath(file, flags.output);
      const model = await readModel(file);
      let result;
      try {
        result = exportTflite(model.proto, { io: flags.io, source: model });
      } catch (e) {
        if (e instanceof OnnxLensError && !e.file) throw new UnsupportedOperator(file, e.reason);
        throw e;
      }
      try {
        writeFileAtomic(flags.output, result.bytes);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (!code) throw e;
        throw new UsageError(flags.output, `cannot write the output (${code})`);
      }
      const onnxBytes = fs.statSync(file).size;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ model: file, output: flags.output, io: flags.io, onnxBytes, tfliteBytes: result.bytes.length, inputs: result.inputs, outputs: result.outputs, ops: result.ops })}\n`);
        return;
      }
      process.stdout.write([
        `TFLite full-integer int8 (${flags.io} input/output), ops ${result.ops.join(', ')}`,
        ...result.inputs.map((t) => edge('input', t)),
        ...result.outputs.map((t) => edge('output', t)),
        `size ${onnxBytes.toLocaleString('en-US')} → ${result.bytes.length.toLocaleString('en-US')} bytes`,
        `wrote ${flags.output}`,
      ].join('\n') + '\n');
    });
}
