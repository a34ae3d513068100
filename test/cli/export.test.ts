import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Interpreter } from 'node-tflite';
import { graph, model, node, valueInfo } from '../../src/core/onnx/build';
import { DataType } from '../../src/core/onnx/dtypes';
import { makeTensor } from '../../src/core/onnx/tensor';
import { writeModel } from '../../src/core/onnx/write';
import { cli } from '../fixtures/cli';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';

test('export --io int8 --json and the default --io float: the quantized MNIST CNN as a .tflite that TFLite loads, with its int8 edges reported', () => {
  const dir = tempDir();
  const calib = writeMnistNpy(dir, 'calib', 64);
  const int8 = path.join(dir, 'int8.onnx');
  const q = cli('quantize', MNIST_MODEL, '-o', int8, '--mode', 'static', '--target', 'portable', '--calib', calib.data);
  assert.equal(q.status, 0, q.stderr);
  const out = path.join(dir, 'mnist.tflite');
  const r = cli('export', int8, '-o', out, '--io', 'int8', '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.tfliteBytes, fs.statSync(out).size);
  assert.deepEqual(s.inputs.map((t: { shape: number[] }) => t.shape), [[1, 28, 28, 1]]);
  assert.ok(s.inputs[0].zeroPoint >= -128 && s.inputs[0].zeroPoint <= 127 && s.inputs[0].scale > 0);
  assert.deepEqual(s.outputs.map((t: { shape: number[] }) => t.shape), [[1, 10]]);
  assert.ok(s.ops.includes('CONV_2D') && s.ops.includes('DEPTHWISE_CONV_2D') && s.ops.includes('FULLY_CONNECTED'));
  console.log(`sizes: fp32 ONNX ${fs.statSync(MNIST_MODEL).size} B, int8 ONNX ${s.onnxBytes} B, .tflite ${s.tfliteBytes} B`);

  const interpreter = new Interpreter(new Uint8Array(fs.readFileSync(out)));
  interpreter.allocateTensors();
  assert.equal(interpreter.inputs[0].type, 'Int8');
  assert.deepEqual(interpreter.inputs[0].dims, [1, 28, 28, 1]);
  assert.equal(interpreter.outputs[0].type, 'Int8');

  const text = cli('export', int8, '-o', path.join(dir, 'text.tflite'), '--io', 'int8');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^input  input \[1,28,28,1\] int8, scale [\d.e-]+, zero point -?\d+$/m);
  assert.match(text.stdout, /^output logits \[1,10\] int8, scale [\d.e-]+, zero point -?\d+$/m);

  // The default --io float: float32 NHWC in, float32 out, QUANTIZE/DEQUANTIZE at the edges.
  const floatOut = path.join(dir, 'float.tflite');
  const f = cli('export', int8, '-o', floatOut);
  assert.equal(f.status, 0, f.stderr);
  assert.match(f.stdout, /^input  input \[1,28,28,1\] float32 \(int8 inside\), scale [\d.e-]+, zero point -?\d+$/m);
  const floatModel = new Interpreter(new Uint8Array(fs.readFileSync(floatOut)));
  floatModel.allocateTensors();
  assert.deepEqual([floatModel.inputs[0].type, floatModel.inputs[0].dims, floatModel.outputs[0].type], ['Float32', [1, 28, 28, 1], 'Float32']);
});

test('export: an unsupported op, a float model and a missing output folder are one line, exit 1, nothing written', () => {
  const dir = tempDir();
  const sine = path.join(dir, 'sine.onnx');
  writeModel(model(graph({
    nodes: [node('QuantizeLinear', ['x', 's'], ['q']), node('DequantizeLinear', ['q', 's'], ['d']), node('Sin', ['d'], ['y'], {}, 'the_sine')],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 4])], outputs: [valueInfo('y', DataType.FLOAT, [1, 4])],
    initializers: [makeTensor('s', DataType.FLOAT, [], [0.1])],
  }), { opset: 13 }), sine);
  const out = path.join(dir, 'out.tflite');
  const cases: [string[], RegExp][] = [
    [[sine, '-o', out, '--io', 'int8'], /sine\.onnx: the_sine: Sin cannot be exported to TFLite yet/],
    [[MNIST_MODEL, '-o', out, '--io', 'int8'], /must go straight into one QuantizeLinear/],
    [[sine, '-o', path.join(dir, 'missing', 'out.tflite'), '--io', 'int8'], /the output folder does not exist/],
  ];
  for (const [args, message] of cases) {
    const r = cli('export', ...args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f !== 'sine.onnx'), [], 'nothing written');
  }
});
