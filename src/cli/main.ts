// The onnx-lens executable: parses the command line and turns errors into one line and an exit code.
import { CommanderError } from 'commander';
import { OnnxLensError } from '../core/errors';
import { createProgram } from './program';

/** Bad input prints one line naming the file and the problem; only real bugs print a stack. */
function reportError(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof OnnxLensError) {
    process.stderr.write(`onnx-lens: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`onnx-lens: internal error: ${(e as Error)?.stack ?? e}\n`);
  return 70;
}

createProgram().parseAsync(process.argv).then(
  () => { process.exitCode ??= 0; },
  (e) => { process.exitCode = reportError(e); },
);
