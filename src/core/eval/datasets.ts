// Evaluation and calibration data sets in the forms DESIGN.md "Datasets" defines: a folder of class
// folders of images (ImageFolder convention: class index = sorted folder position, or labels.txt order),
// a flat folder of unlabelled images, or a preprocessed float32 .npy tensor [N, ...] with int64 labels.
import fs from 'node:fs';
import path from 'node:path';
import { DatasetError } from '../errors';
import { decodeImageInto, imageSize, isImageFile, type ImageTransform } from './images';
import { readNpy } from './npy';

export interface Preprocess {
  /** [height, width] */
  size?: [number, number];
  resizeShorter?: number;
  grayscale?: boolean;
  bgr?: boolean;
  layout?: 'nchw' | 'nhwc';
  mean?: number[];
  std?: number[];
}

export interface DatasetOptions {
  /** int64 (or int32) [N] .npy of class indices, for .npy data or a flat image folder */
  labels?: string;
  preprocess?: Preprocess;
  /** the model's input shape (numbers, or strings for symbolic dims); supplies defaults and is checked */
  inputShape?: readonly (number | string)[];
  /** keep at most this many samples, evenly spread over the set (so every class folder is represented) */
  limit?: number;
}

export interface Dataset {
  n: number;
  /** shape of one sample, without the batch dimension */
  sampleShape: number[];
  labels?: Int32Array;
  classNames?: string[];
  /** samples start..start+count−1 as one contiguous [count, ...sampleShape] tensor */
  batch(start: number, count: number): Promise<Float32Array>;
}

export async function openDataset(spec: string, opts: DatasetOptions = {}): Promise<Dataset> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(spec);
  } catch {
    throw new DatasetError(spec, 'data set not found');
  }
  if (stat.isDirectory()) return openImageFolder(spec, opts);
  if (spec.toLowerCase().endsWith('.npy')) return openNpy(spec, opts);
  throw new DatasetError(spec, 'expected a folder of images or a .npy file');
}

// ---------------------------------------------------------------------------------------------------------
// .npy

function openNpy(file: string, opts: DatasetOptions): Dataset {
  const array = readNpy(file);
  if (array.dtype !== 'f4') throw new DatasetError(file, `data must be float32, found '${array.dtype}' (preprocess it into float32 first)`);
  if (array.shape.length < 2) throw new DatasetError(file, `data must be [N, ...] with at least 2 dimensions, found [${array.shape}]`);
  const [total, ...sampleShape] = array.shape;
  checkSampleShape(file, sampleShape, opts.inputShape);
  const labels = opts.labels ? readLabels(opts.labels, total) : undefined;
  const pick = selection(total, opts.limit);
  const data = array.data as Float32Array;
  const size = sampleShape.reduce((a, b) => a * b, 1);
  return {
    n: pick.length,
    sampleShape,
    labels: labels && Int32Array.from(pick, (i) => labels[i]),
    async batch(start, count) {
      checkRange(file, start, count, pick.length);
      const out = new Float32Array(count * size);
      for (let k = 0; k < count; k++) {
        const i = pick[start + k];
        out.set(data.subarray(i * size, (i + 1) * size), k * size);
      }
      return out;
    },
  };
}

function readLabels(file: string, expected: number): Int32Array {
  const array = readNpy(file);
  if (array.dtype !== 'i8' && array.dtype !== 'i4') throw new DatasetError(file, `labels must be int64, found '${array.dtype}'`);
  if (array.shape.length !== 1) throw new DatasetError(file, `labels must be a 1-D array [N], found [${array.shape}]`);
  if (array.shape[0] !== expected) throw new DatasetError(file, `${array.shape[0]} labels for ${expected} samples`);
  const labels = new Int32Array(expected);
  for (let i = 0; i < expected; i++) {
    const v = Number(array.data[i]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new DatasetError(file, `label ${i} is ${v}, not a class index`);
    labels[i] = v;
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------------------
// Image folders

interface ImageList { files: string[]; labels?: Int32Array; classNames?: string[] }

async function openImageFolder(dir: string, opts: DatasetOptions): Promise<Dataset> {
  const list = listImages(dir, opts.labels);
  const pick = selection(list.files.length, opts.limit);
  const files = pick.map((i) => list.files[i]);
  const transform = await resolveTransform(dir, files[0], opts);
  const sampleShape = transform.layout === 'nchw'
    ? [transform.channels, transform.height, transform.width]
    : [transform.height, transform.width, transform.channels];
  checkSampleShape(dir, sampleShape, opts.inputShape);
  const size = transform.channels * transform.height * transform.width;
  return {
    n: files.length,
    sampleShape,
    labels: list.labels && Int32Array.from(pick, (i) => list.labels![i]),
    classNames: list.classNames,
    async batch(start, count) {
      checkRange(dir, start, count, files.length);
      const out = new Float32Array(count * size);
      await Promise.all(Array.from({ length: count }, (_, k) =>
        decodeImageInto(files[start + k], transform, out.subarray(k * size, (k + 1) * size))));
      return out;
    },
  };
}

function listImages(dir: string, labelsFile: string | undefined): ImageList {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const classDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const rootImages = entries.filter((e) => e.isFile() && isImageFile(e.name)).map((e) => e.name).sort();

  if (classDirs.length === 0) {
    if (rootImages.length === 0) throw new DatasetError(dir, 'no PNG or JPEG images found');
    const files = rootImages.map((f) => path.join(dir, f));
    return { files, labels: labelsFile ? readLabels(labelsFile, files.length) : undefined };
  }
  if (rootImages.length > 0) {
    throw new DatasetError(dir, `has both class folders and loose images (${rootImages[0]}); use one form`);
  }
  if (labelsFile) throw new DatasetError(labelsFile, 'labels come from the class folders; --labels is only for .npy data or a flat image folder');

  const classNames = readClassNames(dir) ?? classDirs;
  const files: string[] = [];
  const labels: number[] = [];
  for (const name of classDirs) {
    const index = classNames.indexOf(name);
    if (index < 0) throw new DatasetError(path.join(dir, 'labels.txt'), `does not list the class folder '${name}'`);
    const folder = path.join(dir, name);
    for (const f of fs.readdirSync(folder).filter(isImageFile).sort()) {
      files.push(path.join(folder, f));
      labels.push(index);
    }
  }
  if (files.length === 0) throw new DatasetError(dir, 'no PNG or JPEG images found in its class folders');
  return { files, labels: Int32Array.from(labels), classNames };
}

/** labels.txt: one class name per line, line position = class index. */
function readClassNames(dir: string): string[] | undefined {
  const file = path.join(dir, 'labels.txt');
  if (!fs.existsSync(file)) return undefined;
  const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((s) => s.trim());
  while (names.length && names[names.length - 1] === '') names.pop();
  if (names.length === 0) throw new DatasetError(file, 'is empty');
  return names;
}

/** Layout, channels and size: explicit flags first, then the model's input shape, then the first image. */
async function resolveTransform(dir: string, firstImage: string, opts: DatasetOptions): Promise<ImageTransform> {
  const p = opts.preprocess ?? {};
  const model = modelImageShape(opts.inputShape);
  const layout = p.layout ?? model?.layout ?? 'nchw';
  const channels: 1 | 3 = p.grayscale ? 1 : model?.channels ?? 3;
  let size = p.size;
  if (!size && model?.height && model?.width) size = [model.height, model.width];
  if (!size && p.resizeShorter) size = [p.resizeShorter, p.resizeShorter];
  if (!size) {
    const s = await imageSize(firstImage);
    size = [s.height, s.width];
  }
  const mean = p.mean ?? [0];
  const std = p.std ?? [1];
  for (const [name, values] of [['mean', mean], ['std', std]] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw new DatasetError(dir, `--${name} has ${values.length} values but the images have ${channels} channel(s)`);
    }
  }
  if (std.some((s) => s === 0)) throw new DatasetError(dir, '--std must not be 0');
  if (p.resizeShorter && p.resizeShorter < Math.min(size[0], size[1])) {
    throw new DatasetError(dir, `--resize-shorter ${p.resizeShorter} is smaller than the crop ${size[0]}x${size[1]}`);
  }
  return { height: size[0], width: size[1], channels, resizeShorter: p.resizeShorter, bgr: p.bgr ?? false, layout, mean, std };
}

/**
 * Reads layout, channels and size from a 4-D image input: [N, C, H, W] when dim 1 is 1 or 3,
 * [N, H, W, C] when only the last dim is; symbolic dims give no default.
 */
function modelImageShape(shape: readonly (number | string)[] | undefined):
  { layout: 'nchw' | 'nhwc'; channels?: 1 | 3; height?: number; width?: number } | undefined {
  if (!shape || shape.length !== 4) return undefined;
  const num = (d: number | string) => (typeof d === 'number' && d > 0 ? d : undefined);
  const [, d1, d2, d3] = shape.map(num);
  const isChannels = (d?: number) => d === 1 || d === 3;
  if (isChannels(d3) && !isChannels(d1)) return { layout: 'nhwc', channels: d3 as 1 | 3, height: d1, width: d2 };
  return { layout: 'nchw', channels: isChannels(d1) ? (d1 as 1 | 3) : undefined, height: d2, width: d3 };
}

function checkSampleShape(spec: string, sampleShape: readonly number[], inputShape: DatasetOptions['inputShape']): void {
  if (!inputShape) return;
  const expected = inputShape.slice(1);
  const fits = expected.length === sampleShape.length &&
    expected.every((d, i) => typeof d !== 'number' || d <= 0 || d === sampleShape[i]);
  if (!fits) {
    throw new DatasetError(spec, `samples are [${sampleShape.join(', ')}] but the model input is [${inputShape.join(', ')}]`);
  }
}

function checkRange(spec: string, start: number, count: number, n: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > n) {
    throw new RangeError(`${spec}: batch ${start}+${count} is outside the ${n} samples`);
  }
}

/** Indices of `limit` samples spread evenly over 0..total−1 (all of them without a limit). */
function selection(total: number, limit: number | undefined): number[] {
  const n = limit === undefined ? total : Math.min(total, Math.max(1, Math.floor(limit)));
  return Array.from({ length: n }, (_, k) => Math.floor((k * total) / n));
}
