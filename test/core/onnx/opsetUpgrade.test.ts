import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { upgradeOpset } from '../../../src/core/onnx/opsetUpgrade';
import type { ModelProto } from '../../../src/core/onnx/proto';
import { opsetVersion, readModelSync } from '../../../src/core/onnx/read';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { UnsupportedOperator } from '../../../src/core/errors';
import { seededRandom } from '../../../src/core/random';
import { fromRoot } from '../../fixtures/repoRoot';

async function run(m: ModelProto | Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(m instanceof Uint8Array ? m : encodeModel(m), { logSeverityLevel: 3 });
  return (await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, dims) }))[s.outputNames[0]].data as Float32Array;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('PaddleOCR cls (opset 9, Clip/Slice/Softmax) upgraded to 13 gives the same outputs in onnxruntime', async () => {
  const file = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const m = readModelSync(file);
  assert.equal(opsetVersion(m.proto), 9);
  const up = upgradeOpset(m.proto, 13, m);
  assert.equal(opsetVersion(up), 13);
  assert.equal(up.graph!.node.filter((n) => n.opType === 'Clip' && n.attribute.length > 0).length, 0, 'Clip bounds moved to inputs');
  const rnd = seededRandom(4);
  const x = Float32Array.from({ length: 4 * 3 * 48 * 192 }, () => rnd() * 2 - 1);
  const d = maxDiff(await run(fs.readFileSync(file), x, [4, 3, 48, 192]), await run(up, x, [4, 3, 48, 192]));
  assert.ok(d <= 1e-6, `max difference ${d}`);
});

test('attribute-to-input and Softmax-semantics changes: opset 9 → 13 and → 21 match the original', async () => {
  const m9 = model(graph({
    nodes: [
      node('Clip', ['x'], ['c'], { min: { float: -0.5 }, max: { float: 0.7 } }),
      node('Pad', ['c'], ['p'], { pads: [0, 0, 1, 0, 0, 0, 0, 2], value: { float: 1.5 } }),
      node('Slice', ['p'], ['s'], { starts: [1, 0], ends: [4, 5], axes: [2, 3] }),
      node('Unsqueeze', ['s'], ['u'], { axes: [0] }),
      node('Squeeze', ['u'], ['q'], { axes: [0] }),
      // Before opset 13 Softmax normalises over the flattened dims ≥ axis, here 1..3 together.
      node('Softmax', ['q'], ['sm'], { axis: 1 }),
      node('ReduceMean', ['sm'], ['y'], { axes: [3], keepdims: 0 }),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [2, 3, 4, 5])],
    outputs: [valueInfo('y', DataType.FLOAT, undefined)],
  }), { opset: 9, irVersion: 4 });
  const rnd = seededRandom(8);
  const x = Float32Array.from({ length: 120 }, () => rnd() * 4 - 2);
  const want = await run(m9, x, [2, 3, 4, 5]);
  for (const target of [13, 21]) {
    const up = upgradeOpset(m9, target);
    assert.equal(opsetVersion(up), target);
    const d = maxDiff(want, await run(up, x, [2, 3, 4, 5]));
    assert.ok(d <= 1e-7, `opset ${target}: max difference ${d}`);
  }
  // The upgrade does not touch the input model.
  assert.equal(opsetVersion(m9), 9);
});

test('an operator the table does not know is refused with UnsupportedOperator', () => {
  const m = model(graph({
    nodes: [node('Scan', ['x'], ['y'])],
    inputs: [valueInfo('x', DataType.FLOAT, [1])],
    outputs: [valueInfo('y', DataType.FLOAT, [1])],
    initializers: [makeTensor('unused', DataType.FLOAT, [1], [0])],
  }), { opset: 9 });
  assert.throws(() => upgradeOpset(m, 13), UnsupportedOperator);
});
