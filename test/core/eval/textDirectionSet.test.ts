import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { openDataset } from '../../../src/core/eval/datasets';
import { topKAccuracy } from '../../../src/core/eval/metrics';
import { openSession, runModel } from '../../../src/core/eval/runner';
import { TEXT_DIRECTION_CLASSES, writeTextDirectionSet } from '../../../src/core/eval/textDirectionSet';
import { tempDir } from '../../fixtures/mnist';
import { fromRoot } from '../../fixtures/repoRoot';

const CLS_MODEL = fromRoot('node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

test('the real PaddleOCR direction classifier (fp32) reads the rendered set at ≥ 95 % top-1', async () => {
  const dir = tempDir();
  const t0 = performance.now();
  assert.equal(await writeTextDirectionSet(dir, { count: 400 }), 400);
  const seconds = (performance.now() - t0) / 1000;
  for (const c of TEXT_DIRECTION_CLASSES) assert.equal(fs.readdirSync(path.join(dir, c)).length, 200);
  const meta = await sharp(path.join(dir, '1_rotated', '00000.png')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [192, 48, 3]);

  const model = await openSession(CLS_MODEL);
  const data = await openDataset(dir, { inputShape: model.inputShape, preprocess: { size: [48, 192], mean: [0.5], std: [0.5] } });
  assert.deepEqual([...new Set(data.labels)], [0, 1]);
  const top1 = topKAccuracy(await runModel(model, data), data.labels!, 1);
  console.log(`text-direction set: 400 images in ${seconds.toFixed(1)} s, PaddleOCR cls fp32 top-1 ${(top1 * 100).toFixed(2)} %`);
  assert.ok(top1 >= 0.95, `top-1 ${top1}`);
});

test('the same seed renders the same images', async () => {
  const [a, b] = [tempDir(), tempDir()];
  await writeTextDirectionSet(a, { count: 6, seed: 7 });
  await writeTextDirectionSet(b, { count: 6, seed: 7 });
  for (const c of TEXT_DIRECTION_CLASSES) {
    for (const f of fs.readdirSync(path.join(a, c))) assert.deepEqual(fs.readFileSync(path.join(a, c, f)), fs.readFileSync(path.join(b, c, f)));
  }
});
