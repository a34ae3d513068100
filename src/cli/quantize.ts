// `onnx-lens quantize MODEL -o OUT --mode weight|dynamic|static [--target …]`: weight-only int8/int4 (rounded to
// nearest or by GPTQ on --calib data), dynamic
// int8 (MatMulInteger; Conv weight-only), or static int8 QDQ calibrated on --calib data, for a target CPU. The
// flags become one recipe step (src/core/recipe/quantizeStep.ts does the work); this file parses, writes and prints.
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors';
import { readModel } from '../core/onnx/read';
import { CALIBRATION_METHODS, type CalibrationMethod } from '../core/quantize/calibrate/calibrate';
import { DEFAULT_TARGET, QUANT_TARGETS, reducedRange, TARGET_CPUS } from '../core/quantize/target';
import { checkStep, type StepContext } from '../core/recipe/context';
import { quantizeStep, type QuantizeSummary as StepSummary } from '../core/recipe/quantizeStep';
import { cliOptionName, quantizeNeedsCalibration } from '../core/recipe/stepChecks';
import type { GptqInputs, QuantizeMode, QuantizeStep, WeightRoundingMethod } from '../core/recipe/types';
import { addDataOptions, preprocessFromFlags, type DataFlags } from './dataOptions';
import { addLayerOptions, layerSelection, type LayerFlags } from './layerOptions';
import { checkOutputPath, outputDataLocation, positiveInt, writeOutput } from './modelOutput';

interface QuantizeFlags extends DataFlags, LayerFlags {
  output: string;
  mode: QuantizeMode;
  bits?: string;
  perChannel?: boolean;
  blockSize?: string;
  rounding?: WeightRoundingMethod;
  gptqInputs?: GptqInputs;
  calib?: string;
  calibSamples?: string;
  method?: CalibrationMethod;
  activationType?: 'uint8' | 'int8';
  target?: string;
  reduceRange?: boolean;
  biasCorrection?: boolean;
  json?: boolean;
}

type QuantizeSummary = { input: string; output: string } & StepSummary;

/** The flags as one quantize step (the same step a recipe's `- quantize: {…}` gives). */
function stepFromFlags(flags: QuantizeFlags): QuantizeStep {
  return {
    kind: 'quantize', mode: flags.mode, bits: flags.bits === undefined ? undefined : positiveInt(flags.bits, '--bits') as 8 | 4,
    perChannel: flags.perChannel, blockSize: positiveInt(flags.blockSize, '--block-size'), rounding: flags.rounding, gptqInputs: flags.gptqInputs, method: flags.method,
    activationType: flags.activationType, target: flags.target, reduceRange: flags.reduceRange, biasCorrection: flags.biasCorrection,
    calibSamples: positiveInt(flags.calibSamples, '--calib-samples'), ...layerSelection(flags),
  };
}

async function quantizeFile(file: string, flags: QuantizeFlags): Promise<QuantizeSummary> {
  checkOutputPath(file, flags.output);
  // The calibration data is the command's, not the step's: only static quantization and GPTQ rounding read it.
  const step = stepFromFlags(flags);
  if (flags.calib !== undefined && !quantizeNeedsCalibration(step)) throw new UsageError(file, '--calib only applies to --mode static and --rounding gptq');
  const ctx: StepContext = {
    file, optionName: cliOptionName,
    calibration: flags.calib ? { data: flags.calib, labels: flags.labels, preprocess: preprocessFromFlags(flags) } : undefined,
    onWarning: (message) => process.stderr.write(`onnx-lens: warning: ${message}\n`),
  };
  checkStep(step, ctx, file);
  const model = await readModel(file);
  const dataLocation = outputDataLocation(model, file, flags.output);
  const r = await quantizeStep(model, step, ctx);
  writeOutput(r.model.proto, flags.output, model, dataLocation);
  return { input: file, output: flags.output, ...r.summary };
}

/**
 * One line when layers saturated 16-bit pair sums on the calibration data: what that means for the target's
 * CPUs (nothing on VNNI x86 and ARM, whose kernels sum in 32 bits) and for x86 CPUs without VNNI.
 */
function saturationLine(s: StepSummary): string | undefined {
  const did = s.saturation?.filter((l) => l.verdict === 'measured') ?? [];
  if (did.length === 0) return undefined;
  const names = did.slice(0, 5).map((l) => l.layer).join(', ') + (did.length > 5 ? ` and ${did.length - 5} more` : '');
  const harmless = s.target === 'x86-vnni' ? 'harmless on the target, x86 with VNNI, ' : s.target === 'arm64' ? 'harmless on the target, ARM64, ' : '';
  return `on ${s.saturationSamples} calibration samples ${did.length} layers saturate 16-bit pair sums (${names}): ${harmless}`
    + 'but on x86 CPUs without VNNI (AVX2) onnxruntime clamps those sums and accuracy drops; --target portable avoids it';
}

/** What the step did, in lines (`apply` prints them per step too). */
export function summaryLines(s: StepSummary): string[] {
  const gptq = s.rounding === 'gptq';
  const how = s.gptqInputs === 'quantized' ? 'GPTQ rounding, sequential' : 'GPTQ rounding';
  const scheme = s.mode === 'static' ? `static ${s.bits === 4 ? 'W4A8' : 'int8'} QDQ (${s.method} calibration${gptq ? `, ${how}` : ''})` : s.mode === 'dynamic' ? 'dynamic int8' : `weight-only int${s.bits}${gptq ? ` (${how})` : ''}`;
  const target = s.target ? `, target ${s.target} (${reducedRange(s.target) ? '7-bit' : 'full int8'} weights)` : '';
  const lines = [`${scheme}, ${s.perChannel ? 'per-channel' : 'per-tensor'} weights${target}: ${s.layers.length} layers quantized`];
  for (const l of s.layers) lines.push(`  ${l.name.padEnd(40)} ${l.op.padEnd(18)} ${l.format}`);
  lines.push(`size ${s.bytesBefore.toLocaleString('en-US')} → ${s.bytesAfter.toLocaleString('en-US')} bytes (${((100 * s.bytesAfter) / s.bytesBefore).toFixed(1)} %)`);
  const saturated = saturationLine(s);
  if (saturated) lines.push(saturated);
  return lines;
}

const printSummary = (s: QuantizeSummary) => process.stdout.write(`${[...summaryLines(s), `wrote ${s.output}`].join('\n')}\n`);

export function register(program: Command): void {
  const cmd = program.command('quantize')
    .description('quantize weights (weight-only, dynamic) or weights and activations (static QDQ, calibrated)')
    .argument('<model>', 'ONNX model to quantize')
    .requiredOption('-o, --output <file>', 'where to write the quantized model (never the input)')
    .addOption(new Option('--mode <mode>', 'weight: int8/int4 weights only; dynamic: int8 MatMul/Gemm with run-time activation scales; static: int8 QDQ from --calib').choices(['weight', 'dynamic', 'static']).makeOptionMandatory())
    .addOption(new Option('--bits <n>', 'weight bits (4 with --mode weight, or static for W4A8: int4 weights, int8 activations, run in float by onnxruntime)').choices(['8', '4']))
    .option('--per-channel', 'one weight scale per output channel (default)')
    .option('--no-per-channel', 'one weight scale per tensor')
    .option('--block-size <n>', 'int4: block-wise scales, n elements along K / input channels (MatMul: MatMulNBits, default 32; Conv/Gemm: per-channel unless given)')
    .addOption(new Option('--rounding <how>', 'weight and static: round weights to nearest (default) or gptq (GPTQ: each rounding error compensated through the layer\'s calibration Hessian; needs --calib)').choices(['nearest', 'gptq']))
    .addOption(new Option('--gptq-inputs <from>', 'with --rounding gptq: layer Hessians from the original model\'s inputs (default) or from the model with the earlier layers already quantized (GPTQ\'s sequential mode; one calibration pass per layer)').choices(['original', 'quantized']))
    .option('--calib <data>', 'calibration data (image folder or .npy) for --mode static and --rounding gptq')
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
