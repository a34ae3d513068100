import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../../src/core/eval/datasets';
import { agreement, maxAbsDiff, topKAccuracy } from '../../../src/core/eval/metrics';
import { openSession, runModel } from '../../../src/core/eval/runner';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import { clone, ModelProtoSchema, type ModelProto } from '../../../src/core/onnx/proto';
import { makeTensor, tensorDims, tensorValues } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { magnitudePrune } from '../../../src/core/prune/magnitude';
import { distillHead } from '../../../src/core/recover/headDistill';
import { seededRandom } from '../../../src/core/random';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../../fixtures/mnist';

const dir = tempDir();
const split = writeMnistNpy(dir, 'test');
const calibSplit = writeMnistNpy(dir, 'calib', 256);
let seq = 0;

async function run(proto: ModelProto) {
  const file = path.join(dir, `h${seq++}.onnx`);
  writeModel(proto, file);
  const data = await openDataset(split.data, { labels: split.labels });
  return { out: await runModel(await openSession(file, { intraOpThreads: 1 }), data, { batchSize: 256 }), labels: data.labels! };
}

test('a classifier with scrambled weights is re-fit to the teacher logits in closed form', async () => {
  const teacher = readModelSync(MNIST_MODEL);
  const student = { proto: clone(ModelProtoSchema, teacher.proto) };
  const g = student.proto.graph!;
  const rnd = seededRandom(12);
  for (const name of ['fc.weight', 'fc.bias']) {
    const at = g.initializer.findIndex((t) => t.name === name);
    assert.ok(at >= 0, `${name} exists in the fixture`);
    const t = g.initializer[at];
    g.initializer[at] = makeTensor(name, t.dataType, tensorDims(t), Float32Array.from(tensorValues(t), (v) => v + (rnd() - 0.5)));
  }
  const calib = await openDataset(calibSplit.data, {});
  const ref = await run(teacher.proto);
  const broken = await run(student.proto);
  // Almost no damping: with the teacher's own features the least-squares head is the teacher's head.
  const report = await distillHead(teacher, student, calib, { damping: 1e-9 });
  const fixed = await run(student.proto);
  console.log(`head distillation: logit MSE ${report.mseBefore.toExponential(2)} → ${report.mseAfter.toExponential(2)} on calibration; ` +
    `test max |Δlogit| ${maxAbsDiff(ref.out, broken.out).toFixed(3)} → ${maxAbsDiff(ref.out, fixed.out).toFixed(4)}, agreement ${agreement(ref.out, broken.out).toFixed(4)} → ${agreement(ref.out, fixed.out).toFixed(4)}`);
  assert.ok(maxAbsDiff(ref.out, fixed.out) < 1e-3, `max abs diff ${maxAbsDiff(ref.out, fixed.out)}`);
  assert.ok(agreement(ref.out, fixed.out) >= 0.999);
});

test('after 70 % plain magnitude pruning, head distillation alone recovers much of the accuracy', async () => {
  const teacher = readModelSync(MNIST_MODEL);
  const pruned = magnitudePrune(teacher, { sparsity: 0.7, scope: 'global', ranking: 'plain' });
  const calib = await openDataset(calibSplit.data, {});
  const ref = await run(teacher.proto);
  const before = await run(pruned.proto);
  const zerosBefore = tensorValues(pruned.proto.graph!.initializer.find((t) => t.name === 'fc.weight')!).filter((v) => v === 0).length;
  await distillHead(teacher, { proto: pruned.proto }, calib);
  const after = await run(pruned.proto);
  const zerosAfter = tensorValues(pruned.proto.graph!.initializer.find((t) => t.name === 'fc.weight')!).filter((v) => v === 0).length;
  const top1 = (o: typeof ref) => topKAccuracy(o.out, o.labels, 1);
  console.log(`70 % plain pruning: top-1 ${(100 * top1(before)).toFixed(2)} % → head distilled ${(100 * top1(after)).toFixed(2)} % (fp32 ${(100 * top1(ref)).toFixed(2)} %)`);
  assert.ok(top1(after) > top1(before) + 0.2, 'distillation of the head alone lifts accuracy by > 20 pp');
  assert.ok(zerosAfter >= zerosBefore, 'pruned head weights stay zero');
});

test('a Gemm head with alpha 2, beta 0.5 and transB 0 is re-fit to the teacher outputs onnxruntime computes', async () => {
  // y = 2·x·W + 0.5·C: with the teacher's own inputs the exact fit is the teacher's W and C.
  const rnd = seededRandom(4);
  const head = (w: Float32Array, c: Float32Array) => decodeModel(encodeModel(model(graph({
    nodes: [node('Gemm', ['x', 'w', 'c'], ['y'], { alpha: { float: 2 }, beta: { float: 0.5 } }, 'fc')],
    inputs: [valueInfo('x', DataType.FLOAT, ['N', 5])], outputs: [valueInfo('y', DataType.FLOAT, ['N', 3])],
    initializers: [makeTensor('w', DataType.FLOAT, [5, 3], w), makeTensor('c', DataType.FLOAT, [3], c)],
  }), { opset: 13 })));
  const w = Float32Array.from({ length: 15 }, () => rnd() * 2 - 1);
  const c = Float32Array.from([0.3, -0.6, 0.9]);
  const teacher = head(w, c);
  const student = head(w.map((v) => v + rnd() - 0.5), c.map((v) => v + 1));
  const xs = Float32Array.from({ length: 50 * 5 }, () => rnd() * 2 - 1);
  const data = { n: 50, sampleShape: [5], labels: undefined, async batch(s: number, n: number) { return xs.slice(s * 5, (s + n) * 5); } };
  const outputs = async (proto: ModelProto) => {
    const file = path.join(dir, `h${seq++}.onnx`);
    writeModel(proto, file);
    return runModel(await openSession(file, { intraOpThreads: 1 }), data);
  };
  const ref = await outputs(teacher.proto);
  const report = await distillHead(teacher, student, data, { damping: 1e-12 });
  const fixed = await outputs(student.proto);
  assert.ok(maxAbsDiff(ref, fixed) < 1e-4, `max abs diff ${maxAbsDiff(ref, fixed)}`);
  assert.ok(report.mseAfter < 1e-8 && report.mseBefore > 0.01, JSON.stringify(report));
});
