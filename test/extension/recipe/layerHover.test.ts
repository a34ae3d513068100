// Tests src/extension/recipe/layerHover.ts: the Markdown of a selector hover, with hand-computed numbers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LayerStats } from '../../../src/core/analysis/report';
import { selectorHover } from '../../../src/extension/recipe/layerHover';
import { matchSelector } from '../../../src/extension/recipe/layerMatch';
import { CONV1, MODEL } from './fakeModel';

const HEADER = '| Layer | Op | Weight shape | Params | Zeros | Sparsity | Bits | Scheme | MACs |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |';

test('one layer: its statistics in one table row', () => {
  // conv1: 8·3·3·3 = 216 weights + 8 biases = 224 params, 108 zeros → 48.2 %, 216·256 = 55,296 MACs
  assert.equal(selectorHover('conv1', matchSelector('conv1', MODEL), 'net.onnx'),
    `**\`conv1\`** · Conv in \`net.onnx\`\n\n${HEADER}\n| \`conv1\` | Conv | 8×3×3×3 | 224 | 108 | 48.2% | 32 | float | 55.3K |`);
  const q = selectorHover('name:/blk/conv2', matchSelector('name:/blk/conv2', MODEL), 'net.onnx');
  assert.match(q, /\| `\/blk\/conv2` \| Conv \| 16×8×3×3 \| 1,168 \| 0 \| 0\.0% \| 8 \| qdq per-channel \| 73\.7K \|$/);
});

test('a glob: count and totals, then the rows', () => {
  const md = selectorHover('op:Conv', matchSelector('op:Conv', MODEL), 'net.onnx');
  // 224 + 1,168 = 1,392 params; 108 zeros → 7.8 %; 55,296 + 73,728 = 129,024 MACs
  assert.equal(md.split('\n')[0], '**`op:Conv`** matches 2 layers of `net.onnx` · 1,392 params · 108 zeros (7.8% sparsity) · 129K MACs');
  assert.equal(md.split('\n').filter((l) => l.startsWith('| `')).length, 2);
});

test('many layers: the first eight rows and how many more; unknown MACs shown as such', () => {
  const layers: LayerStats[] = Array.from({ length: 11 }, (_, i) => ({ ...CONV1, name: `c${i}`, macs: i === 3 ? 0 : CONV1.macs }));
  const md = selectorHover('c*', { layers, nodes: 11 }, 'net.onnx');
  assert.equal(md.split('\n').filter((l) => l.startsWith('| `')).length, 8);
  assert.ok(md.endsWith('\n\n… and 3 more'));
  assert.match(md, /· ≥ 553K MACs/, '10 known layers · 55,296 = 552,960');
  assert.match(md, /\| `c3` \| Conv \| 8×3×3×3 \| 224 \| 108 \| 48\.2% \| 32 \| float \| \? \|/);
});

test('nothing, or only nodes without weights; a | in a name does not break the table', () => {
  assert.equal(selectorHover('conv9', { layers: [], nodes: 0 }, 'net.onnx'), '`conv9` matches no node of `net.onnx`');
  assert.equal(selectorHover('relu1', { layers: [], nodes: 1 }, 'net.onnx'), '`relu1` matches 1 node of `net.onnx` without weights (nothing to prune or quantize)');
  assert.match(selectorHover('a|b', { layers: [{ ...CONV1, name: 'a|b' }], nodes: 1 }, 'n.onnx'), /\| `a\\\|b` \| Conv/);
});
