// The workspace of the benchmark e2e tests: the MNIST CNN, its weight-only int8 copy, a 95 %-pruned copy (no
// recovery) and `samples` test digits as .npy, with a tasks.json of `onnx-lens` bench tasks against model.onnx.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { MNIST_MODEL, tempDir, writeMnistNpy } from '../fixtures/mnist';
import type { VsCode } from './harness';

export const cli = (...args: string[]) => execFileSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * The MNIST CNN as model.onnx and `samples` test digits as test_x.npy / test_y.npy; with `calibration`, that many
 * calibration digits (a split of their own) as calib_x.npy.
 */
export function mnistWorkspace(samples: number, calibration = 0): Record<string, { copy: string }> {
  const dir = tempDir();
  const split = writeMnistNpy(dir, 'test', samples);
  const files: Record<string, { copy: string }> = { 'model.onnx': { copy: MNIST_MODEL }, 'test_x.npy': { copy: split.data }, 'test_y.npy': { copy: split.labels } };
  if (calibration) files['calib_x.npy'] = { copy: writeMnistNpy(dir, 'calib', calibration).data };
  return files;
}

/** `tasks`: label → the model to benchmark and other task properties (`runs`, `budget`, …). */
export function benchWorkspace(samples: number, tasks: Record<string, { model: string } & Record<string, unknown>>): Record<string, { copy: string } | string> {
  const dir = tempDir();
  const int8 = path.join(dir, 'model.int8.onnx');
  const pruned = path.join(dir, 'model.pruned95.onnx');
  cli('quantize', MNIST_MODEL, '-o', int8, '--mode', 'weight');
  cli('prune', MNIST_MODEL, '-o', pruned, '--sparsity', '0.95');
  const taskList = Object.entries(tasks).map(([label, more]) => ({
    label, type: 'onnx-lens', command: 'bench', baseline: 'model.onnx', data: 'test_x.npy', labels: 'test_y.npy', runs: 10, problemMatcher: [], ...more,
  }));
  return {
    ...mnistWorkspace(samples),
    'model.int8.onnx': { copy: int8 },
    'model.pruned95.onnx': { copy: pruned },
    '.vscode/tasks.json': JSON.stringify({ version: '2.0.0', tasks: taskList }, null, 2),
  };
}

/** "Tasks: Run Task", then the tasks.json task labelled `label`. */
export async function runTask(vscode: VsCode, label: string): Promise<void> {
  await vscode.runCommand('Tasks: Run Task');
  const input = vscode.page.locator('.quick-input-widget input.input');
  await input.fill(label);
  await vscode.page.locator('.quick-input-list .monaco-list-row', { has: vscode.page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first().click({ timeout: 15_000 });
}
