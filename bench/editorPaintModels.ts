// Synthetic models with the graph shapes of well-known classifiers, for bench/editorPaint.mjs: the node and
// edge structure is what the editor's layout and drawing see; weights are full-size with a cheap fixed pattern.
import { graph, model, node, valueInfo } from '../src/core/onnx/build';
import { DataType } from '../src/core/onnx/dtypes';
import type { NodeProto, TensorProto } from '../src/core/onnx/proto';
import { makeTensor } from '../src/core/onnx/tensor';
import { encodeModel } from '../src/core/onnx/write';

/** Appends nodes and their weights; each method returns the name of the new output. */
class Net {
  readonly nodes: NodeProto[] = [];
  readonly weights: TensorProto[] = [];
  private count = 0;

  private next(op: string): string {
    return `${op.toLowerCase()}_${this.count++}`;
  }

  private tensor(name: string, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    // about one value in 13 is zero, so every layer has some sparsity to colour
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (((i * 7919) % 13) - 6) * 0.01;
    this.weights.push(makeTensor(name, DataType.FLOAT, dims, values));
    return name;
  }

  private add(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    const name = this.next(op);
    this.nodes.push(node(op, inputs, [name], attrs, name));
    return name;
  }

  conv(x: string, cin: number, cout: number, k: number, stride = 1): string {
    const id = `w${this.count}`;
    const p = (k - 1) >> 1;
    return this.add('Conv', [x, this.tensor(`${id}.weight`, [cout, cin, k, k]), this.tensor(`${id}.bias`, [cout])],
      { kernel_shape: [k, k], strides: [stride, stride], pads: [p, p, p, p] });
  }

  bn(x: string, c: number): string {
    const id = `bn${this.count}`;
    return this.add('BatchNormalization', [x, ...['scale', 'bias', 'mean', 'var'].map((t) => this.tensor(`${id}.${t}`, [c]))]);
  }

  relu(x: string): string { return this.add('Relu', [x]); }
  sum(a: string, b: string): string { return this.add('Add', [a, b]); }
  // a copy: the node keeps the array it is given, and callers keep appending to theirs
  concat(xs: string[]): string { return this.add('Concat', [...xs], { axis: 1 }); }
  maxPool(x: string): string { return this.add('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }); }
  avgPool(x: string): string { return this.add('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }); }
  head(x: string, c: number, classes: number): string {
    const f = this.add('Flatten', [this.add('GlobalAveragePool', [x])]);
    const id = `fc${this.count}`;
    return this.add('Gemm', [f, this.tensor(`${id}.weight`, [classes, c]), this.tensor(`${id}.bias`, [classes])], { transB: 1 });
  }

  /** The graph's input is 'input'; the last node's output becomes the graph output 'output'. */
  encode(name: string, inputShape: number[], outputShape: number[]): Uint8Array {
    this.nodes[this.nodes.length - 1].output[0] = 'output';
    const g = graph({
      name, nodes: this.nodes, initializers: this.weights,
      inputs: [valueInfo('input', DataType.FLOAT, inputShape)], outputs: [valueInfo('output', DataType.FLOAT, outputShape)],
    });
    return encodeModel(model(g, { opset: 17 }));
  }
}

/** ResNet-50 (He et al. 2015): bottleneck stages of 3, 4, 6, 3 blocks, batch norm folded into the convs. */
export function resnet50(): Uint8Array {
  const n = new Net();
  let x = n.maxPool(n.relu(n.conv('input', 3, 64, 7, 2)));
  let cin = 64;
  [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([width, blocks], stage) => {
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const y = n.conv(n.relu(n.conv(n.relu(n.conv(x, cin, width, 1)), width, width, 3, stride)), width, width * 4, 1);
      const shortcut = b === 0 ? n.conv(x, cin, width * 4, 1, stride) : x;
      x = n.relu(n.sum(y, shortcut));
      cin = width * 4;
    }
  });
  n.head(x, cin, 1000);
  return n.encode('resnet50', [1, 3, 224, 224], [1, 1000]);
}

/**
 * DenseNet (Huang et al. 2017) with growth 32 and bottlenecks, blocks of 6, 12, 40, 28 layers: the layout of
 * DenseNet-121 deepened to ~620 nodes. Each layer concatenates every earlier feature map of its block.
 */
export function densenet(): Uint8Array {
  const growth = 32;
  const n = new Net();
  let x = n.maxPool(n.relu(n.bn(n.conv('input', 3, 64, 7, 2), 64)));
  let channels = 64;
  [6, 12, 40, 28].forEach((layers, block, all) => {
    const features = [x];
    for (let l = 0; l < layers; l++) {
      const cin = channels + l * growth;
      const joined = features.length === 1 ? features[0] : n.concat(features);
      const bottleneck = n.conv(n.relu(n.bn(joined, cin)), cin, 4 * growth, 1);
      features.push(n.conv(n.relu(n.bn(bottleneck, 4 * growth)), 4 * growth, growth, 3));
    }
    x = n.concat(features);
    channels += layers * growth;
    if (block < all.length - 1) {
      x = n.avgPool(n.conv(n.relu(n.bn(x, channels)), channels, channels / 2, 1));
      channels /= 2;
    }
  });
  n.head(n.relu(n.bn(x, channels)), channels, 1000);
  return n.encode('densenet', [1, 3, 224, 224], [1, 1000]);
}

/** A chain of `count` nodes: 1×1 Conv and Relu alternating on 8 channels. */
export function chain(count: number): Uint8Array {
  const n = new Net();
  let x = 'input';
  for (let i = 0; i < count / 2; i++) x = n.relu(n.conv(x, 8, 8, 1));
  if (n.nodes.length !== count) throw new Error(`chain has ${n.nodes.length} nodes, not ${count}`);
  return n.encode(`chain${count}`, [1, 8, 8, 8], [1, 8, 8, 8]);
}
