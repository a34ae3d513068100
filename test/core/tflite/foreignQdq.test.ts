// QDQ models as other tools write them (onnxruntime's Python quantizer and others): uint8 asymmetric weights (zero
// point ≠ 0), per-tensor conv weights, int8 activations with non-zero zero points, float biases. Each model is built
// by hand, exported with --io int8 and --io float, run by node-tflite (TFLite 2.2) and compared with onnxruntime
// running the same ONNX model.
//
// Weights stay within 63 steps of both their zero point and of 128 (uint8) / 0 (int8): onnxruntime's u8s8 kernels
// on AVX2 without VNNI sum pairs of products in int16 (vpmaddubsw) and saturate beyond that (2·255·63 < 32767), so
// the reference is exact on any x86 CPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { graph, model, node, valueInfo, type AttrValue } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import type { ModelProto, NodeProto, TensorProto } from '../../../src/core/onnx/proto';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { seededRandom } from '../../../src/core/random';
import { exportTflite, type EdgeTensor } from '../../../src/core/tflite/export';
import { arraySource, outputs } from '../quantize/ortRun';

type Bits = 'uint8' | 'int8';
interface Params { scale: number; zeroPoint: number; type: Bits }

const dtype = (t: Bits) => (t === 'uint8' ? DataType.UINT8 : DataType.INT8);

/** A QDQ graph written the way other quantizers write it: Q → DQ on activations, DQ on 8-bit weight initializers. */
class ForeignQdq {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];

  /** Q → DQ after the float tensor `name`; returns the DQ output. */
  activation(name: string, p: Params): string {
    this.initializers.push(makeTensor(`${name}.scale`, DataType.FLOAT, [], [p.scale]), makeTensor(`${name}.zp`, dtype(p.type), [], [p.zeroPoint]));
    this.nodes.push(
      node('QuantizeLinear', [name, `${name}.scale`, `${name}.zp`], [`${name}.q`]),
      node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zp`], [`${name}.dq`]),
    );
    return `${name}.dq`;
  }

  /** An 8-bit weight initializer behind DequantizeLinear: per tensor (one scale) or per channel along `axis`. */
  weight(name: string, dims: number[], q: ArrayLike<number>, scale: number[], zeroPoint: number[], type: Bits, axis?: number): string {
    const s = scale.length === 1 ? [] : [scale.length];
    this.initializers.push(makeTensor(`${name}.q`, dtype(type), dims, q), makeTensor(`${name}.scale`, DataType.FLOAT, s, scale), makeTensor(`${name}.zp`, dtype(type), s, zeroPoint));
    this.nodes.push(node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zp`], [name], axis === undefined ? {} : { axis }));
    return name;
  }

  /** An int32 bias behind DequantizeLinear with scale s_in·s_w (as onnxruntime's quantizer writes it). */
  int32Bias(name: string, real: number[], scale: number[]): string {
    const q = real.map((v, c) => Math.round(v / scale[scale.length === 1 ? 0 : c]));
    const s = scale.length === 1 ? [] : [scale.length];
    this.initializers.push(makeTensor(`${name}.q`, DataType.INT32, [real.length], q), makeTensor(`${name}.scale`, DataType.FLOAT, s, scale),
      makeTensor(`${name}.zp`, DataType.INT32, s, scale.map(() => 0)));
    this.nodes.push(node('DequantizeLinear', [`${name}.q`, `${name}.scale`, `${name}.zp`], [name], scale.length > 1 ? { axis: 0 } : {}));
    return name;
  }

  floatBias(name: string, real: number[]): string {
    this.initializers.push(makeTensor(name, DataType.FLOAT, [real.length], real));
    return name;
  }

  op(opType: string, inputs: string[], output: string, attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push(node(opType, inputs, [output], attrs, output));
    return output;
  }

  model(inShape: number[], last: string, outShape: number[]): ModelProto {
    return model(graph({
      nodes: this.nodes, initializers: this.initializers,
      inputs: [valueInfo('x', DataType.FLOAT, inShape)], outputs: [valueInfo(last, DataType.FLOAT, outShape)],
    }), { opset: 13 });
  }
}

/** `n` integer weights within 63 steps of `zeroPoint` and of the type's middle (see the note at the top). */
function weights(seed: number, n: number, zeroPoint: number, type: Bits): number[] {
  const mid = type === 'uint8' ? 128 : 0;
  const lo = Math.max(zeroPoint, mid) - 63, hi = Math.min(zeroPoint, mid) + 63;
  const rnd = seededRandom(seed);
  return Array.from({ length: n }, () => lo + Math.floor(rnd() * (hi - lo + 1)));
}

/** Samples spanning the range an 8-bit input with parameters `p` represents. */
function inputs(seed: number, n: number, p: Params): Float32Array {
  const [qmin, qmax] = p.type === 'uint8' ? [0, 255] : [-128, 127];
  const rnd = seededRandom(seed);
  return Float32Array.from({ length: n }, () => ((qmin - p.zeroPoint) + (qmax - qmin) * rnd()) * p.scale);
}

/** Output parameters of `type` covering the range onnxruntime gives on `x` for the model without its final Q → DQ. */
async function outputParams(unquantized: ModelProto, x: Float32Array, inShape: number[], type: Bits): Promise<Params> {
  const ref = await outputs(unquantized, arraySource(x, inShape), 8);
  let lo = 0, hi = 0;
  for (const v of ref.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const scale = (hi - lo) / 255;
  const qmin = type === 'uint8' ? 0 : -128;
  return { scale, zeroPoint: Math.round(qmin - lo / scale), type };
}

const quantizeInput = (x: number, p: EdgeTensor) => Math.min(127, Math.max(-128, Math.round(x / p.scale) + p.zeroPoint));

/** The .tflite on every NCHW sample of `x` (transposed to NHWC), outputs as float in TFLite's (NHWC) order. */
function runTflite(bytes: Uint8Array, x: Float32Array, [c, h, w]: number[], input: EdgeTensor, output: EdgeTensor): Float32Array {
  const interpreter = new Interpreter(bytes);
  interpreter.allocateTensors();
  const n = x.length / (c * h * w);
  const outSize = output.shape.reduce((a, b) => a * b, 1);
  const result = new Float32Array(n * outSize);
  const floatIo = input.type === 'float32';
  const xs = floatIo ? new Float32Array(c * h * w) : new Int8Array(c * h * w);
  const ys = floatIo ? new Float32Array(outSize) : new Int8Array(outSize);
  for (let s = 0; s < n; s++) {
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) {
      const v = x[(s * c + ch) * h * w + i];
      xs[i * c + ch] = floatIo ? v : quantizeInput(v, input);
    }
    interpreter.inputs[0].copyFrom(xs);
    interpreter.invoke();
    interpreter.outputs[0].copyTo(ys);
    for (let k = 0; k < outSize; k++) result[s * outSize + k] = floatIo ? ys[k] : (ys[k] - output.zeroPoint) * output.scale;
  }
  return result;
}

/**
 * Exports `q` with --io int8 and --io float, runs both in node-tflite and `q` in onnxruntime on `x` (NCHW samples of
 * `inShape`); the largest difference in output quantization steps for each, after checking the ops used.
 */
async function stepsApart(q: ModelProto, inShape: number[], x: Float32Array, ops: string[]): Promise<{ int8: number; float: number }> {
  const ref = await outputs(q, arraySource(x, inShape), 8);
  const chw = inShape.length === 3 ? inShape : [inShape[0], 1, 1];
  const steps = { int8: 0, float: 0 };
  for (const io of ['int8', 'float'] as const) {
    const r = exportTflite(q, { io });
    for (const op of ops) assert.ok(r.ops.includes(op), `${op} in ${r.ops.join(' ')}`);
    const got = runTflite(r.bytes, x, chw, r.inputs[0], r.outputs[0]);
    const outShape = r.outputs[0].shape;
    const [h, w, c] = outShape.length === 4 ? outShape.slice(1) : [1, 1, outShape[1]];
    const n = got.length / (h * w * c);
    for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) {
      const d = Math.abs(ref.values[(s * c + ch) * h * w + i] - got[(s * h * w + i) * c + ch]) / r.outputs[0].scale;
      // Whole steps apart, up to float32 rounding of the outputs.
      steps[io] = Math.max(steps[io], Math.round(d * 1000) / 1000);
    }
  }
  return steps;
}

const report = (what: string, s: { int8: number; float: number }) =>
  console.log(`${what}: node-tflite vs onnxruntime max difference --io int8 ${s.int8.toFixed(2)}, --io float ${s.float.toFixed(2)} output steps`);

const SAMPLES = 16;

/** A single Conv (group `group`) from `input` parameters to `output` parameters (undefined: a float output). */
function convModel(spec: {
  input: Params; output?: Params; inCh: number; outCh: number; group: number; hw: number;
  w: { q: number[]; scale: number[]; zeroPoint: number[]; type: Bits; axis?: number }; bias: number[]; floatBias?: boolean; pads: number[];
}): ModelProto {
  const b = new ForeignQdq();
  const x = b.activation('x', spec.input);
  const w = b.weight('w', [spec.outCh, spec.inCh / spec.group, 3, 3], spec.w.q, spec.w.scale, spec.w.zeroPoint, spec.w.type, spec.w.scale.length > 1 ? spec.w.axis ?? 0 : undefined);
  const biasScale = spec.w.axis === 1 ? new Array<number>(spec.outCh).fill(spec.input.scale) : spec.w.scale.map((s) => s * spec.input.scale);
  const bias = spec.floatBias ? b.floatBias('b', spec.bias) : b.int32Bias('b', spec.bias, biasScale);
  const y = b.op('Conv', [x, w, bias], 'y', { kernel_shape: [3, 3], pads: spec.pads, group: spec.group });
  const outHw = spec.hw + spec.pads[0] + spec.pads[2] - 2;
  const outShape = [1, spec.outCh, outHw, outHw];
  return spec.output ? b.model([1, spec.inCh, spec.hw, spec.hw], b.activation(y, spec.output), outShape) : b.model([1, spec.inCh, spec.hw, spec.hw], y, outShape);
}

/** Builds a Conv model with output parameters fitted to onnxruntime's float output, and measures it. */
async function convStepsApart(spec: Omit<Parameters<typeof convModel>[0], 'output'>, outType: Bits, ops: string[]) {
  const inShape = [spec.inCh, spec.hw, spec.hw];
  const x = inputs(21, SAMPLES * spec.inCh * spec.hw * spec.hw, spec.input);
  const output = await outputParams(convModel(spec), x, inShape, outType);
  return stepsApart(convModel({ ...spec, output }), inShape, x, ops);
}

test('Conv with uint8 asymmetric per-tensor weights (zero point 131) and uint8 activations: TFLite within 2 output steps of onnxruntime', async () => {
  const inCh = 3, outCh = 4;
  const input: Params = { scale: 2 / 255, zeroPoint: 120, type: 'uint8' };
  const steps = await convStepsApart({
    input, inCh, outCh, group: 1, hw: 8, pads: [1, 1, 1, 1],
    w: { q: weights(1, outCh * inCh * 9, 131, 'uint8'), scale: [0.01], zeroPoint: [131], type: 'uint8' },
    bias: [0.1, -0.2, 0.05, 0],
  }, 'uint8', ['CONV_2D']);
  report('Conv, uint8 per-tensor weights zp 131', steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});

// Some tools quantize Conv weights along another axis than the output channels (here the input channels, axis 1);
// TFLite's per-channel weights are per output channel, so the exporter requantizes the real weights per output channel.
test('Conv with uint8 asymmetric weights quantized per input channel (DequantizeLinear axis 1): TFLite within 2 output steps of onnxruntime', async () => {
  const inCh = 3, outCh = 4;
  const zeroPoint = [131, 120, 136];
  const q = Array.from({ length: outCh }, (_, o) => zeroPoint.flatMap((zp, i) => weights(60 + o * inCh + i, 9, zp, 'uint8'))).flat();
  const steps = await convStepsApart({
    input: { scale: 2 / 255, zeroPoint: 128, type: 'uint8' }, inCh, outCh, group: 1, hw: 6, pads: [1, 1, 1, 1],
    w: { q, scale: [0.01, 0.02, 0.005], zeroPoint, type: 'uint8', axis: 1 },
    // The int32 bias gets scale s_in here: there is no single weight scale per output channel to multiply it by.
    bias: [0.1, -0.2, 0.05, 0],
  }, 'uint8', ['CONV_2D']);
  report('Conv, uint8 weights per input channel (axis 1)', steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});

test('Depthwise Conv with uint8 asymmetric per-channel weights: TFLite within 2 output steps of onnxruntime', async () => {
  const ch = 4;
  const zeroPoint = [131, 120, 140, 128];
  const q = zeroPoint.flatMap((zp, c) => weights(10 + c, 9, zp, 'uint8'));
  const steps = await convStepsApart({
    input: { scale: 3 / 255, zeroPoint: 131, type: 'uint8' }, inCh: ch, outCh: ch, group: ch, hw: 7, pads: [1, 1, 1, 1],
    w: { q, scale: [0.02, 0.005, 0.01, 0.03], zeroPoint, type: 'uint8' },
    bias: [0.05, -0.1, 0.2, 0],
  }, 'uint8', ['DEPTHWISE_CONV_2D']);
  report('Depthwise Conv, uint8 per-channel weights', steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});

// transB = 1: the weight is [O, I], per channel along axis 0; transB = 0: [I, O], per channel along axis 1 (both the
// output features); per tensor needs no axis.
for (const { perChannel, transB } of [{ perChannel: false, transB: 1 }, { perChannel: true, transB: 1 }, { perChannel: true, transB: 0 }]) test(`Gemm (transB ${transB}) with uint8 asymmetric ${perChannel ? `per-channel (axis ${1 - transB})` : 'per-tensor'} weights (FULLY_CONNECTED requantized per tensor, symmetric): TFLite within 2 output steps of onnxruntime`, async () => {
  const inF = 16, outF = 5;
  const input: Params = { scale: 4 / 255, zeroPoint: 131, type: 'uint8' };
  const zeroPoint = perChannel ? [131, 125, 128, 136, 140] : [131];
  const scale = perChannel ? [0.01, 0.02, 0.005, 0.015, 0.01] : [0.01];
  const rows = zeroPoint.length === 1 ? [weights(30, outF * inF, 131, 'uint8')] : zeroPoint.map((zp, o) => weights(30 + o, inF, zp, 'uint8'));
  const at = (o: number, i: number) => (rows.length === 1 ? rows[0][o * inF + i] : rows[o][i]);
  const q = transB ? Array.from({ length: outF * inF }, (_, k) => at(Math.floor(k / inF), k % inF)) : Array.from({ length: outF * inF }, (_, k) => at(k % outF, Math.floor(k / outF)));
  const build = (output?: Params) => {
    const b = new ForeignQdq();
    const x = b.activation('x', input);
    const w = b.weight('w', transB ? [outF, inF] : [inF, outF], q, scale, zeroPoint, 'uint8', perChannel ? 1 - transB : undefined);
    const bias = b.int32Bias('b', [0.1, -0.3, 0.2, 0, 0.05], scale.map((s) => s * input.scale));
    const y = b.op('Gemm', [x, w, bias], 'y', { transB });
    return b.model([1, inF], output ? b.activation(y, output) : y, [1, outF]);
  };
  const x = inputs(31, SAMPLES * inF, input);
  const output = await outputParams(build(), x, [inF], 'uint8');
  const steps = await stepsApart(build(output), [inF], x, ['FULLY_CONNECTED']);
  report(`Gemm transB ${transB}, uint8 ${perChannel ? `per-channel axis ${1 - transB}` : 'per-tensor'} weights`, steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});

test('int8 activations with non-zero zero points throughout (Conv → Relu → MaxPool, int8 asymmetric weights): TFLite within 2 output steps of onnxruntime', async () => {
  const inCh = 3, outCh = 4, hw = 8;
  const input: Params = { scale: 2 / 255, zeroPoint: -7, type: 'int8' };
  const wZeroPoint = [0, 5, -4, 2];
  const q = wZeroPoint.flatMap((zp, o) => weights(40 + o, inCh * 9, zp, 'int8'));
  const wScale = [0.01, 0.02, 0.015, 0.01];
  const build = (conv?: Params, relu?: Params) => {
    const b = new ForeignQdq();
    const x = b.activation('x', input);
    const w = b.weight('w', [outCh, inCh, 3, 3], q, wScale, wZeroPoint, 'int8', 0);
    const bias = b.int32Bias('b', [0.05, -0.1, 0, 0.1], wScale.map((s) => s * input.scale));
    const c = b.op('Conv', [x, w, bias], 'c', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    if (!conv || !relu) return b.model([1, inCh, hw, hw], c, [1, outCh, hw, hw]);
    const r = b.op('Relu', [b.activation(c, conv)], 'r');
    const p = b.op('MaxPool', [b.activation(r, relu)], 'p', { kernel_shape: [2, 2], strides: [2, 2] });
    return b.model([1, inCh, hw, hw], b.activation(p, relu), [1, outCh, hw / 2, hw / 2]);
  };
  const x = inputs(41, SAMPLES * inCh * hw * hw, input);
  const conv = await outputParams(build(), x, [inCh, hw, hw], 'int8');
  assert.notEqual(conv.zeroPoint, 0);
  // After the Relu: [0, max] over int8 with zero point −100 (not −128, as other tools may choose).
  const max = (127 - conv.zeroPoint) * conv.scale;
  const relu: Params = { scale: max / 227, zeroPoint: -100, type: 'int8' };
  // The Relu sits between Q → DQ pairs (the Conv's output is quantized first), so it is not fused: MAXIMUM with 0.
  const steps = await stepsApart(build(conv, relu), [inCh, hw, hw], x, ['CONV_2D', 'MAXIMUM', 'MAX_POOL_2D']);
  report('int8 activations (zp −7, fitted, −100): Conv → Relu → MaxPool', steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});

// A float bias next to quantized weights (tools that leave biases unquantized): TFLite needs int32 with scale
// s_in·s_w, as its own converter does; the exporter quantizes it rather than refusing a model users expect to work.
for (const op of ['Conv', 'Gemm'] as const) test(`${op} with a float bias: quantized to int32 (scale s_in·s_w) by the exporter, TFLite within 2 output steps of onnxruntime`, async () => {
  const input: Params = { scale: 2 / 255, zeroPoint: 128, type: 'uint8' };
  if (op === 'Conv') {
    const steps = await convStepsApart({
      input, inCh: 3, outCh: 4, group: 1, hw: 6, pads: [1, 1, 1, 1], floatBias: true,
      w: { q: weights(50, 4 * 3 * 9, 0, 'int8'), scale: [0.01, 0.02, 0.015, 0.01], zeroPoint: [0, 0, 0, 0], type: 'int8' },
      bias: [0.123, -0.456, 0.0789, 0.3],
    }, 'uint8', ['CONV_2D']);
    report('Conv, float bias', steps);
    assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
    return;
  }
  const inF = 12, outF = 3;
  const build = (output?: Params) => {
    const b = new ForeignQdq();
    const x = b.activation('x', input);
    const w = b.weight('w', [outF, inF], weights(51, outF * inF, 131, 'uint8'), [0.02], [131], 'uint8');
    const y = b.op('Gemm', [x, w, b.floatBias('b', [0.5, -0.25, 0.125])], 'y', { transB: 1 });
    return b.model([1, inF], output ? b.activation(y, output) : y, [1, outF]);
  };
  const x = inputs(52, SAMPLES * inF, input);
  const output = await outputParams(build(), x, [inF], 'uint8');
  const steps = await stepsApart(build(output), [inF], x, ['FULLY_CONNECTED']);
  report('Gemm, float bias', steps);
  assert.ok(steps.int8 <= 2 && steps.float <= 2, JSON.stringify(steps));
});
