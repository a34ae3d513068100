// The hot-exit backup of an edited document: the current model bytes and the edits that led to them, in one
// file (a magic line, a JSON header with its length, then the model). No vscode import.
import type { EditStep } from './editSteps';

const MAGIC = 'ONNX-LENS-BACKUP 1\n';

export interface Backup { steps: EditStep[]; model: Uint8Array }

export function encodeBackup(b: Backup): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ steps: b.steps }));
  const magic = new TextEncoder().encode(MAGIC);
  const out = new Uint8Array(magic.length + 4 + header.length + b.model.length);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(magic.length, header.length, true);
  out.set(header, magic.length + 4);
  out.set(b.model, magic.length + 4 + header.length);
  return out;
}

/** Reads a backup; a file without the magic line is a plain model (backups written before edits existed). */
export function decodeBackup(bytes: Uint8Array): Backup {
  const magic = new TextEncoder().encode(MAGIC);
  if (bytes.length < magic.length + 4 || !magic.every((c, i) => bytes[i] === c)) return { steps: [], model: bytes };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(magic.length, true);
  const start = magic.length + 4;
  if (start + n > bytes.length) throw new Error('the backup is truncated');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + n))) as { steps?: unknown };
  if (!Array.isArray(header.steps) || !header.steps.every(isEditStep)) throw new Error('the backup lists malformed edits');
  return { steps: header.steps, model: bytes.subarray(start + n) };
}

function isEditStep(v: unknown): v is EditStep {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  if (typeof s.label !== 'string') return false;
  if (s.kind === 'prune' || s.kind === 'quantize') return typeof s.options === 'object' && s.options !== null && (s.calibration === undefined || typeof s.calibration === 'string');
  if (s.kind === 'keepFloat') return Array.isArray(s.layers) && s.layers.every((l) => typeof l === 'string');
  return s.kind === 'revertToOriginal';
}
