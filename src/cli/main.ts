// The onnx-lens command: one file per subcommand, each exporting `register(program)`.
import { Command, CommanderError } from 'commander';
import { OnnxLensError } from '../core/errors';
import * as inspect from './inspect';
import * as demo from './demo';
import * as prune from './prune';
import * as bench from './bench';
import * as compare from './compare';
import * as quantize from './quantize';

const program = new Command('onnx-lens')
  .description('See, compress and measure ONNX image classifiers.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

for (const command of [inspect, demo, prune, bench, compare, quantize]) command.register(program);

/** Bad input prints one line naming the file and the problem; only real bugs print a stack. */
export function reportError(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof OnnxLensError) {
    process.stderr.write(`onnx-lens: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`onnx-lens: internal error: ${(e as Error)?.stack ?? e}\n`);
  return 70;
}

program.parseAsync(process.argv).then(
  () => { process.exitCode ??= 0; },
  (e) => { process.exitCode = reportError(e); },
);
