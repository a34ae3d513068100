// Recipe data (DESIGN.md "Recipes"): a model, an output, calibration and evaluation data, and ordered steps whose
// options are the CLI flags in camelCase. Plain data: the parser makes it, the steps and stringifyRecipe read it.
import type { GptqInputs } from '../obs/gptqModel';
import type { CalibrationMethod } from '../quantize/calibrate/calibrate';

/** Image preprocessing, as the CLI's data flags give it (DESIGN.md "Datasets"). */
export interface PreprocessOptions {
  /** "HxW", "N" or N */
  size?: string | number;
  resizeShorter?: number;
  grayscale?: boolean;
  bgr?: boolean;
  layout?: 'nchw' | 'nhwc';
  /** one number or three (per channel), after scaling pixels to 0..1 */
  mean?: number | number[];
  std?: number | number[];
}

export interface CalibrationSpec extends PreprocessOptions {
  /** image folder or float32 .npy, relative to the recipe file */
  data: string;
  /** samples the steps use unless a step gives calibSamples (default 256) */
  samples?: number;
}

/** Parsed and validated only: running the benchmark is `onnx-lens bench`'s job. */
export interface EvaluationSpec extends PreprocessOptions {
  data: string;
  labels?: string;
  budget?: { top1Drop?: number };
}

interface SelectionOptions {
  /** selectors (names, globs, op:Type, name:EXACT); empty = every layer */
  layers?: readonly string[];
  exclude?: readonly string[];
}

export type PruneMethod = 'magnitude' | 'obs';

export type PruneAllocation = 'lamp' | 'obc';

export interface PruneOptions extends SelectionOptions {
  /** unstructured: fraction of weights to zero; structured: of each group's channels (or of MACs with search) */
  sparsity: number;
  /** unstructured: how the mask is chosen — smallest magnitudes (default), or OBS saliency with Hessian updates (SparseGPT; needs calibration) */
  method?: PruneMethod;
  /** unstructured N:M pattern, e.g. "2:4": n of every m consecutive weights along each output channel's fan-in */
  pattern?: string;
  /** method obs, global scope: per-layer sparsity from LAMP or from OBC's per-layer error database and DP (src/core/obs/obcAllocation.ts) */
  allocation?: PruneAllocation;
  scope?: 'layer' | 'global';
  norm?: 'l1' | 'l2';
  plain?: boolean;
  structured?: boolean;
  roundTo?: number;
  importance?: 'magnitude' | 'activation' | 'obs';
  search?: boolean;
  reconstruct?: boolean;
  biasCorrection?: boolean;
  distillHead?: boolean;
  calibSamples?: number;
}

export type QuantizeMode = 'weight' | 'dynamic' | 'static';

/** nearest: round to nearest; gptq: GPTQ's sequential rounding with Hessian error feedback (src/core/obs/gptq.ts) */
export type WeightRoundingMethod = 'nearest' | 'gptq';

export type { GptqInputs };

export interface QuantizeOptions extends SelectionOptions {
  mode: QuantizeMode;
  bits?: 8 | 4;
  perChannel?: boolean;
  blockSize?: number;
  /** weight and static: how weights are rounded to the scales' grid (default nearest; gptq needs calibration data) */
  rounding?: WeightRoundingMethod;
  /** rounding gptq: where the layer Hessians' inputs come from (default original) */
  gptqInputs?: GptqInputs;
  method?: CalibrationMethod;
  activationType?: 'uint8' | 'int8';
  /** one of QUANT_TARGETS; a string so the CLI can hand its flag through and get the usual message */
  target?: string;
  reduceRange?: boolean;
  biasCorrection?: boolean;
  calibSamples?: number;
}

export type PruneStep = { kind: 'prune' } & PruneOptions;
export type QuantizeStep = { kind: 'quantize' } & QuantizeOptions;
export type Step = PruneStep | QuantizeStep;
export type StepKind = Step['kind'];

export interface Recipe {
  model: string;
  output?: string;
  calibration?: CalibrationSpec;
  evaluation?: EvaluationSpec;
  steps: Step[];
}

/** `[start, end)` as 0-based offsets into the recipe text. */
export type TextRange = [number, number];

export interface RecipeProblem {
  message: string;
  severity: 'error' | 'warning';
  range: TextRange;
}

/** A selector string in a step, where it is, and which list holds it. */
export interface SelectorNode {
  key: 'layers' | 'exclude';
  value: string;
  /** the scalar, quotes included */
  range: TextRange;
}

/** One option of a step as written. */
export interface OptionNode {
  key: string;
  keyRange: TextRange;
  valueRange: TextRange;
}

/** One step as written: for hovers, diagnostics and quick fixes that edit the YAML. */
export interface StepNode {
  index: number;
  /** undefined when the item is not a one-key map */
  kind?: string;
  /** the whole list item */
  range: TextRange;
  /** the kind key (`prune`) */
  kindRange?: TextRange;
  /** the options map (`{ … }` or the block under the kind); undefined when empty */
  optionsRange?: TextRange;
  /** flow (`{ a: 1 }`) or block options: a quick fix inserts keys accordingly */
  flow: boolean;
  options: OptionNode[];
  selectors: SelectorNode[];
}

export interface ParsedRecipe {
  /** set when there are no errors */
  recipe?: Recipe;
  problems: RecipeProblem[];
  steps: StepNode[];
}
