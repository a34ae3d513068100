// The onnx-lens command tree: one file per subcommand, each exporting `register(program)`.
import { Command } from 'commander';
import * as apply from './apply';
import * as bench from './bench';
import * as compare from './compare';
import * as demo from './demo';
import * as exportTflite from './export';
import * as fit from './fit';
import * as inspect from './inspect';
import * as plan from './plan';
import * as profile from './profile';
import * as prune from './prune';
import * as quantize from './quantize';
import * as sensitivity from './sensitivity';

/** A fresh program (commander keeps parse state, so the demo builds its own to run subcommands). */
export function createProgram(): Command {
  const program = new Command('onnx-lens')
    .description('See, compress and measure ONNX image classifiers.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const command of [inspect, prune, quantize, apply, bench, sensitivity, profile, plan, compare, fit, exportTflite, demo]) command.register(program);
  return program;
}
