// The recipe schema as one table: the parser validates YAML nodes against it (with ranges), recipeJsonSchema()
// renders it as the JSON schema in media/onnxlens-recipe.schema.json, and the editor's hovers and completions
// can read the descriptions. Step option names are the CLI flag names in camelCase.
// Imports stay light (no onnxruntime): the extension host loads this for the recipe language features.
import type { CalibrationMethod } from '../quantize/calibrate/calibrate';
import { QUANT_TARGETS } from '../quantize/target';
import type { StepKind } from './types';

/** CALIBRATION_METHODS without loading the calibrator (which loads onnxruntime); a test keeps them equal. */
export const METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'entropy'];

export type ValueSpec = { description: string } & (
  | { type: 'boolean' }
  | { type: 'string' }
  | { type: 'enum'; values: readonly (string | number)[] }
  | { type: 'integer'; minimum: number }
  | { type: 'number'; minimum?: number }
  /** a number in [0, 1) or a percentage string such as "50%" */
  | { type: 'fraction' }
  /** "HxW", "N" or a positive integer N */
  | { type: 'size' }
  /** one number, or a list of one or three */
  | { type: 'numbers' }
  /** a list of layer selectors */
  | { type: 'selectors' }
  | ObjectSpec
);

export interface ObjectSpec {
  type: 'object';
  properties: Record<string, ValueSpec>;
  required?: readonly string[];
}

const PREPROCESS: Record<string, ValueSpec> = {
  size: { type: 'size', description: 'resize images to HxW (default: the model input size), e.g. "224x224" or 28' },
  resizeShorter: { type: 'integer', minimum: 1, description: 'resize the shorter image side to N, then centre-crop to size' },
  grayscale: { type: 'boolean', description: 'feed one grey channel' },
  bgr: { type: 'boolean', description: 'feed channels in BGR order' },
  layout: { type: 'enum', values: ['nchw', 'nhwc'], description: 'tensor layout (default: from the model input shape)' },
  mean: { type: 'numbers', description: 'per-channel mean after scaling pixels to 0..1: m or [m, m, m] (default 0)' },
  std: { type: 'numbers', description: 'per-channel std after scaling pixels to 0..1: s or [s, s, s] (default 1)' },
};

const SELECTION: Record<string, ValueSpec> = {
  layers: { type: 'selectors', description: 'only these layers: names, globs (* ?), op:Type, or name:EXACT (one label verbatim)' },
  exclude: { type: 'selectors', description: 'leave these layers alone (same forms as layers)' },
};

const CALIB_SAMPLES: ValueSpec = { type: 'integer', minimum: 1, description: 'calibration samples to use (default: calibration.samples, else 256)' };

export const STEP_SCHEMAS: Record<StepKind, ObjectSpec> = {
  prune: {
    type: 'object',
    required: ['sparsity'],
    properties: {
      sparsity: { type: 'fraction', description: 'fraction of weights (unstructured) or of each group\'s channels (structured) to remove, e.g. 0.5 or "50%"' },
      method: { type: 'enum', values: ['magnitude', 'obs'], description: 'unstructured: zero the smallest weights (magnitude, default) or choose by OBS saliency and update the kept weights with the layer Hessian (obs, SparseGPT; needs calibration)' },
      allocation: { type: 'enum', values: ['lamp', 'obc'], description: 'method obs, global scope: how many weights each layer loses — LAMP scores, or OBC\'s per-layer error database and DP (default obc)' },
      pattern: { type: 'string', description: 'unstructured N:M pattern, e.g. "2:4": n of every m consecutive weights of each output channel (sparsity must then be n/m)' },
      scope: { type: 'enum', values: ['layer', 'global'], description: 'one sparsity per layer, or one global ranking (default: global; layer when structured)' },
      norm: { type: 'enum', values: ['l1', 'l2'], description: 'magnitude score |w| (l1) or w² (l2, default)' },
      plain: { type: 'boolean', description: 'unstructured global: rank raw magnitudes instead of LAMP scores' },
      structured: { type: 'boolean', description: 'remove output channels (and the matching inputs downstream)' },
      roundTo: { type: 'integer', minimum: 1, description: 'structured: keep channel counts at multiples of n (default 8)' },
      importance: { type: 'enum', values: ['magnitude', 'activation', 'obs'], description: 'structured: rank channels by weight magnitude, by output energy on the calibration data, or by channel-structured OBS (the output error their removal leaves in the next layers after an OBS re-fit; needs calibration)' },
      search: { type: 'boolean', description: 'structured: greedy block search for how many channels each group keeps (needs calibration and reconstruct)' },
      reconstruct: { type: 'boolean', description: 're-fit the pruned layers by least squares to the original layer outputs (needs calibration)' },
      biasCorrection: { type: 'boolean', description: 'shift biases so per-channel output means match the original (needs calibration)' },
      distillHead: { type: 'boolean', description: 're-fit the classifier to the original logits (needs calibration)' },
      calibSamples: CALIB_SAMPLES,
      ...SELECTION,
    },
  },
  quantize: {
    type: 'object',
    required: ['mode'],
    properties: {
      mode: { type: 'enum', values: ['weight', 'dynamic', 'static'], description: 'weight: int8/int4 weights only; dynamic: int8 with run-time activation scales; static: int8 QDQ calibrated on the calibration data' },
      bits: { type: 'enum', values: [8, 4], description: 'weight bits (4 with mode weight, or static for W4A8: int4 weights, int8 activations)' },
      perChannel: { type: 'boolean', description: 'one weight scale per output channel (default true)' },
      blockSize: { type: 'integer', minimum: 1, description: 'int4: block-wise scales, n elements along K / input channels' },
      rounding: { type: 'enum', values: ['nearest', 'gptq'], description: 'weight and static: round weights to nearest (default) or GPTQ (error feedback through each layer\'s calibration Hessian; needs calibration data)' },
      gptqInputs: { type: 'enum', values: ['original', 'quantized'], description: 'rounding gptq: layer Hessians from the original model\'s inputs (default) or from the model with the earlier layers already quantized (GPTQ\'s sequential mode; one calibration pass per layer)' },
      method: { type: 'enum', values: METHODS, description: 'static: activation range calibration (default minmax)' },
      activationType: { type: 'enum', values: ['uint8', 'int8'], description: 'static: activation integer type (default uint8)' },
      target: { type: 'enum', values: QUANT_TARGETS, description: 'static/dynamic: the CPUs the int8 model runs on (default portable)' },
      reduceRange: { type: 'boolean', description: 'static/dynamic: 7-bit weights, the same as target portable' },
      biasCorrection: { type: 'boolean', description: 'static: shift biases so channel means match the float model' },
      calibSamples: CALIB_SAMPLES,
      ...SELECTION,
    },
  },
};

export const RECIPE_SCHEMA: ObjectSpec = {
  type: 'object',
  required: ['model', 'steps'],
  properties: {
    model: { type: 'string', description: 'the ONNX model to compress, relative to the recipe file' },
    output: { type: 'string', description: 'where to write the result, relative to the recipe file (onnx-lens apply -o overrides it)' },
    calibration: {
      type: 'object', required: ['data'], description: 'unlabelled calibration data for static quantization and pruning recovery',
      properties: {
        data: { type: 'string', description: 'image folder or float32 .npy [N, ...], relative to the recipe file' },
        samples: { type: 'integer', minimum: 1, description: 'samples the steps use (default 256)' },
        ...PREPROCESS,
      },
    } as ValueSpec,
    evaluation: {
      type: 'object', required: ['data'], description: 'evaluation data and accuracy budget (read by the benchmark; apply only checks it)',
      properties: {
        data: { type: 'string', description: 'image class folders or float32 .npy, relative to the recipe file' },
        labels: { type: 'string', description: 'int64 [N] labels .npy for .npy data or a flat image folder' },
        budget: {
          type: 'object', description: 'accuracy budget',
          properties: { top1Drop: { type: 'number', minimum: 0, description: 'largest acceptable top-1 drop in percentage points' } },
        } as ValueSpec,
        ...PREPROCESS,
      },
    } as ValueSpec,
    // steps: a list of one-key maps, checked by the parser step by step (see STEP_SCHEMAS)
  },
};

type Json = { [key: string]: unknown };

function valueJsonSchema(spec: ValueSpec): Json {
  const d = { description: spec.description };
  switch (spec.type) {
    case 'boolean': case 'string': return { type: spec.type, ...d };
    case 'enum': return { enum: [...spec.values], ...d };
    case 'integer': return { type: 'integer', minimum: spec.minimum, ...d };
    case 'number': return { type: 'number', ...(spec.minimum !== undefined ? { minimum: spec.minimum } : {}), ...d };
    case 'fraction': return { oneOf: [{ type: 'number', minimum: 0, exclusiveMaximum: 1 }, { type: 'string', pattern: '^\\s*\\d+(\\.\\d+)?\\s*%\\s*$' }], ...d };
    case 'size': return { oneOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+([xX]\\d+)?$' }], ...d };
    case 'numbers': return { oneOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 3 }], ...d };
    case 'selectors': return { type: 'array', items: { type: 'string' }, ...d };
    case 'object': return { ...objectJsonSchema(spec), ...d };
  }
}

function objectJsonSchema(spec: ObjectSpec): Json {
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(spec.properties).map(([k, v]) => [k, valueJsonSchema(v)])),
    ...(spec.required?.length ? { required: [...spec.required] } : {}),
    additionalProperties: false,
  };
}

/** The JSON schema of a recipe file (written to media/onnxlens-recipe.schema.json; a test keeps them equal). */
export function recipeJsonSchema(): Json {
  const top = objectJsonSchema(RECIPE_SCHEMA);
  const steps = Object.entries(STEP_SCHEMAS).map(([kind, spec]) => ({
    type: 'object', properties: { [kind]: objectJsonSchema(spec) }, required: [kind], additionalProperties: false,
  }));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'onnxlens-recipe.schema.json',
    title: 'ONNX Lens recipe (*.onnxlens.yaml)',
    ...top,
    properties: {
      ...(top.properties as Json),
      steps: { type: 'array', minItems: 1, items: { oneOf: steps }, description: 'compression steps, run in order; each is a one-key map such as `- prune: { sparsity: 0.5 }`' },
    },
  };
}
