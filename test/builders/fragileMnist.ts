// The MNIST CNN with one layer made fragile on purpose, for the sensitivity and plan tests.
import path from 'node:path';
import { DataType } from '../../src/core/onnx/dtypes';
import { readModelSync } from '../../src/core/onnx/read';
import { makeTensor, tensorDims, tensorValues } from '../../src/core/onnx/tensor';
import { writeModel } from '../../src/core/onnx/write';
import { MNIST_MODEL } from '../fixtures/mnist';

/** The fragile layer. */
export const DOWN = '/down/down.0/down.0.0/Conv';
export const OUTLIER = 1000;
const DEAD = 5;

/**
 * The MNIST CNN with one layer made fragile without changing what the float model computes: stem channel DEAD is
 * switched off (its BatchNormalization scale 0, shift −1, so the Relu after it outputs 0 everywhere), and the next
 * Conv (DOWN) reads that channel with weight OUTLIER at one tap in every output channel. The float outputs stay
 * the same (OUTLIER · 0), but each output channel's int8 scale is set by OUTLIER, so its real weights round to zero.
 * Returns the file and the largest magnitude among DOWN's other weights.
 */
export function fragileModel(dir: string, outlier = OUTLIER): { file: string; others: number } {
  const model = readModelSync(MNIST_MODEL);
  const inits = model.proto.graph!.initializer;
  const replace = (name: string, edit: (values: Float32Array, dims: number[]) => void) => {
    const i = inits.findIndex((t) => t.name === name);
    const dims = tensorDims(inits[i]);
    const values = Float32Array.from(tensorValues(inits[i], model));
    edit(values, dims);
    inits[i] = makeTensor(name, DataType.FLOAT, dims, values);
  };
  replace('stem.0.1.weight', (v) => { v[DEAD] = 0; });
  replace('stem.0.1.bias', (v) => { v[DEAD] = -1; });
  let others = 0;
  replace('down.0.0.weight', (v, [outC, inC, kh, kw]) => {
    for (const x of v) others = Math.max(others, Math.abs(x));
    for (let o = 0; o < outC; o++) v[((o * inC + DEAD) * kh + 1) * kw + 1] = outlier;
  });
  const file = path.join(dir, `fragile${outlier}.onnx`);
  writeModel(model.proto, file);
  return { file, others };
}
