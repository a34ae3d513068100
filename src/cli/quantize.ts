// `onnx-lens quantize MODEL -o OUT --mode weight|dynamic|static [--target …]`: weight-only int8/int4, dynamic
// int8 (MatMulInteger; Conv weight-only), or static int8 QDQ calibrated on --calib data, for a target CPU.
import { Option, type Command } from 'commander';
import { measureSaturation, type MeasuredSaturation } from '../core/analysis/saturationMeasured';
import { UsageError } from '../core/errors';
import { modelInput } from '../core/eval/modelInput';
import { indexGraph } from '../core/onnx/graph';
import type { NodeProto } from '../core/onnx/proto';
import { readModel } from '../core/onnx/read';
import { encodeModel } from '../core/onnx/write';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quantize/calibrate/calibrate';
import { quantizeDynamic } from '../core/quantize/dynamic';
import { quantizeStatic } from '../core/quantize/qdq';
import { STATIC_RULES } from '../core/quantize/rules';
import { DEFAULT_TARGET, QUANT_TARGETS, reducedRange, TARGET_CPUS, type QuantTarget } from '../core/quantize/target';
import { quantizeWeightOnly, weightCandidates } from '../core/quantize/weightOnly';
import { selectLayers } from '../core/select';
import { addDataOptions, datasetFromOptions, type DataFlags } from './dataOptions';
import { addLayerOptions, layerSelection, type LayerFlags } from './layerOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';

type QuantizeMode = 'weight' | 'dynamic' | 'static';

interface QuantizeFlags extends DataFlags, LayerFlags {
  output: string;
  mode: QuantizeMode;
  bits?: string;
  perChannel?: boolean;
  blockSize?: string;
  calib?: string;
  calibSamples?: string;
  method?: CalibrationMethod;
  activationType?: 'uint8' | 'int8';
  target?: string;
  reduceRange?: boolean;
  biasCorrection?: boolean;
  json?: boolean;
}

interface QuantizeSummary {
  input: string;
  output: string;
  mode: QuantizeMode;
  bits: number;
  perChannel: boolean;
  /** static and dynamic: the CPUs the integer kernels are for */
  target?: QuantTarget;
  method?: CalibrationMethod;
  bytesBefore: number;
  bytesAfter: number;
  /** quantized layers with how each is stored */
  layers: { name: string; op: string; format: string }[];
  /** what could not be quantized as asked (also printed to stderr as it happens) */
  warnings?: string[];
  /**
   * static: the layers whose int8 weights can saturate 16-bit pair sums on x86 without VNNI, measured on
   * calibration samples (saturationSamples of them): verdict measured where some pair sum did
   */
  saturation?: MeasuredSaturation[];
  saturationSamples?: number;
}

/** Flags that only mean something in one mode: given in another, they would be silently ignored. */
const MODE_ONLY: [keyof QuantizeFlags, string, QuantizeMode][] = [
  ['calib', '--calib', 'static'], ['calibSamples', '--calib-samples', 'static'], ['method', '--method', 'static'],
  ['activationType', '--activation-type', 'static'],
  ['biasCorrection', '--bias-correction', 'static'], ['blockSize', '--block-size', 'weight'],
];

/**
 * The target of integer kernels: static and dynamic only (weight-only dequantizes to float kernels, where the
 * weight range cannot saturate anything). --reduce-range is the portable target under its ORT name.
 */
function integerTarget(file: string, flags: QuantizeFlags): QuantTarget | undefined {
  const given = flags.target ?? (flags.reduceRange ? DEFAULT_TARGET : undefined);
  if (flags.mode === 'weight') {
    if (given !== undefined) throw new UsageError(file, `${flags.target !== undefined ? '--target' : '--reduce-range'} only applies to --mode static and dynamic (weight-only runs float kernels)`);
    return undefined;
  }
  if (given === undefined) return DEFAULT_TARGET;
  if (!(QUANT_TARGETS as readonly string[]).includes(given)) throw new UsageError(file, `--target must be one of ${QUANT_TARGETS.join(', ')}, got '${given}'`);
  const target = given as QuantTarget;
  if (flags.reduceRange && !reducedRange(target)) throw new UsageError(file, `--reduce-range (7-bit weights) contradicts --target ${target} (full int8); give one of them`);
  return target;
}

async function quantizeFile(file: string, flags: QuantizeFlags): Promise<QuantizeSummary> {
  checkOutputPath(file, flags.output);
  for (const [key, flag, mode] of MODE_ONLY) {
    if (flags[key] !== undefined && flags.mode !== mode) throw new UsageError(file, `${flag} only applies to --mode ${mode}`);
  }
  const target = integerTarget(file, flags);
  const bits = positiveInt(flags.bits, '--bits', 8);
  if (bits !== 8 && bits !== 4) throw new UsageError(file, `--bits must be 8 or 4, got ${bits}`);
  if (bits === 4 && flags.mode !== 'weight') throw new UsageError(file, '--bits 4 is only available with --mode weight');
  if (flags.mode === 'static' && !flags.calib) throw new UsageError(file, '--mode static needs --calib DATA (calibration images or .npy)');
  const perChannel = flags.perChannel ?? true;
  const model = await readModel(file);
  const dataLocation = outputDataLocation(model, file, flags.output);
  const selection = layerSelection(flags);
  const graph = model.proto.graph!;

  let proto;
  let layers: QuantizeSummary['layers'];
  let saturation: Pick<QuantizeSummary, 'saturation' | 'saturationSamples'> = {};
  const warnings: string[] = [];
  const onWarning = (message: string) => {
    warnings.push(message);
    process.stderr.write(`onnx-lens: warning: ${message}\n`);
  };
  if (flags.mode === 'static') {
    const calib = await datasetFromOptions(flags.calib!, flags, modelInput(model.proto)?.shape, positiveInt(flags.calibSamples, '--calib-samples', 256));
    proto = await quantizeStatic(model.proto, calib, {
      perChannel, activationType: flags.activationType ?? 'uint8', target,
      method: flags.method ?? 'minmax', selection, biasCorrection: flags.biasCorrection, onWarning,
    }, model);
    const index = indexGraph(proto.graph!);
    // Layers onnxruntime runs as integer kernels: quantized ops (not the float ones left between a DQ and a Q).
    const integerOp = (n: NodeProto) => ['weighted', 'elementwise', 'pool'].includes(STATIC_RULES[n.opType]?.role ?? '');
    layers = proto.graph!.node
      .filter((n) => integerOp(n) && n.input.some((i) => index.producer.get(i)?.opType === 'DequantizeLinear'))
      .filter((n) => n.output.some((o) => index.consumers.get(o)?.some((c) => c.opType === 'QuantizeLinear')) || ['Gemm', 'MatMul'].includes(n.opType))
      .map((n) => ({ name: n.name || n.output[0], op: n.opType, format: 'QDQ int8' }));
    // Does the written model saturate AVX2's 16-bit pair sums on (some of) the calibration data?
    const measured = await measureSaturation({ ...model, proto }, calib, { file });
    saturation = { saturation: measured.layers, saturationSamples: measured.samples };
  } else {
    const chosen = selectLayers(weightCandidates(model.proto), selection, graph.node, file);
    if (chosen.length === 0) throw new UsageError(file, 'no Conv, Gemm or MatMul layer with a constant float weight is selected');
    const r = flags.mode === 'weight'
      ? quantizeWeightOnly(model.proto, chosen, { bits: bits as 8 | 4, perChannel, blockSize: positiveInt(flags.blockSize, '--block-size') }, model)
      : quantizeDynamic(model.proto, chosen, { perChannel, target }, model);
    proto = r.proto;
    layers = r.layers.map((l) => ({ name: l.name || l.weight, op: l.op, format: `${l.format} int${l.bits}` }));
  }
  writeOutput(proto, flags.output, model, dataLocation);
  return {
    input: file, output: flags.output, mode: flags.mode, bits, perChannel, target,
    ...(flags.mode === 'static' ? { method: flags.method ?? 'minmax' } : {}),
    bytesBefore: model.fileBytes, bytesAfter: encodeModel(proto).length, layers,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...saturation,
  };
}

/**
 * One line when layers saturated 16-bit pair sums on the calibration data: what that means for the target's
 * CPUs (nothing on VNNI x86 and ARM, whose kernels sum in 32 bits) and for x86 CPUs without VNNI.
 */
function saturationLine(s: QuantizeSummary): string | undefined {
  const did = s.saturation?.filter((l) => l.verdict === 'measured') ?? [];
  if (did.length === 0) return undefined;
  const names = did.slice(0, 5).map((l) => l.layer).join(', ') + (did.length > 5 ? ` and ${did.length - 5} more` : '');
  const harmless = s.target === 'x86-vnni' ? 'harmless on the target, x86 with VNNI, ' : s.target === 'arm64' ? 'harmless on the target, ARM64, ' : '';
  return `on ${s.saturationSamples} calibration samples ${did.length} layers saturate 16-bit pair sums (${names}): ${harmless}`
    + 'but on x86 CPUs without VNNI (AVX2) onnxruntime clamps those sums and accuracy drops; --target portable avoids it';
}

function printSummary(s: QuantizeSummary): void {
  const scheme = s.mode === 'static' ? `static int8 QDQ (${s.method} calibration)` : s.mode === 'dynamic' ? 'dynamic int8' : `weight-only int${s.bits}`;
  const target = s.target ? `, target ${s.target} (${reducedRange(s.target) ? '7-bit' : 'full int8'} weights)` : '';
  const lines = [`${scheme}, ${s.perChannel ? 'per-channel' : 'per-tensor'} weights${target}: ${s.layers.length} layers quantized`];
  for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${l.op.padEnd(18)} ${l.format}`);
  lines.push(`size ${s.bytesBefore.toLocaleString('en-US')} → ${s.bytesAfter.toLocaleString('en-US')} bytes (${((100 * s.bytesAfter) / s.bytesBefore).toFixed(1)} %)`);
  const saturated = saturationLine(s);
  if (saturated) lines.push(saturated);
  lines.push(`wrote ${s.output}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function register(program: Command): void {
  const cmd = program.command('quantize')
    .description('quantize weights (weight-only, dynamic) or weights and activations (static QDQ, calibrated)')
    .argument('<model>', 'ONNX model to quantize')
    .requiredOption('-o, --output <file>', 'where to write the quantized model (never the input)')
    .addOption(new Option('--mode <mode>', 'weight: int8/int4 weights only; dynamic: int8 MatMul/Gemm with run-time activation scales; static: int8 QDQ from --calib').choices(['weight', 'dynamic', 'static']).makeOptionMandatory())
    .addOption(new Option('--bits <n>', 'weight bits (4 only with --mode weight)').choices(['8', '4']))
    .option('--per-channel', 'one weight scale per output channel (default)')
    .option('--no-per-channel', 'one weight scale per tensor')
    .option('--block-size <n>', 'int4: block-wise scales, n elements along K / input channels (MatMul: MatMulNBits, default 32; Conv/Gemm: per-channel unless given)')
    .option('--calib <data>', 'calibration data (image folder or .npy) for --mode static')
    .option('--calib-samples <n>', 'calibration samples to use (default 256)')
    .addOption(new Option('--method <method>', 'activation range calibration (default minmax)').choices([...CALIBRATION_METHODS]))
    .addOption(new Option('--activation-type <type>', 'static: activation integer type (default uint8, which onnxruntime fuses fully)').choices(['uint8', 'int8']))
    .option('--target <cpu>', `static/dynamic: the CPUs the int8 model runs on (recorded in its metadata) — ${QUANT_TARGETS.map((t) => `${t}: ${TARGET_CPUS[t]}`).join('; ')} (default ${DEFAULT_TARGET})`)
    .option('--reduce-range', `static/dynamic: 7-bit weights, the same as --target ${DEFAULT_TARGET}`)
    .option('--bias-correction', 'static: shift biases so channel means match the float model on the calibration data')
    .option('--json', 'print a JSON summary');
  addLayerOptions(cmd, 'keep these layers in float');
  addDataOptions(cmd).action(async (file: string, flags: QuantizeFlags) => {
    const summary = await quantizeFile(file, flags);
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else printSummary(summary);
  });
}
