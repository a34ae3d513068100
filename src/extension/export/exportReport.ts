// Export for Microcontroller without VS Code: the `onnx-lens export` arguments the command's answers make, the CLI's
// `--json` result, and what the command says of it (sizes, and the fit against the onnxLens.device board).
import type { DeviceProfile } from '../../core/device/profiles';
import { formatBytes } from '../../protocol';

import { shapeArgs } from '../editor/inputShapes';

export interface ExportChoices {
  model: string;
  output: string;
  io: 'float' | 'int8';
  /** calibration data: the model is float and is quantized first */
  calib?: string;
  /** also write a C header for TFLite Micro */
  header?: string;
  /** concrete dims for inputs with symbolic ones (`--shape`) */
  shapes?: Record<string, number[]>;
}

/** `onnx-lens export …` for the choices (the CLI contract: export MODEL -o OUT [--calib D] [--c-array H] [--io T] --json). */
export function exportArgs(c: ExportChoices): string[] {
  return ['export', c.model, '-o', c.output, '--io', c.io, ...shapeArgs(c.shapes ?? {}), ...(c.calib ? ['--calib', c.calib] : []), ...(c.header ? ['--c-array', c.header] : []), '--json'];
}

/** The fields of `onnx-lens export --json` the command uses. */
export interface ExportJson {
  onnxBytes: number;
  tfliteBytes: number;
  ops: string[];
  /** the tensor arena estimate, when the CLI gives one */
  arenaBytes?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** The tensor arena estimate of the C header (`cArray.arena.total`, only with --c-array). */
function arenaOf(j: Record<string, unknown>): number | undefined {
  const arena = isObject(j.cArray) && isObject(j.cArray.arena) ? j.cArray.arena.total : undefined;
  return isSize(arena) ? arena : undefined;
}

/** The result printed on stdout, or undefined when it is not an export summary. */
export function parseExportJson(stdout: string): ExportJson | undefined {
  let j: unknown;
  try {
    j = JSON.parse(stdout);
  } catch {
    return undefined;
  }
  if (!isObject(j) || !isSize(j.onnxBytes) || !isSize(j.tfliteBytes)) return undefined;
  const ops = Array.isArray(j.ops) ? j.ops.filter((o): o is string => typeof o === 'string') : [];
  const arenaBytes = arenaOf(j);
  return { onnxBytes: j.onnxBytes, tfliteBytes: j.tfliteBytes, ops, ...(arenaBytes !== undefined ? { arenaBytes } : {}) };
}

/** "model.tflite: 99.1 KB (the ONNX model 113.2 KB, 88 %)". */
export function sizeText(tfliteName: string, r: ExportJson): string {
  const share = r.onnxBytes > 0 ? `, ${Math.round((100 * r.tfliteBytes) / r.onnxBytes)} %` : '';
  return `${tfliteName}: ${formatBytes(r.tfliteBytes)} (the ONNX model ${formatBytes(r.onnxBytes)}${share})`;
}

/** The .tflite in the board's flash and the arena estimate in its RAM: what does not fit and by how much, or how much is used. */
export function deviceFit(r: ExportJson, device: Pick<DeviceProfile, 'name' | 'title' | 'flashBytes' | 'ramBytes'>): { fits: boolean; text: string } {
  const over: string[] = [];
  const used: string[] = [];
  if (device.flashBytes !== null) {
    if (r.tfliteBytes > device.flashBytes) over.push(`the .tflite (${formatBytes(r.tfliteBytes)}) exceeds its ${formatBytes(device.flashBytes)} flash by ${formatBytes(r.tfliteBytes - device.flashBytes)}`);
    else used.push(`flash ${formatBytes(r.tfliteBytes)} of ${formatBytes(device.flashBytes)}`);
  }
  if (r.arenaBytes !== undefined) {
    if (r.arenaBytes > device.ramBytes) over.push(`the tensor arena (~${formatBytes(r.arenaBytes)}) exceeds its ${formatBytes(device.ramBytes)} RAM by ${formatBytes(r.arenaBytes - device.ramBytes)}`);
    else used.push(`arena ~${formatBytes(r.arenaBytes)} of ${formatBytes(device.ramBytes)} RAM`);
  }
  if (over.length) return { fits: false, text: `does not fit the ${device.title}: ${over.join('; ')}` };
  const unknown = r.arenaBytes === undefined ? ' (no arena estimate: RAM not checked)' : '';
  return { fits: true, text: `fits the ${device.title}: ${used.join(', ') || 'no limits to check'}${unknown}` };
}

/** "Resize (up), Sigmoid (sig) and 3 more": the nodes the exporter has no conversion for, for a warning. */
export function nodesText(nodes: readonly { name: string; op: string }[], shown = 4): string {
  const items = nodes.slice(0, shown).map((n) => `${n.op} (${n.name})`);
  if (nodes.length > shown) return `${items.join(', ')} and ${nodes.length - shown} more`;
  return items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : items.join('');
}
