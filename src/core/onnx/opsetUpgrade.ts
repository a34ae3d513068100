// Default-domain opset upgrade for the operators image classifiers use: each operator whose signature or
// semantics changed between the model's opset and the target is rewritten by a table of converters
// (attributes that became inputs, Softmax's coerce-to-2D semantics before opset 13), following the
// ONNX operator changelog; operators not known to be unchanged are refused rather than guessed at.
import { UnsupportedOperator } from '../errors';
import { attr, attrFloat, attrInt, attrInts, attrString, getAttr, node } from './build';
import { DataType } from './dtypes';
import { freshName, usedNames } from './graph';
import { clone, ModelProtoSchema, type GraphProto, type ModelProto, type NodeProto } from './proto';
import { forEachGraph, opsetVersion } from './read';
import { makeTensor, type TensorSource } from './tensor';

interface UpgradeContext {
  graph: GraphProto;
  names: Set<string>;
  /** nodes to insert before the converted node */
  before: NodeProto[];
  /** nodes that replace the converted node's output (inserted after it) */
  after: NodeProto[];
  constant(base: string, dataType: number, dims: number[], values: ArrayLike<number>): string;
}

type Converter = (n: NodeProto, ctx: UpgradeContext) => void;

function dropAttrs(n: NodeProto, ...names: string[]): void {
  n.attribute = n.attribute.filter((a) => !names.includes(a.name));
}

/** An int64 attribute list moved to input slot `slot` (empty name when the attribute is absent). */
function intsToInput(n: NodeProto, ctx: UpgradeContext, attr: string, slot: number): void {
  const values = attrInts(n, attr);
  while (n.input.length < slot) n.input.push('');
  n.input[slot] = values ? ctx.constant(`${n.name || n.output[0]}_${attr}`, DataType.INT64, [values.length], values) : '';
  dropAttrs(n, attr);
  while (n.input.length && n.input[n.input.length - 1] === '') n.input.pop();
}

/** Softmax-family before opset 13 flattens to 2-D at `axis`; reproduce that with Flatten → op → Reshape. */
const coerceTo2d: Converter = (n, ctx) => {
  const axis = attrInt(n, 'axis', 1);
  if (axis === -1) return;
  const x = n.input[0];
  const y = n.output[0];
  const base = n.name || y;
  const shape = freshName(ctx.names, `${base}_input_shape`);
  const flat = freshName(ctx.names, `${base}_2d`);
  const flatOut = freshName(ctx.names, `${base}_2d_out`);
  ctx.before.push(node('Shape', [x], [shape], {}, freshName(ctx.names, `${base}_Shape`)));
  ctx.before.push(node('Flatten', [x], [flat], { axis }, freshName(ctx.names, `${base}_Flatten`)));
  n.input[0] = flat;
  n.output[0] = flatOut;
  dropAttrs(n, 'axis');
  n.attribute.push(attr('axis', -1));
  ctx.after.push(node('Reshape', [flatOut, shape], [y], {}, freshName(ctx.names, `${base}_Reshape`)));
};

/** op type → [(opset version that changed it, converter from the previous form)] */
const CONVERTERS: Record<string, [number, Converter][]> = {
  Clip: [[11, (n, ctx) => {
    const lo = getAttr(n, 'min') ? attrFloat(n, 'min', 0) : undefined;
    const hi = getAttr(n, 'max') ? attrFloat(n, 'max', 0) : undefined;
    const base = n.name || n.output[0];
    n.input[1] = lo === undefined ? '' : ctx.constant(`${base}_min`, DataType.FLOAT, [], [lo]);
    n.input[2] = hi === undefined ? '' : ctx.constant(`${base}_max`, DataType.FLOAT, [], [hi]);
    while (n.input.length && n.input[n.input.length - 1] === '') n.input.pop();
    dropAttrs(n, 'min', 'max');
  }]],
  Slice: [[10, (n, ctx) => {
    intsToInput(n, ctx, 'starts', 1);
    intsToInput(n, ctx, 'ends', 2);
    intsToInput(n, ctx, 'axes', 3);
  }]],
  Pad: [[11, (n, ctx) => {
    const value = attrFloat(n, 'value', 0);
    intsToInput(n, ctx, 'pads', 1);
    if (value !== 0) n.input[2] = ctx.constant(`${n.name || n.output[0]}_value`, DataType.FLOAT, [], [value]);
    dropAttrs(n, 'value');
  }]],
  Squeeze: [[13, (n, ctx) => intsToInput(n, ctx, 'axes', 1)]],
  Unsqueeze: [[13, (n, ctx) => intsToInput(n, ctx, 'axes', 1)]],
  Split: [[13, (n, ctx) => intsToInput(n, ctx, 'split', 1)]],
  ReduceSum: [[13, (n, ctx) => intsToInput(n, ctx, 'axes', 1)]],
  ...Object.fromEntries(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']
    .map((op) => [op, [[18, (n: NodeProto, ctx: UpgradeContext) => intsToInput(n, ctx, 'axes', 1)] as [number, Converter]]])),
  Softmax: [[13, coerceTo2d]],
  LogSoftmax: [[13, coerceTo2d]],
  Hardmax: [[13, coerceTo2d]],
  Dropout: [[12, (n) => dropAttrs(n, 'ratio', 'is_test')]],
  TopK: [[10, (n, ctx) => {
    n.input[1] = ctx.constant(`${n.name || n.output[0]}_k`, DataType.INT64, [1], [attrInt(n, 'k', 1)]);
    dropAttrs(n, 'k');
  }]],
  Upsample: [[10, (n) => {
    // Upsample(X, scales) ≡ Resize(X, roi = none, scales) with asymmetric coordinates, nearest rounding down.
    const mode = attrString(n, 'mode', 'nearest');
    n.opType = 'Resize';
    n.input = [n.input[0], '', n.input[1]];
    dropAttrs(n, 'mode', 'scales');
    n.attribute.push(attr('mode', mode), attr('coordinate_transformation_mode', 'asymmetric'));
    if (mode === 'nearest') n.attribute.push(attr('nearest_mode', 'floor'));
  }]],
  Resize: [[11, (n) => {
    n.input = [n.input[0], '', n.input[1]];
    if (!getAttr(n, 'coordinate_transformation_mode')) n.attribute.push(attr('coordinate_transformation_mode', 'asymmetric'));
    if (attrString(n, 'mode', 'nearest') === 'nearest' && !getAttr(n, 'nearest_mode')) n.attribute.push(attr('nearest_mode', 'floor'));
  }]],
};

/** Default-domain operators whose inference behaviour is the same from opset 7 to 21 (changes only add types or optional inputs/attributes). */
const UNCHANGED = new Set([
  'Abs', 'Add', 'And', 'ArgMax', 'ArgMin', 'AveragePool', 'BatchNormalization', 'Cast', 'Ceil', 'Concat', 'Constant',
  'ConstantOfShape', 'Conv', 'ConvTranspose', 'Div', 'Elu', 'Equal', 'Erf', 'Exp', 'Expand', 'Flatten', 'Floor', 'Gather',
  'GatherElements', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'Greater', 'HardSigmoid', 'HardSwish', 'Identity',
  'InstanceNormalization', 'LeakyRelu', 'Less', 'Log', 'LRN', 'MatMul', 'Max', 'MaxPool', 'Mean', 'Min', 'Mul', 'Neg',
  'Not', 'Or', 'PRelu', 'Pow', 'Reciprocal', 'Relu', 'Reshape', 'Selu', 'Shape', 'Sigmoid', 'Sign', 'Sin', 'Cos', 'Size',
  'Softplus', 'Softsign', 'Sqrt', 'Sub', 'Sum', 'Tanh', 'Tile', 'Transpose', 'Where', 'Xor', 'Mish', 'Gelu', 'LayerNormalization',
  'QuantizeLinear', 'DequantizeLinear', 'Range', 'NonZero', 'ScatterND', 'GatherND', 'CumSum', 'Einsum', 'Trilu',
]);

/**
 * A copy of the model with its default-domain opset raised to `target`, nodes rewritten where the
 * operator changed. Throws UnsupportedOperator for operators this table does not cover.
 */
export function upgradeOpset(proto: ModelProto, target: number, src: TensorSource = {}): ModelProto {
  const from = opsetVersion(proto);
  if (from >= target) return proto;
  const out = clone(ModelProtoSchema, proto);
  forEachGraph(out.graph!, (g) => {
    const names = usedNames(g);
    const nodes: NodeProto[] = [];
    for (const n of g.node) {
      const ctx: UpgradeContext = {
        graph: g, names, before: [], after: [],
        constant(base, dataType, dims, values) {
          const name = freshName(names, base);
          g.initializer.push(makeTensor(name, dataType, dims, values));
          return name;
        },
      };
      if (n.domain === '' || n.domain === 'ai.onnx') {
        const steps = CONVERTERS[n.opType]?.filter(([since]) => from < since && since <= target);
        if (steps) for (const [, convert] of steps) convert(n, ctx);
        else if (!CONVERTERS[n.opType] && !UNCHANGED.has(n.opType)) {
          throw new UnsupportedOperator(src.file, `cannot upgrade operator ${n.opType} from opset ${from} to ${target}`);
        }
      }
      nodes.push(...ctx.before, n, ...ctx.after);
    }
    g.node = nodes;
  });
  const opset = out.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')!;
  opset.version = BigInt(target);
  // IR version 7 is the first that knows opset 13; 10 the first that knows opset 21.
  const minIr = target >= 21 ? 10n : target >= 19 ? 9n : target >= 15 ? 8n : 7n;
  if (out.irVersion < minIr) out.irVersion = minIr;
  return out;
}
