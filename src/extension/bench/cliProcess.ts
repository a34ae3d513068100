// The forked `onnx-lens` of a task: its own process, so that an onnxruntime crash cannot take the extension host
// down. Reads the result (one JSON object) from stdout, progress (JSON lines) from descriptor 3, and keeps the last
// stderr line for the error message. Stopping it sends SIGTERM, then SIGKILL, so it is gone within a second.
import { spawn } from 'node:child_process';

export interface ProgressEvent {
  type: 'progress';
  message: string;
  fraction: number;
  phase?: string;
  done?: number;
  total?: number;
  [field: string]: unknown;
}

export type CliOutcome =
  | { kind: 'done'; stdout: string; stderr: string }
  | { kind: 'failed'; code: number | null; signal: NodeJS.Signals | null; lastStderrLine: string; stderr: string }
  | { kind: 'stopped' };

export interface CliRun {
  readonly pid: number | undefined;
  readonly outcome: Promise<CliOutcome>;
  /** SIGTERM now, SIGKILL after `graceMs`; resolves once the process is gone */
  stop(graceMs?: number): Promise<void>;
}

export interface CliRunOptions {
  cwd?: string;
  onProgress?: (p: ProgressEvent) => void;
  onStderrLine?: (line: string) => void;
}

/** Runs `node cliScript ...args` with the Node (or Electron as Node) that runs this code. */
export function runCli(cliScript: string, args: readonly string[], opts: CliRunOptions = {}): CliRun {
  const child = spawn(process.execPath, [cliScript, ...args], {
    cwd: opts.cwd,
    // Inside VS Code desktop process.execPath is Electron: run it as plain Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let stopping = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  lines(child.stderr!, (line) => {
    stderr += `${line}\n`;
    opts.onStderrLine?.(line);
  });
  lines(child.stdio[3] as NodeJS.ReadableStream, (line) => {
    try {
      const p = JSON.parse(line) as ProgressEvent;
      if (p?.type === 'progress') opts.onProgress?.(p);
    } catch { /* not a progress line: ignore */ }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const outcome = exited.then(({ code, signal, error }): CliOutcome => {
    if (stopping) return { kind: 'stopped' };
    if (!error && code === 0) return { kind: 'done', stdout, stderr };
    const last = error ? `cannot start ${process.execPath}: ${error.message}` : stderr.trimEnd().split('\n').filter(Boolean).at(-1) ?? '';
    return { kind: 'failed', code, signal, lastStderrLine: last, stderr };
  });
  return {
    pid: child.pid,
    outcome,
    async stop(graceMs = 500) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Calls `onLine` for each complete line of a stream (and the unterminated rest at its end). */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    buffer += d;
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, i).replace(/\r$/, ''));
      buffer = buffer.slice(i + 1);
    }
  });
  stream.on('end', () => { if (buffer) onLine(buffer); buffer = ''; });
}
