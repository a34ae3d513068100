// The data-set flags shared by every command that reads --data or --calib (DESIGN.md "Datasets").
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors';
import { openDataset, type Dataset, type Preprocess } from '../core/eval/datasets';
import { positiveInt } from './modelOutput';

export interface DataFlags {
  size?: string;
  resizeShorter?: string;
  grayscale?: boolean;
  bgr?: boolean;
  layout?: 'nchw' | 'nhwc';
  mean?: string;
  std?: string;
  labels?: string;
}

export function addDataOptions(cmd: Command): Command {
  return cmd
    .option('--size <HxW>', 'resize images to H×W (default: the model input size)')
    .option('--resize-shorter <N>', 'resize the shorter image side to N, then centre-crop to --size')
    .option('--grayscale', 'feed one grey channel')
    .option('--bgr', 'feed channels in BGR order')
    .addOption(new Option('--layout <layout>', 'tensor layout (default: from the model input shape)').choices(['nchw', 'nhwc']))
    .option('--mean <m>', 'per-channel mean after scaling pixels to 0..1: m or m,m,m (default 0)')
    .option('--std <s>', 'per-channel std after scaling pixels to 0..1: s or s,s,s (default 1)')
    .option('--labels <Y.npy>', 'int64 [N] class labels for .npy data or a flat image folder');
}

/** Opens `spec` with the preprocessing the flags describe; `inputShape` supplies defaults and is checked. */
export function datasetFromOptions(spec: string, flags: DataFlags, inputShape?: readonly (number | string)[], limit?: number): Promise<Dataset> {
  return openDataset(spec, { labels: flags.labels, preprocess: preprocessFromFlags(flags), inputShape, limit });
}

export function preprocessFromFlags(flags: DataFlags): Preprocess {
  const p: Preprocess = {};
  if (flags.size !== undefined) {
    const m = /^(\d+)(?:[xX](\d+))?$/.exec(flags.size.trim());
    if (!m || Number(m[1]) === 0 || Number(m[2] ?? m[1]) === 0) throw new UsageError(undefined, `--size must be HxW or N, got '${flags.size}'`);
    p.size = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  if (flags.resizeShorter !== undefined) p.resizeShorter = positiveInt(flags.resizeShorter, '--resize-shorter');
  if (flags.grayscale) p.grayscale = true;
  if (flags.bgr) p.bgr = true;
  if (flags.layout) p.layout = flags.layout;
  if (flags.mean !== undefined) p.mean = numberList('--mean', flags.mean);
  if (flags.std !== undefined) p.std = numberList('--std', flags.std);
  return p;
}

function numberList(flag: string, text: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v)) || (values.length !== 1 && values.length !== 3)) {
    throw new UsageError(undefined, `${flag} must be one number or three comma-separated numbers, got '${text}'`);
  }
  return values;
}
