// A labelled evaluation set for text-direction classifiers (PaddleOCR's 0°/180° "cls" model): text lines
// rendered by sharp through Pango with the DejaVu fonts, written upright and rotated 180°, each prepared as
// PaddleOCR prepares a text-line crop (resize to 48 px height keeping the aspect, pad right to 192 px).
import fs from 'node:fs';
import path from 'node:path';
import type sharp from 'sharp';
import { seededRandom } from '../random';
import { loadSharp } from './images';

const TEXT_LINE_HEIGHT = 48;
const TEXT_LINE_WIDTH = 192;
/** Class folders in sorted (= class index) order: 0 = 0°, 1 = 180°, as the PaddleOCR classifier outputs them. */
export const TEXT_DIRECTION_CLASSES = ['0_upright', '1_rotated'] as const;

// The faces in Debian's fonts-dejavu-core, so the set renders the same wherever that package is installed.
const FONTS = ['DejaVu Sans', 'DejaVu Sans Bold', 'DejaVu Serif', 'DejaVu Serif Bold', 'DejaVu Sans Mono', 'DejaVu Sans Mono Bold'];

const WORDS = (
  'the of and to in is for on that by this with from at are as be or an have it not was which can will has more ' +
  'data model image layer input output result value total price order number account report page section table ' +
  'invoice receipt payment amount balance customer address street city station market office company service ' +
  'water light power green yellow orange purple morning evening weekend monday friday january october summer ' +
  'project manager engineer network server system program version update download install settings window ' +
  'quantity discount delivery shipping tracking reference document signature approved pending complete'
).split(' ');

export interface TextDirectionSetOptions {
  /** number of images; half upright, half rotated (each text line appears once in each class) */
  count?: number;
  seed?: number;
}

/** Writes `dir/0_upright/*.png` and `dir/1_rotated/*.png`; returns the number of images written. */
export async function writeTextDirectionSet(dir: string, opts: TextDirectionSetOptions = {}): Promise<number> {
  const lines = Math.ceil((opts.count ?? 400) / 2);
  const seed = opts.seed ?? 1;
  for (const c of TEXT_DIRECTION_CLASSES) fs.mkdirSync(path.join(dir, c), { recursive: true });
  // A few lines at a time: libvips parallelises inside each image, and memory stays small.
  const parallel = 4;
  for (let start = 0; start < lines; start += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, lines - start) }, async (_, k) => {
      const i = start + k;
      const line = await renderTextLine(seededRandom(seed * 1_000_003 + i));
      const name = `${String(i).padStart(5, '0')}.png`;
      await Promise.all([
        toCrop(line, false).toFile(path.join(dir, TEXT_DIRECTION_CLASSES[0], name)),
        toCrop(line, true).toFile(path.join(dir, TEXT_DIRECTION_CLASSES[1], name)),
      ]);
    }));
  }
  return lines * 2;
}

interface TextLine { pixels: Buffer; width: number; height: number }

/** One text line on a plain background: random words, face, size, margins, grey levels and a little noise. */
async function renderTextLine(rand: () => number): Promise<TextLine> {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const words = Array.from({ length: int(1, 4) }, () => {
    const r = rand();
    if (r < 0.12) return String(int(1, 99999));
    const w = pick(WORDS);
    return r < 0.3 ? w[0].toUpperCase() + w.slice(1) : r < 0.36 ? w.toUpperCase() : w;
  });
  const text = words.join(' ').replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const { data: mask, info } = await loadSharp()({ text: { text, font: `${pick(FONTS)} ${int(14, 30)}`, dpi: 72 } })
    .extractChannel(0).raw().toBuffer({ resolveWithObject: true });

  const [top, bottom, left, right] = [int(0, 4), int(0, 4), int(0, 8), int(0, 8)];
  const width = info.width + left + right;
  const height = info.height + top + bottom;
  const dark = int(0, 90);
  const light = int(165, 255);
  const inverted = rand() < 0.15;
  const [bg, fg] = inverted ? [dark, light] : [light, dark];
  const noise = int(0, 10);
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const mx = x - left;
      const my = y - top;
      const ink = mx >= 0 && my >= 0 && mx < info.width && my < info.height ? mask[my * info.width + mx] / 255 : 0;
      const v = bg + (fg - bg) * ink + (rand() * 2 - 1) * noise;
      pixels.fill(Math.max(0, Math.min(255, Math.round(v))), (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return { pixels, width, height };
}

/** The classifier's view of a crop: (rotated,) resized to 48 px height, right-padded with mid grey to 192 px. */
function toCrop(line: TextLine, rotate180: boolean): sharp.Sharp {
  const scaledWidth = Math.min(TEXT_LINE_WIDTH, Math.ceil((TEXT_LINE_HEIGHT * line.width) / line.height));
  let img = loadSharp()(line.pixels, { raw: { width: line.width, height: line.height, channels: 3 } });
  if (rotate180) img = img.rotate(180);
  // PaddleOCR pads after normalising with zeros, i.e. with the grey that normalises to 0.
  return img.resize(scaledWidth, TEXT_LINE_HEIGHT, { fit: 'fill' })
    .extend({ right: TEXT_LINE_WIDTH - scaledWidth, background: { r: 128, g: 128, b: 128 } })
    .png();
}
