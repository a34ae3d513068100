import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { DatasetError } from '../../../src/core/errors';
import { openDataset } from '../../../src/core/eval/datasets';
import { writeNpy } from '../../../src/core/eval/npy';
import { tempDir } from '../../fixtures/mnist';

/** A 2×2 RGB PNG from four [r, g, b] pixels in row order. */
async function png(file: string, pixels: number[][], width = 2, height = 2, channels: 1 | 3 = 3): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp(Buffer.from(pixels.flat()), { raw: { width, height, channels } }).png().toFile(file);
}

// Pixel values chosen so that p/255 is exact in decimal: 0 → 0, 51 → 0.2, 102 → 0.4, 153 → 0.6, 204 → 0.8, 255 → 1.
const A = [[0, 51, 102], [153, 204, 255], [51, 51, 51], [255, 0, 204]];
const B = [[204, 153, 102], [0, 0, 0], [255, 255, 255], [102, 51, 0]];
const close = (actual: Float32Array, expected: number[]) => {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `index ${i}: ${v} vs ${expected[i]}`));
};

test('class folders: sorted folder order gives the class index; NCHW normalised by ((p/255) − mean) / std', async () => {
  const dir = tempDir();
  await png(path.join(dir, 'dog', 'x.png'), B);
  await png(path.join(dir, 'cat', 'y.png'), A);
  const data = await openDataset(dir, { inputShape: ['N', 3, 2, 2], preprocess: { mean: [0.5, 0.4, 0.2], std: [0.25, 0.2, 0.4] } });
  assert.equal(data.n, 2);
  assert.deepEqual(data.classNames, ['cat', 'dog']);
  assert.deepEqual([...data.labels!], [0, 1]);
  assert.deepEqual(data.sampleShape, [3, 2, 2]);
  // cat/y.png = A. R plane: (0, .6, .2, 1) − .5 / .25; G plane: (.2, .8, .2, 0) − .4 / .2; B plane: (.4, 1, .2, .8) − .2 / .4
  close(await data.batch(0, 1), [-2, 0.4, -1.2, 2, -1, 2, -1, -2, 0.5, 2, 0, 1.5]);
  // both samples in one batch: the second is dog/x.png = B, R plane (.8, 0, 1, .4) → (1.2, −2, 2, −0.4)
  close((await data.batch(0, 2)).subarray(12, 16), [1.2, -2, 2, -0.4]);
});

test('labels.txt fixes the class order', async () => {
  const dir = tempDir();
  await png(path.join(dir, 'dog', 'x.png'), B);
  await png(path.join(dir, 'cat', 'y.png'), A);
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'dog\ncat\nbird\n');
  const data = await openDataset(dir);
  assert.deepEqual(data.classNames, ['dog', 'cat', 'bird']);
  assert.deepEqual([...data.labels!], [1, 0]); // samples still in folder order: cat, dog
  fs.writeFileSync(path.join(dir, 'labels.txt'), 'dog\nbird\n');
  await assert.rejects(openDataset(dir), /labels\.txt: does not list the class folder 'cat'/);
});

test('flat folder: unlabelled, or labelled by --labels in sorted file order; NHWC and BGR', async () => {
  const dir = tempDir();
  await png(path.join(dir, 'b.png'), B);
  await png(path.join(dir, 'a.png'), A);
  const unlabelled = await openDataset(dir, { inputShape: [1, 2, 2, 3] });
  assert.equal(unlabelled.labels, undefined);
  assert.deepEqual(unlabelled.sampleShape, [2, 2, 3]); // NHWC read from the model shape
  close(await unlabelled.batch(0, 1), A.flat().map((p) => p / 255));

  const labels = path.join(dir, 'y.npy');
  writeNpy(labels, new BigInt64Array([7n, 3n]), [2]);
  const bgr = await openDataset(dir, { labels, inputShape: [1, 2, 2, 3], preprocess: { bgr: true } });
  assert.deepEqual([...bgr.labels!], [7, 3]);
  close(await bgr.batch(0, 1), A.flatMap(([r, g, b]) => [b / 255, g / 255, r / 255]));
  close(await bgr.batch(1, 1), B.flatMap(([r, g, b]) => [b / 255, g / 255, r / 255]));
});

test('grayscale: one channel from grey PNGs, and from the model shape [N,1,H,W]', async () => {
  const dir = tempDir();
  await png(path.join(dir, 'g.png'), [[0], [51], [153], [255]], 2, 2, 1);
  const fromModel = await openDataset(dir, { inputShape: ['N', 1, 2, 2], preprocess: { mean: [0.2], std: [0.5] } });
  assert.deepEqual(fromModel.sampleShape, [1, 2, 2]);
  close(await fromModel.batch(0, 1), [-0.4, 0, 0.8, 1.6]);
  const flag = await openDataset(dir, { preprocess: { grayscale: true } });
  assert.deepEqual(flag.sampleShape, [1, 2, 2]);
  // A grey image fed to an RGB model repeats the grey value in the three channels.
  const rgb = await openDataset(dir, { inputShape: ['N', 3, 2, 2] });
  close(await rgb.batch(0, 1), [0, 0.2, 0.6, 1, 0, 0.2, 0.6, 1, 0, 0.2, 0.6, 1]);
});

test('--size resizes; --resize-shorter scales the short side, then centre-crops', async () => {
  const dir = tempDir();
  // 10 rows × 30 columns: columns 0-9 black, 10-19 grey 204, 20-29 white.
  const pixels = Array.from({ length: 300 }, (_, i) => { const x = i % 30; return [x < 10 ? 0 : x < 20 ? 204 : 255]; });
  await png(path.join(dir, 'wide.png'), pixels, 30, 10, 1);
  const same = await openDataset(dir, { preprocess: { grayscale: true, resizeShorter: 10, size: [10, 10] } });
  close(await same.batch(0, 1), new Array(100).fill(0.8));
  // Doubled to 20×60, the centre 20×20 crop is the grey block; its inner columns are untouched by resampling.
  const doubled = await openDataset(dir, { preprocess: { grayscale: true, resizeShorter: 20, size: [20, 20] } });
  assert.deepEqual(doubled.sampleShape, [1, 20, 20]);
  const out = await doubled.batch(0, 1);
  for (let y = 0; y < 20; y++) for (let x = 6; x < 14; x++) assert.ok(Math.abs(out[y * 20 + x] - 0.8) <= 1 / 255, `${x},${y}: ${out[y * 20 + x]}`);
  const resized = await openDataset(dir, { preprocess: { grayscale: true, size: [5, 15] } });
  assert.deepEqual(resized.sampleShape, [1, 5, 15]);
});

test('.npy data with int64 labels; limit keeps an evenly spread subset', async () => {
  const dir = tempDir();
  const x = Float32Array.from({ length: 10 * 4 }, (_, i) => i);
  writeNpy(path.join(dir, 'x.npy'), x, [10, 1, 2, 2]);
  writeNpy(path.join(dir, 'y.npy'), BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i % 3)), [10]);
  const data = await openDataset(path.join(dir, 'x.npy'), { labels: path.join(dir, 'y.npy'), inputShape: ['batch', 1, 2, 2] });
  assert.equal(data.n, 10);
  assert.deepEqual(data.sampleShape, [1, 2, 2]);
  assert.deepEqual([...data.labels!], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  assert.deepEqual([...(await data.batch(2, 2))], [8, 9, 10, 11, 12, 13, 14, 15]);
  await assert.rejects(data.batch(9, 2), RangeError);

  const some = await openDataset(path.join(dir, 'x.npy'), { labels: path.join(dir, 'y.npy'), limit: 4 });
  // samples floor(k·10/4) = 0, 2, 5, 7
  assert.equal(some.n, 4);
  assert.deepEqual([...some.labels!], [0, 2, 2, 1]);
  assert.deepEqual([...(await some.batch(1, 1))], [8, 9, 10, 11]);
});

test('errors name the file and the problem', async () => {
  const dir = tempDir();
  const rejects = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error) => e instanceof DatasetError && re.test(e.message));
  await rejects(openDataset(path.join(dir, 'missing')), /missing: data set not found/);
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.writeFileSync(path.join(dir, 'empty', 'notes.txt'), 'no images here');
  await rejects(openDataset(path.join(dir, 'empty')), /empty: no PNG or JPEG images found/);

  const corrupt = path.join(dir, 'corrupt');
  await png(path.join(corrupt, 'a.png'), A);
  fs.writeFileSync(path.join(corrupt, 'b.png'), Buffer.from('not really a png'));
  const data = await openDataset(corrupt, { inputShape: [1, 3, 2, 2] });
  await rejects(data.batch(0, 2), /b\.png: cannot decode image/);
  const whole = fs.readFileSync(path.join(corrupt, 'a.png'));
  fs.writeFileSync(path.join(corrupt, 'b.png'), whole.subarray(0, whole.length - 20));
  await rejects(data.batch(1, 1), /b\.png: cannot decode image/);

  writeNpy(path.join(dir, 'x.npy'), new Float32Array(3 * 784), [3, 1, 28, 28]);
  writeNpy(path.join(dir, 'y.npy'), new BigInt64Array(2), [2]);
  await rejects(openDataset(path.join(dir, 'x.npy'), { labels: path.join(dir, 'y.npy') }), /y\.npy: 2 labels for 3 samples/);
  await rejects(openDataset(path.join(dir, 'x.npy'), { inputShape: ['N', 3, 48, 192] }),
    /x\.npy: samples are \[1, 28, 28\] but the model input is \[N, 3, 48, 192\]/);
  writeNpy(path.join(dir, 'u8.npy'), new Uint8Array(4), [1, 4]);
  await rejects(openDataset(path.join(dir, 'u8.npy')), /u8\.npy: data must be float32/);
  await rejects(openDataset(corrupt, { inputShape: [1, 3, 2, 2], preprocess: { grayscale: true } }), /samples are \[1, 2, 2\] but the model input is \[1, 3, 2, 2\]/);
  await rejects(openDataset(corrupt, { preprocess: { mean: [0.1, 0.2] } }), /--mean has 2 values but the images have 3 channel/);
  await rejects(openDataset(path.join(dir, 'notes.txt')), /data set not found/);
});

test('JPEG images decode too (uniform colour survives compression within 2 levels)', async () => {
  const dir = tempDir();
  await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 200, g: 100, b: 50 } } }).jpeg({ quality: 95 }).toFile(path.join(dir, 'c.jpg'));
  const data = await openDataset(dir, { inputShape: [1, 3, 16, 16] });
  const x = await data.batch(0, 1);
  [200, 100, 50].forEach((p, c) => {
    for (let i = 0; i < 256; i++) assert.ok(Math.abs(x[c * 256 + i] * 255 - p) <= 2, `channel ${c}: ${x[c * 256 + i] * 255}`);
  });
});
