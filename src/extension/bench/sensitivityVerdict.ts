// Per-layer sensitivity in the Problems panel (DESIGN.md "Benchmark task and Problems"): one diagnostic on the model
// per layer whose quantization alone costs more than half the top-1 budget — Error over the budget, Warning over
// half — naming the layer, its Δtop-1, agreement and SQNR, and the command that keeps it in float.
import { signedPp } from '../../core/format';
import { budgetSeverity, FIX_COMMANDS, formatBudget, percent, type Severity } from './benchVerdict';

/** The fields of `onnx-lens sensitivity --json` this reads. */
export interface SensitivityJson {
  model: string;
  mode: 'static' | 'weight';
  bits: number;
  n: number;
  baseline: { top1: number | null };
  /** most sensitive first */
  layers: { name: string; op: string; params: number; top1: number | null; deltaTop1: number | null; agreement: number; sqnrDb: number | null }[];
}

export interface LayerVerdict {
  layer: string;
  severity: Exclude<Severity, 'information'>;
  message: string;
}

/** "static int8" / "weight-only int4": how each layer was quantized alone. */
export function sensitivityScheme(r: Pick<SensitivityJson, 'mode' | 'bits'>): string {
  return r.mode === 'static' ? 'static int8' : `weight-only int${r.bits}`;
}

/** SQNR as the CLI prints it; JSON turns an infinite SQNR (identical outputs) into null. */
export const sqnrText = (db: number | null) => (db === null || !Number.isFinite(db) ? '∞ dB' : `${db.toFixed(1)} dB`);

/** The layers over half the budget, most sensitive first; none for unlabelled data (no Δtop-1 to judge). */
export function sensitivityVerdicts(r: SensitivityJson, budgetPp: number): LayerVerdict[] {
  const budget = `${formatBudget(budgetPp)} pp budget`;
  const verdicts: LayerVerdict[] = [];
  for (const l of r.layers) {
    if (l.deltaTop1 === null) continue;
    const severity = budgetSeverity(l.deltaTop1, budgetPp);
    if (severity === 'information') continue;
    const head = `layer ${l.name} (${l.op}): ${sensitivityScheme(r)} on this layer alone changes top-1 by ${signedPp(l.deltaTop1)} (agreement ${percent(l.agreement)}, SQNR ${sqnrText(l.sqnrDb)})`;
    verdicts.push({
      layer: l.name,
      severity,
      message: severity === 'error'
        ? `${head} — over the ${budget}: keep it in float ("${FIX_COMMANDS.keepFloat}") or exclude it from the quantize step`
        : `${head} — more than half of the ${budget}; to keep it in float: "${FIX_COMMANDS.keepFloat}"`,
    });
  }
  return verdicts;
}
