// Readable builders of small random-weight image classifiers (Conv/BN/Relu/Clip, depthwise, residual Add,
// GlobalAveragePool → Flatten → Gemm), plus ResNet-50- and MobileNetV2-shaped ones for benchmarks.
// Weights are seeded and He-scaled so activations stay in a sane range through many layers.
import { graph, model, node, valueInfo, type AttrValue } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import type { ModelProto, NodeProto, TensorProto } from '../../src/core/onnx/proto';
import { makeTensor } from '../../src/core/onnx/tensor';
import { seededRandom } from '../../src/core/random';


/** Accumulates nodes and initializers with readable generated names. */
export class NetBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = new Map<string, number>();
  readonly random: () => number;

  constructor(seed: number, readonly bn: boolean) {
    this.random = seededRandom(seed);
  }

  name(base: string): string {
    const k = (this.count.get(base) ?? 0) + 1;
    this.count.set(base, k);
    return `${base}${k}`;
  }

  normal(): number {
    const u = Math.max(this.random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  weight(name: string, dims: number[], std: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.initializers.push(makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: n }, () => this.normal() * std)));
    return name;
  }

  uniform(name: string, dims: number[], lo: number, hi: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    this.initializers.push(makeTensor(name, DataType.FLOAT, dims, Float32Array.from({ length: n }, () => lo + (hi - lo) * this.random())));
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base = opType.toLowerCase()): string {
    const id = this.name(base);
    this.nodes.push(node(opType, inputs, [id], attrs, id));
    return id;
  }

  /** Conv (+ BatchNormalization when the net has BN, else a Conv bias). */
  conv(x: string, cin: number, cout: number, k: number, opts: { stride?: number; group?: number } = {}): string {
    const group = opts.group ?? 1;
    const id = this.name('conv');
    const fanIn = (cin / group) * k * k;
    const w = this.weight(`${id}.weight`, [cout, cin / group, k, k], Math.sqrt(2 / fanIn));
    const inputs = [x, w];
    if (!this.bn) inputs.push(this.uniform(`${id}.bias`, [cout], -0.1, 0.1));
    const pad = (k - 1) >> 1;
    this.nodes.push(node('Conv', inputs, [id], { kernel_shape: [k, k], strides: [opts.stride ?? 1, opts.stride ?? 1], pads: [pad, pad, pad, pad], group }, id));
    if (!this.bn) return id;
    const b = this.name('bn');
    return this.op('BatchNormalization', [
      id,
      this.uniform(`${b}.scale`, [cout], 0.6, 1.2),
      this.uniform(`${b}.bias`, [cout], -0.2, 0.2),
      this.uniform(`${b}.mean`, [cout], -0.1, 0.1),
      this.uniform(`${b}.var`, [cout], 0.6, 1.4),
    ], { epsilon: { float: 1e-5 } }, 'bn');
  }

  relu(x: string): string { return this.op('Relu', [x]); }

  relu6(x: string): string {
    const lo = `${this.name('clip_min')}`;
    const hi = `${this.name('clip_max')}`;
    this.initializers.push(makeTensor(lo, DataType.FLOAT, [], [0]), makeTensor(hi, DataType.FLOAT, [], [6]));
    return this.op('Clip', [x, lo, hi]);
  }

  /** GlobalAveragePool → Flatten → Gemm(classes). */
  head(x: string, channels: number, classes: number): string {
    const pooled = this.op('Flatten', [this.op('GlobalAveragePool', [x], {}, 'gap')], { axis: 1 });
    const id = this.name('fc');
    const w = this.weight(`${id}.weight`, [classes, channels], Math.sqrt(1 / channels));
    const b = this.uniform(`${id}.bias`, [classes], -0.1, 0.1);
    this.nodes.push(node('Gemm', [pooled, w, b], [id], { transB: 1 }, id));
    return id;
  }

  model(input: string, inputShape: (number | string)[], output: string, outputShape: (number | string)[], name: string): ModelProto {
    return model(graph({
      name,
      nodes: this.nodes,
      inputs: [valueInfo(input, DataType.FLOAT, inputShape)],
      outputs: [valueInfo(output, DataType.FLOAT, outputShape)],
      initializers: this.initializers,
    }), { opset: 13 });
  }
}

export interface ConvNetOptions {
  /** output channels of each stage (each stage halves the spatial size) */
  channels?: number[];
  /** add a residual Add around each stage's inner block */
  residual?: boolean;
  /** inner block = depthwise 3×3 (+ReLU6) → pointwise 1×1, instead of a plain 3×3 conv */
  depthwise?: boolean;
  bn?: boolean;
  seed?: number;
  /** [channels, height, width] of one input sample */
  input?: [number, number, number];
  classes?: number;
}

/**
 * A small classifier: stem conv → per stage: strided 3×3 conv + ReLU, then an inner block (plain or
 * depthwise-separable) optionally added back residually (+ ReLU) → GlobalAveragePool → Flatten → Gemm.
 * Input `x` [N, C, H, W] with a symbolic batch; output `logits` [N, classes].
 */
export function convNet(opts: ConvNetOptions = {}): ModelProto {
  const channels = opts.channels ?? [8, 16];
  const [cIn, h, w] = opts.input ?? [3, 32, 32];
  const classes = opts.classes ?? 10;
  const b = new NetBuilder(opts.seed ?? 1, opts.bn ?? true);
  let x = b.relu(b.conv('x', cIn, channels[0], 3));
  let c = channels[0];
  for (const cout of channels) {
    x = b.relu(b.conv(x, c, cout, 3, { stride: 2 }));
    c = cout;
    const inner = opts.depthwise
      ? b.conv(b.relu6(b.conv(x, c, c, 3, { group: c })), c, c, 1)
      : b.conv(x, c, c, 3);
    x = opts.residual ? b.relu(b.op('Add', [x, inner])) : b.relu(inner);
  }
  const logits = b.head(x, c, classes);
  b.nodes.push(node('Identity', [logits], ['logits'], {}, 'output'));
  return b.model('x', ['N', cIn, h, w], 'logits', ['N', classes], 'convnet');
}

/** ResNet-50 with real layer shapes (bottleneck blocks 3-4-6-3, 224×224), random weights, BN already folded. */
export function resnet50Shaped(seed = 1): ModelProto {
  const b = new NetBuilder(seed, false);
  let x = b.op('MaxPool', [b.relu(b.conv('x', 3, 64, 7, { stride: 2 }))], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let c = 64;
  const stages: [number, number, number][] = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
  for (const [width, blocks, stride] of stages) {
    for (let i = 0; i < blocks; i++) {
      const s = i === 0 ? stride : 1;
      const out = width * 4;
      const y = b.conv(b.relu(b.conv(b.relu(b.conv(x, c, width, 1)), width, width, 3, { stride: s })), width, out, 1);
      const shortcut = i === 0 ? b.conv(x, c, out, 1, { stride: s }) : x;
      x = b.relu(b.op('Add', [y, shortcut]));
      c = out;
    }
  }
  const logits = b.head(x, c, 1000);
  return b.model('x', [1, 3, 224, 224], logits, [1, 1000], 'resnet50_shaped');
}

/** MobileNetV2 with real layer shapes (inverted residuals, ReLU6, 224×224), random weights, BN already folded. */
export function mobileNetV2Shaped(seed = 1): ModelProto {
  const b = new NetBuilder(seed, false);
  let x = b.relu6(b.conv('x', 3, 32, 3, { stride: 2 }));
  let c = 32;
  const settings: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  for (const [t, out, n, stride] of settings) {
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? stride : 1;
      const hidden = c * t;
      let y = t === 1 ? x : b.relu6(b.conv(x, c, hidden, 1));
      y = b.relu6(b.conv(y, hidden, hidden, 3, { stride: s, group: hidden }));
      y = b.conv(y, hidden, out, 1);
      x = s === 1 && c === out ? b.op('Add', [x, y]) : y;
      c = out;
    }
  }
  x = b.relu6(b.conv(x, c, 1280, 1));
  const logits = b.head(x, 1280, 1000);
  return b.model('x', [1, 3, 224, 224], logits, [1, 1000], 'mobilenet_v2_shaped');
}
