// Where a command that writes a model (prune, quantize) may write it: never over the input or its external data,
// into a folder that exists, with the input's external-data tensors moved next to the output.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors';
import { externalRef, isExternal } from '../core/onnx/externalData';
import type { ModelProto } from '../core/onnx/proto';
import { forEachGraph, type Model } from '../core/onnx/read';
import { writeModel } from '../core/onnx/write';

/** The same path after links, or two names (hard links) of one existing file. */
function sameFile(a: string, b: string): boolean {
  const real = (p: string) => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };
  if (real(a) === real(b)) return true;
  try {
    const [sa, sb] = [fs.statSync(a), fs.statSync(b)];
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Checks that need no model: run them before any slow work. */
export function checkOutputPath(file: string, output: string | undefined): asserts output is string {
  if (!output) throw new UsageError(file, 'missing -o OUT');
  if (sameFile(output, file)) throw new UsageError(file, 'the output would overwrite the input model; choose another -o');
  if (!fs.statSync(path.dirname(path.resolve(output)), { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(output, 'the output folder does not exist');
}

/**
 * Where the output's external data goes: tensors the input kept in external data are written to `OUT.data`
 * next to the output (a reference to the input's folder would break when the output lives elsewhere).
 * Undefined when the input has none. Refuses targets that would replace one of the input's data files.
 */
export function outputDataLocation(model: Model, file: string, output: string): string | undefined {
  const inputData = new Set<string>();
  const dir = model.dir ?? path.dirname(path.resolve(file));
  forEachGraph(model.proto.graph!, (g) => { for (const t of g.initializer.filter(isExternal)) inputData.add(path.join(dir, externalRef(t, file).location)); });
  if (inputData.size === 0) return undefined;
  const location = `${path.basename(output)}.data`;
  for (const target of [output, path.join(path.dirname(path.resolve(output)), location)]) {
    if ([...inputData].some((d) => sameFile(d, target))) throw new UsageError(file, `writing ${target} would overwrite the input's external data; choose another -o`);
  }
  return location;
}

/** Writes atomically (see writeModel); a failing write is one line naming the output. */
export function writeOutput(proto: ModelProto, output: string, model: Model, dataLocation: string | undefined): void {
  try {
    writeModel(proto, output, { source: model, ...(dataLocation ? { externalData: { location: dataLocation } } : {}) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    throw new UsageError(output, `cannot write the output (${code})`);
  }
}

/** A positive integer flag, or `fallback` when absent. */
export function positiveInt(text: string | undefined, flag: string, fallback: number): number;
export function positiveInt(text: string | undefined, flag: string): number | undefined;
export function positiveInt(text: string | undefined, flag: string, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(undefined, `${flag} must be a positive integer, got '${text}'`);
  return v;
}
