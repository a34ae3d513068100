// `--progress-fd N`: machine-readable progress for a parent process (the VS Code extension forks the CLI),
// one JSON object per line on file descriptor N, so that stdout keeps the result and stderr the errors alone.
// Every line is `{"type":"progress", "message": "…", "fraction": 0..1, …}` plus command-specific fields.
import fs from 'node:fs';
import { UsageError } from '../core/errors';

export interface ProgressLine {
  message: string;
  /** overall completion, 0..1 */
  fraction: number;
}

/** Writes one line; `T` adds the command's own fields (bench: phase, done, total; apply: step, steps). */
export type ProgressWriter<T extends ProgressLine = ProgressLine & Record<string, unknown>> = (line: T) => void;

/** The value of `--progress-fd` as a descriptor number (3 or above: 0–2 are stdin, stdout and stderr). */
export function progressFd(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const fd = Number(value);
  if (!/^\d+$/.test(value.trim()) || fd < 3) throw new UsageError(undefined, `--progress-fd must be a file descriptor number ≥ 3, got '${value}'`);
  try {
    fs.fstatSync(fd);
  } catch {
    throw new UsageError(undefined, `--progress-fd ${fd}: no such open file descriptor`);
  }
  return fd;
}

/**
 * A writer of progress lines to `fd`. Writes are synchronous (lines are small and few), so nothing is lost
 * when the process exits right after; if the reader went away the lines are dropped, the work goes on.
 */
export function progressFdWriter<T extends ProgressLine = ProgressLine & Record<string, unknown>>(fd: number): ProgressWriter<T> {
  let open = true;
  return (line) => {
    if (!open) return;
    const bytes = Buffer.from(`${JSON.stringify({ type: 'progress', ...line, fraction: clamp01(line.fraction) })}\n`);
    for (let offset = 0; offset < bytes.length && open;) {
      try {
        offset += fs.writeSync(fd, bytes, offset);
      } catch (e) {
        // A non-blocking pipe that is momentarily full: try again; a closed one: stop writing.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') open = false;
      }
    }
  };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, Math.round(x * 1e4) / 1e4)) : 0;
}
