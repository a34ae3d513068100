// Tests src/extension/recipe/recipeModels.ts: the recipe's model analysed in the bundled worker (dist/analysisWorker.js,
// built by `node esbuild.mjs`) has the layers `inspect` reports, and is analysed again only when the file changes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { analyzeModel } from '../../../src/core/analysis/analyze';
import { readModelSync } from '../../../src/core/onnx/read';
import { RecipeModels } from '../../../src/extension/recipe/recipeModels';
import { tempDir } from '../../fixtures/tempDir';

const MNIST = path.resolve('test/fixtures/mnist-cnn.onnx');
const WORKER = path.resolve('dist/analysisWorker.js');

test('layers and node labels of the named model, cached by path and modification time', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'net.onnx');
  fs.copyFileSync(MNIST, file);
  const models = new RecipeModels(WORKER);
  const model = await models.get(file);
  const report = analyzeModel(readModelSync(MNIST));
  assert.deepEqual(model.layers.map((l) => [l.name, l.op, l.params, l.zeros]), report.layers.map((l) => [l.name, l.op, l.params, l.zeros]));
  assert.ok(model.nodes.names.length > model.layers.length, 'nodes without weights are listed too');
  assert.equal(await models.get(file), model, 'unchanged file: the cached analysis');
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(file, later, later);
  assert.notEqual(await models.get(file), model, 'a new modification time: analysed again');
  await assert.rejects(models.get(path.join(dir, 'missing.onnx')), { code: 'ENOENT' });
});
