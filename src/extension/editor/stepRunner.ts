// Runs one edit step in a child process: `onnx-lens apply` (dist/cli.js) on a one-step recipe. Calibration,
// reconstruction and bias correction run onnxruntime, whose native crash would take the extension host down
// with it if it ran in a worker thread. Progress arrives as JSON lines on fd 3; an AbortSignal stops the child
// (SIGTERM) and nothing is kept. No vscode import.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { recipeYaml, type EditStep } from './editSteps';

export interface StepProgress { step: number; steps: number; message: string; fraction?: number }

export interface RunOptions {
  /** dist/cli.js */
  cli: string;
  signal?: AbortSignal;
  onProgress?: (p: StepProgress) => void;
  /** epoch ms of the step's phases (input written, child exited), for bench/editRepaint.mjs */
  marks?: Record<string, number>;
}

/** An edit that failed: `message` is the CLI's one line. */
export class StepFailed extends Error {}

export class StepCancelled extends Error {
  constructor() { super('cancelled'); }
}

/** The model after `step`, computed from `model` by the CLI in a child process. */
export async function runStep(model: Uint8Array, step: Extract<EditStep, { kind: 'prune' | 'quantize' }>, opts: RunOptions): Promise<Uint8Array> {
  if (opts.signal?.aborted) throw new StepCancelled();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onnx-lens-edit-'));
  try {
    const input = path.join(dir, 'model.onnx');
    const output = path.join(dir, 'out.onnx');
    const recipe = path.join(dir, 'edit.onnxlens.yaml');
    await fs.writeFile(input, model);
    await fs.writeFile(recipe, recipeYaml([step], input, recipe));
    if (opts.marks) opts.marks.stepWritten = Date.now();
    await runCli(opts.cli, ['apply', recipe, '-o', output, '--json', '--progress-fd', '3'], opts);
    if (opts.marks) opts.marks.stepChildExited = Date.now();
    return new Uint8Array(await fs.readFile(output));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function runCli(cli: string, args: string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    // process.execPath is Electron in desktop VS Code: run it as plain Node.
    const child = spawn(process.execPath, [cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    let stdout = '', stderr = '', progressBuf = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d; });
    child.stderr!.on('data', (d: Buffer) => { stderr += d; });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (d: Buffer) => {
      progressBuf += d;
      let nl: number;
      while ((nl = progressBuf.indexOf('\n')) >= 0) {
        const line = progressBuf.slice(0, nl);
        progressBuf = progressBuf.slice(nl + 1);
        try {
          const p = JSON.parse(line);
          if (p?.type === 'progress') opts.onProgress?.({ step: p.step, steps: p.steps, message: String(p.message ?? ''), fraction: typeof p.fraction === 'number' ? p.fraction : undefined });
        } catch { /* a partial or foreign line: progress is cosmetic */ }
      }
    });
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => { opts.signal?.removeEventListener('abort', onAbort); reject(new StepFailed(`cannot start the CLI: ${e.message}`)); });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.signal?.aborted) return reject(new StepCancelled());
      if (code === 0) return resolve(stdout);
      const line = stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop();
      reject(new StepFailed(line ?? (signal ? `the CLI was killed (${signal})` : `the CLI exited with code ${code}`)));
    });
  });
}
