// Device fit in the Problems panel (DESIGN.md "Edge-device fit"): an Error on the model when it does not fit the
// device, naming what overflows by how much; a Warning when the fit cannot be decided; nothing when it fits.
import type { Severity } from './benchVerdict';

/** The fields of `onnx-lens fit --json` this reads. */
export interface FitJson {
  model: string;
  device: { name: string; title: string };
  weightBytes: number;
  flashBytes: number | null;
  arenaBytes: number;
  arenaComplete: boolean;
  ramBytes: number;
  estimatedLatencyMs: number | null;
  fits: boolean | null;
  reasons: string[];
  notes: string[];
}

const bytes = (n: number) => `${n.toLocaleString('en-US')} B`;

/** Undefined when the model fits: a fit needs no marker. */
export function fitVerdict(r: FitJson): { severity: Exclude<Severity, 'information'>; message: string } | undefined {
  if (r.fits === true) return undefined;
  const device = `${r.device.name} (${r.device.title})`;
  if (r.fits === null) return { severity: 'warning', message: `fit on ${device} undecided: ${r.reasons.join('; ')}` };
  const overflows: string[] = [];
  if (r.flashBytes !== null && r.weightBytes > r.flashBytes) overflows.push(`weights ${bytes(r.weightBytes)} overflow flash ${bytes(r.flashBytes)} by ${bytes(r.weightBytes - r.flashBytes)}`);
  if (r.arenaBytes > r.ramBytes) overflows.push(`${r.arenaComplete ? '' : 'at least '}activation arena ${bytes(r.arenaBytes)} overflows RAM ${bytes(r.ramBytes)} by ${bytes(r.arenaBytes - r.ramBytes)}`);
  const what = overflows.length ? overflows.join('; ') : r.reasons.join('; ');
  const fix = r.arenaBytes > r.ramBytes
    ? 'quantize to static int8 ("ONNX Lens: Quantize Selected Layers…" on every layer, or "ONNX Lens: Plan Compression Within Budget…") to shrink the arena about 4×'
    : 'quantize or prune the largest layers ("ONNX Lens: Quantize Selected Layers…", "ONNX Lens: Prune Selected Layers…")';
  return { severity: 'error', message: `does not fit ${device}: ${what} — ${fix}` };
}
