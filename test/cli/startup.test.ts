// onnxruntime-node and sharp load native libraries when required: commands that neither run a model nor read
// images must not load them (the start-up figure is in bench/README.md; this checks what loads, not time).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI } from '../fixtures/cli';
import { MNIST_MODEL, writeMnistNpy } from '../fixtures/mnist';
import { fromRoot } from '../fixtures/repoRoot';
import { tempDir } from '../fixtures/tempDir';

const dir = tempDir();
const preload = path.join(dir, 'listModules.cjs');
fs.writeFileSync(preload, `process.on('exit', () => require('fs').writeSync(2, '\\nmodules ' + JSON.stringify(Object.keys(require.cache))));\n`);

/** The packages of every module `onnx-lens ...args` loaded (read from require.cache at exit). */
function loadedPackages(...args: string[]): Set<string> {
  const r = spawnSync(process.execPath, ['--require', preload, CLI, ...args], { encoding: 'utf8', cwd: fromRoot() });
  assert.equal(r.status, 0, r.stderr);
  const files = JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('\nmodules ') + 9)) as string[];
  return new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((p) => p !== undefined));
}

test('--help and inspect load neither onnxruntime-node nor sharp; bench loads onnxruntime-node', () => {
  for (const args of [['--help'], ['inspect', MNIST_MODEL, '--json']]) {
    const loaded = loadedPackages(...args);
    assert.ok(!loaded.has('onnxruntime-node') && !loaded.has('sharp'), `${args.join(' ')} loaded ${[...loaded].join(', ')}`);
  }
  const split = writeMnistNpy(dir, 'test', 8);
  assert.ok(loadedPackages('bench', MNIST_MODEL, '--data', split.data, '--json').has('onnxruntime-node'), 'the check sees onnxruntime-node when it loads');
});
