// The data-set flags shared by every command that reads --data or --calib (DESIGN.md "Datasets").
import { Option, type Command } from 'commander';
import { openDataset, type Dataset, type Preprocess } from '../core/eval/datasets';
import { preprocessFrom } from '../core/eval/preprocessOptions';
import { cliOptionName } from '../core/recipe/stepChecks';

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

export const preprocessFromFlags = (flags: DataFlags): Preprocess => preprocessFrom(flags, cliOptionName);
