// Image decoding and preprocessing with sharp (libvips): resize or resize-shorter + centre crop (as torchvision's
// Resize/CenterCrop, resampled with sharp's default Lanczos-3), channel order, layout, and ((p/255) − mean) / std.
import path from 'node:path';
import type sharp from 'sharp';
import { DatasetError } from '../errors';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** sharp loads libvips when required: only commands that read images load it, on first use. */
export function loadSharp(): typeof sharp {
  return require('sharp') as typeof sharp;
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()) && !name.startsWith('.');
}

/** Everything needed to turn one image file into one sample, resolved (no defaults left to guess). */
export interface ImageTransform {
  height: number;
  width: number;
  channels: 1 | 3;
  /** when set, resize so the shorter side is this long, then centre-crop to height × width */
  resizeShorter?: number;
  bgr: boolean;
  layout: 'nchw' | 'nhwc';
  mean: number[];
  std: number[];
}

/** Writes the preprocessed image into `out` (height·width·channels floats) in the transform's layout. */
export async function decodeImageInto(file: string, t: ImageTransform, out: Float32Array): Promise<void> {
  let pixels: Buffer;
  let info: sharp.OutputInfo;
  try {
    // failOn 'error': truncated or corrupt files fail, files that only raise decoder warnings load (as in PIL).
    let img = loadSharp()(file, { failOn: 'error' });
    if (t.resizeShorter) {
      const meta = await img.metadata();
      const scale = t.resizeShorter / Math.min(meta.width, meta.height);
      const rw = Math.max(t.width, Math.round(meta.width * scale));
      const rh = Math.max(t.height, Math.round(meta.height * scale));
      img = img.resize(rw, rh, { fit: 'fill' })
        .extract({ left: Math.round((rw - t.width) / 2), top: Math.round((rh - t.height) / 2), width: t.width, height: t.height });
    } else {
      img = img.resize(t.width, t.height, { fit: 'fill' });
    }
    img = img.removeAlpha();
    img = t.channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    ({ data: pixels, info } = await img.raw().toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new DatasetError(file, `cannot decode image: ${(e as Error).message}`);
  }
  if (info.channels !== t.channels || info.width !== t.width || info.height !== t.height) {
    throw new DatasetError(file, `decoded to ${info.width}x${info.height}x${info.channels}, expected ${t.width}x${t.height}x${t.channels}`);
  }
  normalizeInto(pixels, t, out);
}

/** HWC uint8 (RGB or grey) → normalised floats in the transform's channel order and layout. */
function normalizeInto(pixels: Uint8Array, t: ImageTransform, out: Float32Array): void {
  const { height, width, channels } = t;
  const plane = height * width;
  for (let c = 0; c < channels; c++) {
    const src = t.bgr && channels === 3 ? 2 - c : c;
    const mean = t.mean[t.mean.length === 1 ? 0 : c];
    const std = t.std[t.std.length === 1 ? 0 : c];
    for (let i = 0; i < plane; i++) {
      const value = (pixels[i * channels + src] / 255 - mean) / std;
      out[t.layout === 'nchw' ? c * plane + i : i * channels + c] = value;
    }
  }
}

/** Pixel size of an image file from its header (used when neither the flags nor the model fix the size). */
export async function imageSize(file: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await loadSharp()(file).metadata();
    return { width: meta.width, height: meta.height };
  } catch (e) {
    throw new DatasetError(file, `cannot decode image: ${(e as Error).message}`);
  }
}
