// The quantize step: weight-only int8/int4, dynamic int8 (MatMulInteger; Conv weight-only), or static int8 QDQ
// calibrated on the calibration data, for a target CPU; static also measures which layers' int8 weights
// saturate 16-bit pair sums on x86 without VNNI (DESIGN.md "int8 and the CPU it runs on").
import { measureSaturation, type MeasuredSaturation } from '../analysis/saturationMeasured';
import { UsageError } from '../errors';
import { recordingRounding, replayRounding, roundLayersByGptq } from '../obs/gptqModel';
import { indexGraph } from '../onnx/graph';
import type { ModelProto, NodeProto } from '../onnx/proto';
import type { Model } from '../onnx/read';
import { encodeModel } from '../onnx/write';
import type { CalibrationMethod } from '../quantize/calibrate/calibrate';
import { quantizeDynamic } from '../quantize/dynamic';
import { quantizeStatic } from '../quantize/qdq';
import { STATIC_RULES } from '../quantize/rules';
import type { QuantTarget } from '../quantize/target';
import { quantizeWeightOnly, weightCandidates } from '../quantize/weightOnly';
import { selectLayers } from '../select';
import { calibSamples, checkStep, openCalibration, phase, type StepContext } from './context';
import { integerTarget } from './stepChecks';
import type { GptqInputs, QuantizeMode, QuantizeStep, WeightRoundingMethod } from './types';

export interface QuantizeSummary {
  mode: QuantizeMode;
  bits: number;
  /** weight and static: how the weights were rounded */
  rounding?: WeightRoundingMethod;
  /** gptq: where the layer Hessians' inputs came from */
  gptqInputs?: GptqInputs;
  perChannel: boolean;
  /** static and dynamic: the CPUs the integer kernels are for */
  target?: QuantTarget;
  method?: CalibrationMethod;
  bytesBefore: number;
  bytesAfter: number;
  /** quantized layers with how each is stored */
  layers: { name: string; op: string; format: string }[];
  /** what could not be quantized as asked (also reported through onWarning as it happens) */
  warnings?: string[];
  /**
   * static: the layers whose int8 weights can saturate 16-bit pair sums on x86 without VNNI, measured on
   * calibration samples (saturationSamples of them): verdict measured where some pair sum did
   */
  saturation?: MeasuredSaturation[];
  saturationSamples?: number;
}

export async function quantizeStep(model: Model, step: QuantizeStep, ctx: StepContext = {}): Promise<{ model: Model; summary: QuantizeSummary }> {
  const file = ctx.file ?? model.file;
  checkStep(step, ctx, file);
  const target = integerTarget(step);
  const bits = step.bits ?? 8;
  const perChannel = step.perChannel ?? true;
  const selection = { layers: step.layers, exclude: step.exclude };
  const graph = model.proto.graph!;

  let proto: ModelProto;
  let layers: QuantizeSummary['layers'];
  let saturation: Pick<QuantizeSummary, 'saturation' | 'saturationSamples'> = {};
  const warnings: string[] = [];
  const onWarning = (message: string) => {
    warnings.push(message);
    ctx.onWarning?.(message);
  };
  if (step.mode === 'static') {
    const calib = await openCalibration(ctx, model, calibSamples(step, ctx));
    phase(ctx, 0, 2, 'calibrating activation ranges and inserting QDQ');
    proto = await quantizeStatic(model.proto, calib, {
      perChannel, activationType: step.activationType ?? 'uint8', target,
      method: step.method ?? 'minmax', selection, biasCorrection: step.biasCorrection, weightRounding: step.rounding, gptqInputs: step.gptqInputs, weightBits: bits, onWarning,
    }, model);
    const index = indexGraph(proto.graph!);
    // Layers onnxruntime runs as integer kernels: quantized ops (not the float ones left between a DQ and a Q).
    const integerOp = (n: NodeProto) => ['weighted', 'elementwise', 'pool'].includes(STATIC_RULES[n.opType]?.role ?? '');
    layers = proto.graph!.node
      .filter((n) => integerOp(n) && n.input.some((i) => index.producer.get(i)?.opType === 'DequantizeLinear'))
      .filter((n) => n.output.some((o) => index.consumers.get(o)?.some((c) => c.opType === 'QuantizeLinear')) || ['Gemm', 'MatMul'].includes(n.opType))
      .map((n) => ({ name: n.name || n.output[0], op: n.opType, format: bits === 4 ? 'QDQ W4A8' : 'QDQ int8' }));
    // Does the quantized model saturate AVX2's 16-bit pair sums on (some of) the calibration data? (int4
    // weights run in float: nothing to saturate.)
    if (bits === 8) {
      phase(ctx, 1, 2, 'measuring 16-bit saturation');
      const measured = await measureSaturation({ ...model, proto }, calib, { file });
      saturation = { saturation: measured.layers, saturationSamples: measured.samples };
    }
  } else {
    const chosen = selectLayers(weightCandidates(model.proto), selection, graph.node, file);
    if (chosen.length === 0) throw new UsageError(file, 'no Conv, Gemm or MatMul layer with a constant float weight is selected');
    let rounding;
    const weightOptions = { bits, perChannel, blockSize: step.blockSize };
    if (step.rounding === 'gptq') {
      phase(ctx, 0, 2, `rounding weights by GPTQ with layer Hessians on the calibration data${step.gptqInputs === 'quantized' ? ' (sequential)' : ''}`);
      const calib = await openCalibration(ctx, model, calibSamples(step, ctx));
      // A dry run records the weights and scale layouts the quantizer asks for; GPTQ answers them layer by layer.
      const dry = recordingRounding();
      quantizeWeightOnly(model.proto, chosen, { ...weightOptions, rounding: dry.rounding }, model);
      const { rounded } = await roundLayersByGptq(model, calib, dry.requests, { file, signal: ctx.signal, inputs: step.gptqInputs });
      rounding = replayRounding(rounded);
    }
    phase(ctx, rounding ? 1 : 0, rounding ? 2 : 1, step.mode === 'weight' ? `quantizing weights to int${bits}${rounding ? ' by GPTQ' : ''}` : 'quantizing to dynamic int8');
    const r = step.mode === 'weight'
      ? quantizeWeightOnly(model.proto, chosen, { ...weightOptions, rounding }, model)
      : quantizeDynamic(model.proto, chosen, { perChannel, target }, model);
    proto = r.proto;
    layers = r.layers.map((l) => ({ name: l.name || l.weight, op: l.op, format: `${l.format} int${l.bits}` }));
  }
  phase(ctx, 1, 1, 'quantized');
  return {
    model: { ...model, proto },
    summary: {
      mode: step.mode, bits, perChannel, target,
      ...(step.mode !== 'dynamic' ? { rounding: step.rounding ?? 'nearest' } : {}),
      ...(step.rounding === 'gptq' ? { gptqInputs: step.gptqInputs ?? 'original' } : {}),
      ...(step.mode === 'static' ? { method: step.method ?? 'minmax' } : {}),
      bytesBefore: model.fileBytes, bytesAfter: encodeModel(proto).length, layers,
      ...(warnings.length > 0 ? { warnings } : {}),
      ...saturation,
    },
  };
}
