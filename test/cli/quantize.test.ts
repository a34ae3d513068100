import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../../src/core/eval/datasets';
import { writeTextDirectionSet } from '../../src/core/eval/textDirectionSet';
import { readModelSync } from '../../src/core/onnx/read';
import { writeModel } from '../../src/core/onnx/write';
import { cli, sha256 } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';
import { accuracy, compareOutputs, count, fusedOps, outputs } from '../core/quantize/ortRun';
import { DataType } from '../../src/core/onnx/dtypes';
import { tensorValues } from '../../src/core/onnx/tensor';

test('quantize --mode static on MNIST .npy: fused QDQ model, ≤ 0.3 pp loss, input untouched', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 128);
  const split = writeMnistNpy(dir, 'test', 600);
  const out = path.join(dir, 'int8.onnx');
  const before = sha256(MNIST_MODEL);
  const r = cli('quantize', MNIST_MODEL, '-o', out, '--mode', 'static', '--calib', calib.data, '--method', 'percentile', '--per-channel', '--bias-correction', '--json');
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.mode, 'static');
  assert.equal(summary.method, 'percentile');
  assert.ok(summary.bytesAfter < 0.4 * summary.bytesBefore);
  assert.equal(sha256(MNIST_MODEL), before);
  const q = readModelSync(out).proto;
  const ops = await fusedOps(q);
  assert.equal(count(ops, 'QLinearConv'), readModelSync(MNIST_MODEL).proto.graph!.node.filter((n) => n.opType === 'Conv').length);
  const data = await openDataset(split.data, { labels: split.labels });
  const ref = await outputs(fs.readFileSync(MNIST_MODEL), data, 64);
  const got = await outputs(fs.readFileSync(out), data, 64);
  const c = compareOutputs(ref, got);
  console.log(`CLI static int8: fp32 ${accuracy(ref, data.labels!)}, int8 ${accuracy(got, data.labels!)}, agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(3)}`);
  assert.ok(accuracy(ref, data.labels!) - accuracy(got, data.labels!) <= 0.003);
});

test('quantize --mode weight --bits 4 and --mode dynamic run in onnxruntime and agree with fp32', async () => {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', 300);
  const data = await openDataset(split.data, { labels: split.labels });
  const ref = await outputs(fs.readFileSync(MNIST_MODEL), data, 64);
  for (const args of [['--mode', 'weight', '--bits', '4'], ['--mode', 'weight'], ['--mode', 'dynamic', '--exclude', 'op:Conv']]) {
    const out = path.join(dir, `${args.join('')}.onnx`);
    const r = cli('quantize', MNIST_MODEL, '-o', out, ...args, '--json');
    assert.equal(r.status, 0, r.stderr);
    const c = compareOutputs(ref, await outputs(fs.readFileSync(out), data, 64));
    console.log(`CLI ${args.join(' ')}: agreement ${c.agreement}, max |Δ| ${c.maxAbsError.toFixed(3)}; ${JSON.parse(r.stdout).bytesAfter} bytes`);
    assert.ok(c.agreement >= 0.97, `${args.join(' ')}: agreement ${c.agreement}`);
  }
});

test('quantize --mode weight --bits 4 --rounding gptq --calib: GPTQ rounding, agreement with fp32 at least nearest\'s; --mode static [--bits 4] --rounding gptq runs', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 128);
  const split = writeMnistNpy(dir, 'test', 1000);
  const data = await openDataset(split.data, { labels: split.labels });
  const ref = await outputs(fs.readFileSync(MNIST_MODEL), data, 64);
  const agreements: number[] = [];
  for (const rounding of [[], ['--rounding', 'gptq', '--calib', calib.data, '--calib-samples', '64']]) {
    const out = path.join(dir, `int4${rounding.length}.onnx`);
    const r = cli('quantize', MNIST_MODEL, '-o', out, '--mode', 'weight', '--bits', '4', ...rounding, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).rounding, rounding.length ? 'gptq' : 'nearest');
    agreements.push(compareOutputs(ref, await outputs(fs.readFileSync(out), data, 64)).agreement);
  }
  console.log(`CLI int4 weights on ${data.n} digits: agreement with fp32 nearest ${agreements[0]}, GPTQ ${agreements[1]}`);
  assert.ok(agreements[1] >= agreements[0] - 1 / data.n, `${agreements}`);
  const text = cli('quantize', MNIST_MODEL, '-o', path.join(dir, 'text.onnx'), '--mode', 'weight', '--bits', '4', '--rounding', 'gptq', '--calib', calib.data);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^weight-only int4 \(GPTQ rounding\), per-channel weights: 7 layers quantized/);
  const st = cli('quantize', MNIST_MODEL, '-o', path.join(dir, 'static.onnx'), '--mode', 'static', '--rounding', 'gptq', '--calib', calib.data, '--json');
  assert.equal(st.status, 0, st.stderr);
  assert.equal(JSON.parse(st.stdout).rounding, 'gptq');
  const c = compareOutputs(ref, await outputs(fs.readFileSync(path.join(dir, 'static.onnx')), data, 64));
  assert.ok(c.agreement >= 0.98, `static int8 with GPTQ weights: agreement ${c.agreement}`);
  // W4A8: int4 weights (opset 21 DequantizeLinear, float kernels in onnxruntime), uint8 activations.
  const w4a8 = cli('quantize', MNIST_MODEL, '-o', path.join(dir, 'w4a8.onnx'), '--mode', 'static', '--bits', '4', '--rounding', 'gptq', '--calib', calib.data);
  assert.equal(w4a8.status, 0, w4a8.stderr);
  assert.match(w4a8.stdout, /^static W4A8 QDQ \(minmax calibration, GPTQ rounding\)/);
  const g = readModelSync(path.join(dir, 'w4a8.onnx')).proto.graph!;
  const int4 = new Set(g.initializer.filter((t) => t.dataType === DataType.INT4).map((t) => t.name));
  assert.equal(g.node.filter((n) => n.opType === 'DequantizeLinear' && int4.has(n.input[0])).length, 7, 'one int4 weight per Conv/Gemm');
  const c4 = compareOutputs(ref, await outputs(fs.readFileSync(path.join(dir, 'w4a8.onnx')), data, 64));
  assert.ok(c4.agreement >= 0.98, `W4A8 with GPTQ weights: agreement ${c4.agreement}`);
});

/** The zero positions of each Conv/Gemm weight of a float model, by node name. */
function weightZeros(file: string): Map<string, number[]> {
  const g = readModelSync(file).proto.graph!;
  const zeros = new Map<string, number[]>();
  for (const n of g.node) {
    const w = g.initializer.find((t) => t.name === n.input[1]);
    if (!['Conv', 'Gemm'].includes(n.opType) || !w) continue;
    zeros.set(n.name, Array.from(tensorValues(w), (v, i) => (Number(v) === 0 ? i : -1)).filter((i) => i >= 0));
  }
  return zeros;
}

/** The integer weight of node `name` in a quantized model (behind its weight's DequantizeLinear). */
function intWeight(file: string, name: string): number[] {
  const g = readModelSync(file).proto.graph!;
  const n = g.node.find((m) => m.name === name)!;
  const dq = g.node.find((m) => m.output[0] === n.input[1] && m.opType === 'DequantizeLinear')!;
  return Array.from(tensorValues(g.initializer.find((t) => t.name === dq.input[0])!), Number);
}

test('prune 50 % + reconstruct, then quantize --rounding gptq (W4A8 and int4 weights, sequential too): every pruned zero stays zero, agreement at least nearest\'s', async () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 128);
  const split = writeMnistNpy(dir, 'test', 1000);
  const data = await openDataset(split.data, { labels: split.labels });
  const ref = await outputs(fs.readFileSync(MNIST_MODEL), data, 64);
  const pruned = path.join(dir, 'pruned.onnx');
  const p = cli('prune', MNIST_MODEL, '-o', pruned, '--sparsity', '0.5', '--reconstruct', '--calib', calib.data);
  assert.equal(p.status, 0, p.stderr);
  const zeros = weightZeros(pruned);
  const total = [...zeros.values()].reduce((s, z) => s + z.length, 0);
  assert.ok(total > 1000, `the pruned model has ${total} zero weights`);
  for (const [args, tag] of [[['--mode', 'static', '--bits', '4'], 'W4A8'], [['--mode', 'weight', '--bits', '4'], 'int4 weights']] as const) {
    const agreements: number[] = [];
    for (const rounding of [[], ['--rounding', 'gptq'], ['--rounding', 'gptq', '--gptq-inputs', 'quantized']]) {
      const out = path.join(dir, `q${agreements.length}${tag.length}.onnx`);
      const calibArgs = rounding.length > 0 || args[1] === 'static' ? ['--calib', calib.data] : [];
      const r = cli('quantize', pruned, '-o', out, ...args, ...rounding, ...calibArgs, '--json');
      assert.equal(r.status, 0, r.stderr);
      if (rounding.length === 4) assert.equal(JSON.parse(r.stdout).gptqInputs, 'quantized');
      for (const [name, z] of zeros) {
        const q = intWeight(out, name);
        const filled = z.filter((i) => q[i] !== 0);
        assert.equal(filled.length, 0, `${tag} ${rounding.join(' ')}: ${filled.length} of ${z.length} pruned weights of '${name}' are non-zero`);
      }
      agreements.push(compareOutputs(ref, await outputs(fs.readFileSync(out), data, 64)).agreement);
    }
    console.log(`MNIST CNN pruned 50 % + reconstruct, ${tag}, ${total} pruned zeros kept: agreement with fp32 nearest ${agreements[0]}, GPTQ ${agreements[1]}, GPTQ sequential ${agreements[2]}`);
    assert.ok(agreements[1] >= agreements[0] - 1 / data.n, `${tag}: ${agreements}`);
    assert.ok(agreements[2] >= agreements[0] - 1 / data.n, `${tag} sequential: ${agreements}`);
  }
});

test('bad arguments give one line on stderr, a non-zero exit and no output file', () => {
  const dir = tempDir();
  const out = path.join(dir, 'x.onnx');
  const cases: [string[], RegExp][] = [
    [[MNIST_MODEL, '-o', MNIST_MODEL, '--mode', 'weight'], /overwrite the input/],
    [[MNIST_MODEL, '-o', out, '--mode', 'static'], /needs --calib/],
    [[MNIST_MODEL, '-o', out, '--mode', 'dynamic', '--bits', '4'], /--bits 4 is only available with --mode weight and static/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--layers', 'no_such_layer'], /selector 'no_such_layer' matches no layer/],
    [[path.join(dir, 'missing.onnx'), '-o', out, '--mode', 'weight'], /file not found/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--calib', 'x.npy'], /--calib only applies to --mode static and --rounding gptq/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--rounding', 'gptq'], /--rounding gptq needs --calib DATA/],
    [[MNIST_MODEL, '-o', out, '--mode', 'dynamic', '--rounding', 'gptq'], /--rounding only applies to --mode weight and static/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--gptq-inputs', 'quantized'], /--gptq-inputs only applies to --rounding gptq/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--rounding', 'gptq', '--gptq-inputs', 'later', '--calib', 'x.npy'], /--gptq-inputs/],
    [[MNIST_MODEL, '-o', out, '--mode', 'weight', '--calib-samples', '10'], /--calib-samples only applies to --mode static and --rounding gptq/],
    [[MNIST_MODEL, '-o', out, '--mode', 'dynamic', '--method', 'entropy'], /--method only applies to --mode static/],
    [[MNIST_MODEL, '-o', out, '--mode', 'static', '--calib', 'x.npy', '--block-size', '32'], /--block-size only applies to --mode weight/],
    [[MNIST_MODEL, '-o', path.join(dir, 'no', 'such', 'folder', 'x.onnx'), '--mode', 'weight'], /output folder does not exist/],
    [[MNIST_MODEL, '-o', out, '--mode', 'static', '--calib', path.join(dir, 'missing.npy')], /missing\.npy/],
  ];
  for (const [args, message] of cases) {
    const r = cli('quantize', ...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!fs.existsSync(out));
  }
});

test('an output hard-linked to the input is refused; the input is unchanged', () => {
  const dir = tempDir();
  const input = path.join(dir, 'model.onnx');
  fs.copyFileSync(MNIST_MODEL, input);
  const link = path.join(dir, 'link.onnx');
  fs.linkSync(input, link);
  const before = sha256(input);
  const r = cli('quantize', input, '-o', link, '--mode', 'weight');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /overwrite the input/);
  assert.equal(sha256(input), before);
});

test('a model with external data quantized into another folder gets its own data file and runs', async () => {
  const dir = tempDir();
  const src = path.join(dir, 'in');
  const dst = path.join(dir, 'out');
  fs.mkdirSync(src);
  fs.mkdirSync(dst);
  const input = path.join(src, 'model.onnx');
  writeModel(readModelSync(MNIST_MODEL).proto, input, { externalData: { location: 'model.data', threshold: 0 } });
  const dataBefore = sha256(path.join(src, 'model.data'));
  const out = path.join(dst, 'int8.onnx');
  // Convs stay in float (their weights stay external), the Gemm weights are quantized.
  const r = cli('quantize', input, '-o', out, '--mode', 'weight', '--exclude', 'op:Conv');
  assert.equal(r.status, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(dst, 'int8.onnx.data')));
  assert.equal(sha256(path.join(src, 'model.data')), dataBefore);
  const split = writeMnistNpy(dir, 'test', 200);
  const data = await openDataset(split.data, { labels: split.labels });
  const c = compareOutputs(await outputs(fs.readFileSync(MNIST_MODEL), data, 64), await outputs(out, data, 64));
  assert.ok(c.agreement >= 0.97, `agreement ${c.agreement}`);
});

/** The largest |value| of the int8 initializers of a model, and its metadata as a record. */
function int8Model(file: string): { maxAbs: number; metadata: Record<string, string> } {
  const proto = readModelSync(file).proto;
  const int8 = proto.graph!.initializer.filter((t) => t.dataType === DataType.INT8);
  const maxAbs = Math.max(...int8.flatMap((t) => Array.from(tensorValues(t), (v) => Math.abs(Number(v)))));
  return { maxAbs, metadata: Object.fromEntries(proto.metadataProps.map((p) => [p.key, p.value])) };
}

test('--target: 7-bit weights by default (static and dynamic), full int8 for x86-vnni / arm64, recorded in metadata_props', () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 32);
  const run = (name: string, ...args: string[]) => {
    const out = path.join(dir, `${name}.onnx`);
    const r = cli('quantize', MNIST_MODEL, '-o', out, ...args, '--json');
    assert.equal(r.status, 0, r.stderr);
    return { summary: JSON.parse(r.stdout), ...int8Model(out) };
  };
  const staticDefault = run('static', '--mode', 'static', '--calib', calib.data);
  assert.equal(staticDefault.summary.target, 'portable');
  assert.deepEqual(staticDefault.metadata, { 'onnx_lens.quantization_target': 'portable', 'onnx_lens.int8_weight_range': '[-64, 64]' });
  assert.equal(staticDefault.maxAbs, 64, 'symmetric 7-bit: the largest weight of each channel maps to ±64');
  const staticVnni = run('static-vnni', '--mode', 'static', '--calib', calib.data, '--target', 'x86-vnni');
  assert.equal(staticVnni.metadata['onnx_lens.quantization_target'], 'x86-vnni');
  assert.equal(staticVnni.maxAbs, 127);
  const dynamicDefault = run('dynamic', '--mode', 'dynamic', '--exclude', 'op:Conv');
  assert.equal(dynamicDefault.maxAbs, 64);
  assert.equal(dynamicDefault.metadata['onnx_lens.quantization_target'], 'portable');
  const dynamicArm = run('dynamic-arm', '--mode', 'dynamic', '--exclude', 'op:Conv', '--target', 'arm64');
  assert.equal(dynamicArm.maxAbs, 127);
  assert.equal(dynamicArm.metadata['onnx_lens.int8_weight_range'], '[-127, 127]');
  // --reduce-range is the portable target under onnxruntime's name, now for dynamic too.
  assert.equal(run('dynamic-rr', '--mode', 'dynamic', '--exclude', 'op:Conv', '--reduce-range').maxAbs, 64);
  // Weight-only runs float kernels: no target, nothing recorded.
  const weight = run('weight', '--mode', 'weight');
  assert.equal(weight.summary.target, undefined);
  assert.deepEqual(weight.metadata, {});
});

test('bad --target values and combinations: one line on stderr, exit code 1, no output', () => {
  const dir = tempDir();
  const out = path.join(dir, 'x.onnx');
  const cases: [string[], RegExp][] = [
    [['--mode', 'dynamic', '--target', 'avx2'], /--target must be one of portable, x86-vnni, arm64, got 'avx2'/],
    [['--mode', 'dynamic', '--target', ''], /--target must be one of/],
    [['--mode', 'dynamic', '--target', 'x86-vnni', '--reduce-range'], /--reduce-range \(7-bit weights\) contradicts --target x86-vnni/],
    [['--mode', 'weight', '--target', 'portable'], /--target only applies to --mode static and dynamic/],
    [['--mode', 'weight', '--reduce-range'], /--reduce-range only applies to --mode static and dynamic/],
  ];
  for (const [args, message] of cases) {
    const r = cli('quantize', MNIST_MODEL, '-o', out, ...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!fs.existsSync(out));
  }
});

test('quantize --mode static measures 16-bit pair-sum saturation on the calibration data: PaddleOCR classifier, x86-vnni and arm64 saturate, the default target not', async () => {
  const dir = tempDir();
  const calib = path.join(dir, 'calib');
  await writeTextDirectionSet(calib, { count: 16, seed: 2 });
  const cls = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
  const quantize = (target: string, ...more: string[]) => {
    const r = cli('quantize', cls, '-o', path.join(dir, `${target}.onnx`), '--mode', 'static', '--calib', calib,
      '--size', '48x192', '--mean', '0.5', '--std', '0.5', '--target', target, ...more);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  const vnni = JSON.parse(quantize('x86-vnni', '--json'));
  assert.equal(vnni.saturationSamples, 16);
  const did = vnni.saturation.filter((l: { verdict: string }) => l.verdict === 'measured');
  assert.ok(did.length >= 5, `${did.length} layers saturate`);
  for (const l of vnni.saturation) assert.ok(l.pairSums > 0 && l.saturatedPairSums <= l.pairSums && (l.verdict === 'measured') === l.saturatedPairSums > 0);
  assert.match(quantize('x86-vnni'), new RegExp(`\\non 16 calibration samples ${did.length} layers saturate 16-bit pair sums \\(p2o\\.Conv\\.0, .*\\): harmless on the target, x86 with VNNI, but on x86 CPUs without VNNI \\(AVX2\\) onnxruntime clamps those sums and accuracy drops; --target portable avoids it\\nwrote `));
  assert.match(quantize('arm64'), /harmless on the target, ARM64, but on x86 CPUs without VNNI/);
  const portable = JSON.parse(quantize('portable', '--json'));
  assert.deepEqual([portable.saturation, portable.saturationSamples], [[], 0]);
  assert.doesNotMatch(quantize('portable'), /saturate/);
});
