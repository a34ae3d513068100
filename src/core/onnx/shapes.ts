// Shape inference for the operators image classifiers use, following the shape rules of the ONNX operator
// specification (onnx/docs/Operators.md) and the com.microsoft contrib ops ORT documents. Small integer
// tensors (Shape → Gather/Slice → Concat → Reshape chains that exporters such as paddle2onnx emit) are
// folded to values, so reshapes resolve. Unknown ops leave their outputs unknown.
import { attrInt, attrInts, attrString, getAttr } from './build';
import { DataType } from './dtypes';
import { indexGraph, topologicalOrder, type GraphIndex } from './graph';
import type { GraphProto, NodeProto, TensorProto, ValueInfoProto } from './proto';
import { tensorDims, tensorNumel, tensorValues, type TensorSource } from './tensor';

/** A dimension: a number when known, a symbol (dim_param) when not. */
export type Dim = number | string;

export interface ValueType {
  dtype: number;
  /** undefined when even the rank is unknown */
  shape?: Dim[];
}

export interface ShapeOptions {
  /** concrete shapes for graph inputs, overriding their declared shapes */
  inputShapes?: Record<string, readonly Dim[]>;
  /** value given to a symbolic leading (batch) dimension of graph inputs; default 1 */
  batch?: number;
  /** where external data of constants lives (only small integer constants are read) */
  source?: TensorSource;
}

export interface ShapeInfo {
  types: Map<string, ValueType>;
  /** values of small integer tensors known at analysis time (shapes, axes, indices) */
  values: Map<string, number[]>;
}

/** Integer constants up to this many elements are folded (enough for shapes and index lists). */
const MAX_FOLDED = 64;

export function isKnown(shape: readonly Dim[] | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Infers the type and shape of every tensor of `graph` reachable from its inputs and constants. */
export function inferShapes(graph: GraphProto, opts: ShapeOptions = {}, index: GraphIndex = indexGraph(graph)): ShapeInfo {
  const types = new Map<string, ValueType>();
  const values = new Map<string, number[]>();
  const declared = new Map<string, ValueType>();
  for (const v of [...graph.valueInfo, ...graph.output]) {
    const t = fromValueInfo(v);
    if (t) declared.set(v.name, t);
  }
  for (const v of graph.input) {
    if (index.constants.has(v.name)) continue;
    const t = fromValueInfo(v);
    if (!t) continue;
    const given = opts.inputShapes?.[v.name];
    if (given) t.shape = [...given];
    else if (t.shape && typeof t.shape[0] === 'string') t.shape[0] = opts.batch ?? 1;
    types.set(v.name, t);
  }
  for (const [name, t] of index.constants) {
    types.set(name, { dtype: t.dataType, shape: tensorDims(t) });
    const folded = foldConstant(t, opts.source);
    if (folded) values.set(name, folded);
  }
  for (const n of topologicalOrder(graph)) {
    if (n.opType === 'Constant') {
      if (n.output[0] && !index.constants.has(n.output[0])) constantAttribute(n, types, values);
      continue;
    }
    const ctx = new InferContext(n, types, values);
    const rule = rules[ruleKey(n)];
    let outs: (ValueType | undefined)[] = [];
    try {
      outs = rule ? rule(ctx) : [];
    } catch {
      // An op whose inputs do not fit its rule (malformed or unusual graph) just stays unknown.
      outs = [];
    }
    n.output.forEach((o, i) => {
      if (!o) return;
      const inferred = outs[i];
      const fallback = declared.get(o);
      if (inferred?.shape && (isKnown(inferred.shape) || !fallback?.shape)) types.set(o, inferred);
      else if (fallback) types.set(o, { dtype: inferred?.dtype || fallback.dtype, shape: fallback.shape });
      else if (inferred) types.set(o, inferred);
    });
  }
  return { types, values };
}

/** Constant nodes given as value_int(s)/value_float(s) rather than a tensor `value` (opset 12+). */
function constantAttribute(n: NodeProto, types: Map<string, ValueType>, values: Map<string, number[]>): void {
  const a = n.attribute[0];
  if (!a) return;
  const forms: Record<string, () => [number, number[], number[]]> = {
    value_int: () => [DataType.INT64, [], [Number(a.i)]],
    value_ints: () => [DataType.INT64, [a.ints.length], a.ints.map(Number)],
    value_float: () => [DataType.FLOAT, [], [a.f]],
    value_floats: () => [DataType.FLOAT, [a.floats.length], [...a.floats]],
  };
  const form = forms[a.name];
  if (!form) return;
  const [dtype, shape, v] = form();
  types.set(n.output[0], { dtype, shape });
  if (v.length <= MAX_FOLDED) values.set(n.output[0], v);
}

function fromValueInfo(v: ValueInfoProto): ValueType | undefined {
  if (v.type?.value.case !== 'tensorType') return undefined;
  const tt = v.type.value.value;
  const shape = tt.shape?.dim.map((d, i): Dim => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : `${v.name}:${i}`));
  return { dtype: tt.elemType, shape };
}

/** Values of small int32/int64 constants (shapes, axes, indices) and small float32 ones (Resize scales). */
function foldConstant(t: TensorProto, source?: TensorSource): number[] | undefined {
  const foldable = t.dataType === DataType.INT64 || t.dataType === DataType.INT32 || t.dataType === DataType.FLOAT;
  if (!foldable || tensorNumel(t) > MAX_FOLDED) return undefined;
  try {
    return Array.from(tensorValues(t, source));
  } catch {
    return undefined;
  }
}

function ruleKey(n: NodeProto): string {
  return n.domain === '' || n.domain === 'ai.onnx' ? n.opType : `${n.domain}.${n.opType}`;
}

class InferContext {
  constructor(readonly node: NodeProto, private types: Map<string, ValueType>, readonly values: Map<string, number[]>) {}

  type(i: number): ValueType | undefined {
    const name = this.node.input[i];
    return name ? this.types.get(name) : undefined;
  }
  shape(i: number): Dim[] | undefined {
    return this.type(i)?.shape;
  }
  dtype(i: number): number {
    return this.type(i)?.dtype ?? DataType.UNDEFINED;
  }
  value(i: number): number[] | undefined {
    const name = this.node.input[i];
    return name ? this.values.get(name) : undefined;
  }
  has(i: number): boolean {
    return !!this.node.input[i];
  }
  setValue(out: number, v: number[]): void {
    const name = this.node.output[out];
    if (name && v.length <= MAX_FOLDED) this.values.set(name, v);
  }
  ints(name: string): number[] | undefined {
    return attrInts(this.node, name);
  }
  int(name: string, fallback: number): number {
    return attrInt(this.node, name, fallback);
  }
  /** An axes list given as attribute (older opsets) or as input `i` (newer opsets). */
  axes(name: string, i: number): number[] | undefined {
    return this.ints(name) ?? this.value(i);
  }
}

type Rule = (c: InferContext) => (ValueType | undefined)[];

const same = (c: InferContext): ValueType | undefined => c.type(0) && { ...c.type(0)!, shape: c.type(0)!.shape && [...c.type(0)!.shape!] };
const unary: Rule = (c) => [same(c)];

/** Numpy-style broadcasting of any number of shapes. */
export function broadcast(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => !s)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let d: Dim = 1;
    for (const s of shapes as Dim[][]) {
      const e = s[s.length - rank + k] ?? 1;
      if (e === 1) continue;
      if (d === 1 || typeof d === 'string') d = e;
    }
    out.push(d);
  }
  return out;
}

const elementwise = (outDtype?: number): Rule => (c) => {
  const shape = broadcast(c.node.input.map((_, i) => (c.has(i) ? c.shape(i) : [])));
  const vals = c.node.input.map((_, i) => c.value(i));
  if (vals.length === 2 && vals[0] && vals[1] && foldable[c.node.opType] && isInteger(c.dtype(0))) {
    const [a, b] = vals as number[][];
    const n = Math.max(a.length, b.length);
    if (a.length === n || a.length === 1) {
      if (b.length === n || b.length === 1) c.setValue(0, Array.from({ length: n }, (_, k) => foldable[c.node.opType](a[a.length === 1 ? 0 : k], b[b.length === 1 ? 0 : k])));
    }
  }
  return [{ dtype: outDtype ?? c.dtype(0), shape }];
};

const isInteger = (dtype: number) => dtype === DataType.INT64 || dtype === DataType.INT32;

const foldable: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => Math.trunc(a / b),
};

/** Output size of one spatial axis of a convolution or pooling window (ONNX Conv / MaxPool shape rules). */
function windowOut(inSize: Dim, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceil: boolean): Dim {
  if (typeof inSize !== 'number') return inSize;
  const effective = (k - 1) * dilation + 1;
  const span = inSize + padBegin + padEnd - effective;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // With ceil_mode, the last window must start inside the input or left padding (PyTorch/ORT rule).
  if (ceil && (out - 1) * stride >= inSize + padBegin) out--;
  return out;
}

/** Spatial output dims of Conv/pooling given input spatial dims and kernel dims. */
function slidingWindow(c: InferContext, spatial: Dim[], kernel: number[], ceil: boolean): Dim[] {
  const r = kernel.length;
  const strides = c.ints('strides') ?? new Array(r).fill(1);
  const dilations = c.ints('dilations') ?? new Array(r).fill(1);
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    return spatial.map((d, i) => (typeof d === 'number' ? Math.ceil(d / strides[i]) : d));
  }
  const pads = autoPad === 'VALID' ? new Array(2 * r).fill(0) : c.ints('pads') ?? new Array(2 * r).fill(0);
  return spatial.map((d, i) => windowOut(d, kernel[i], strides[i], dilations[i], pads[i], pads[i + r], ceil));
}

/** Conv-like: data input `x`, weight input `w` [M, C/group, k...]. */
const convRule = (x: number, w: number, outDtype?: (c: InferContext) => number): Rule => (c) => {
  const xs = c.shape(x);
  const ws = c.shape(w);
  const dtype = outDtype ? outDtype(c) : c.dtype(x);
  if (!xs || !ws) return [{ dtype }];
  const kernel = c.ints('kernel_shape') ?? (ws.slice(2) as number[]);
  return [{ dtype, shape: [xs[0], ws[0], ...slidingWindow(c, xs.slice(2), kernel, false)] }];
};

const convTranspose: Rule = (c) => {
  const xs = c.shape(0);
  const ws = c.shape(1);
  if (!xs || !ws) return [{ dtype: c.dtype(0) }];
  const group = c.int('group', 1);
  const kernel = c.ints('kernel_shape') ?? (ws.slice(2) as number[]);
  const r = kernel.length;
  const strides = c.ints('strides') ?? new Array(r).fill(1);
  const dilations = c.ints('dilations') ?? new Array(r).fill(1);
  const outPad = c.ints('output_padding') ?? new Array(r).fill(0);
  const pads = c.ints('pads') ?? new Array(2 * r).fill(0);
  const explicit = c.ints('output_shape');
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET');
  const spatial = xs.slice(2).map((d, i): Dim => {
    if (explicit) return explicit[explicit.length - r + i];
    if (typeof d !== 'number') return d;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i];
    return strides[i] * (d - 1) + outPad[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + r];
  });
  const m = typeof ws[1] === 'number' ? ws[1] * group : ws[1];
  return [{ dtype: c.dtype(0), shape: [xs[0], m, ...spatial] }];
};

const pool: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [same(c), same(c)];
  const kernel = c.ints('kernel_shape') ?? [];
  const out: ValueType = { dtype: c.dtype(0), shape: [xs[0], xs[1], ...slidingWindow(c, xs.slice(2), kernel, c.int('ceil_mode', 0) === 1)] };
  return [out, { dtype: DataType.INT64, shape: out.shape }];
};

const globalPool: Rule = (c) => {
  const xs = c.shape(0);
  return [{ dtype: c.dtype(0), shape: xs && [xs[0], xs[1], ...xs.slice(2).map(() => 1)] }];
};

/** numpy matmul shape rule (1-D operands promoted and then dropped). */
function matmulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcast([a2.slice(0, -2), b2.slice(0, -2)])!;
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.pop();
  return out;
}

const matmulRule = (a: number, b: number, outDtype?: (c: InferContext) => number): Rule => (c) =>
  [{ dtype: outDtype ? outDtype(c) : c.dtype(a), shape: matmulShape(c.shape(a), c.shape(b)) }];

const gemm: Rule = (c) => {
  const as = c.shape(0);
  const bs = c.shape(1);
  if (!as || !bs) return [{ dtype: c.dtype(0) }];
  const m = c.int('transA', 0) ? as[1] : as[0];
  const n = c.int('transB', 0) ? bs[0] : bs[1];
  return [{ dtype: c.dtype(0), shape: [m, n] }];
};

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  // A corrupt axis far beyond the rank would make `out[axis] = …` grow an array of billions of empty slots.
  if (!(a >= 0 && a <= rank)) throw new RangeError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

const concat: Rule = (c) => {
  const shapes = c.node.input.map((_, i) => c.shape(i));
  const first = shapes.find((s) => s);
  const vals = c.node.input.map((_, i) => c.value(i));
  if (vals.every((v) => v)) c.setValue(0, vals.flat() as number[]);
  if (!first || shapes.some((s) => !s)) return [{ dtype: c.dtype(0) }];
  const axis = normAxis(c.int('axis', 0), first.length);
  const out = [...first];
  out[axis] = shapes.reduce<Dim>((acc, s) => (typeof acc === 'number' && typeof s![axis] === 'number' ? acc + (s![axis] as number) : `${c.node.output[0]}:${axis}`), 0);
  return [{ dtype: c.dtype(0), shape: out }];
};

const reshape: Rule = (c) => {
  const xs = c.shape(0);
  const target = c.value(1) ?? c.ints('shape');
  if (!target) return [{ dtype: c.dtype(0) }];
  const allowZero = c.int('allowzero', 0) === 1;
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? xs?.[i] ?? `${c.node.output[0]}:${i}` : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const rest = out.filter((_, i) => i !== minus);
    out[minus] = xs && isKnown(xs) && isKnown(rest) ? numel(xs) / Math.max(1, numel(rest)) : `${c.node.output[0]}:${minus}`;
  }
  if (c.value(0)) c.setValue(0, c.value(0)!);
  return [{ dtype: c.dtype(0), shape: out }];
};

const flatten: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: c.dtype(0) }];
  const axis = normAxis(c.int('axis', 1), xs.length);
  const prod = (s: Dim[]): Dim => (isKnown(s) ? numel(s) : `${c.node.output[0]}:flat`);
  return [{ dtype: c.dtype(0), shape: [prod(xs.slice(0, axis)), prod(xs.slice(axis))] }];
};

const transpose: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: c.dtype(0) }];
  const perm = c.ints('perm') ?? xs.map((_, i) => xs.length - 1 - i);
  return [{ dtype: c.dtype(0), shape: perm.map((p) => xs[p]) }];
};

const squeeze: Rule = (c) => {
  const xs = c.shape(0);
  if (c.value(0)) c.setValue(0, c.value(0)!);
  if (!xs) return [{ dtype: c.dtype(0) }];
  const axes = c.axes('axes', 1)?.map((a) => normAxis(a, xs.length));
  return [{ dtype: c.dtype(0), shape: xs.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)) }];
};

const unsqueeze: Rule = (c) => {
  const xs = c.shape(0);
  const axes = c.axes('axes', 1);
  if (c.value(0)) c.setValue(0, c.value(0)!);
  if (!xs || !axes) return [{ dtype: c.dtype(0) }];
  const rank = xs.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : xs[k++]);
  return [{ dtype: c.dtype(0), shape: out }];
};

const shapeOp: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: DataType.INT64 }];
  const start = normAxis(c.int('start', 0), xs.length);
  const end = getAttr(c.node, 'end') ? normAxis(c.int('end', xs.length), xs.length) : xs.length;
  const dims = xs.slice(start, end);
  if (isKnown(dims)) c.setValue(0, dims);
  return [{ dtype: DataType.INT64, shape: [dims.length] }];
};

const gather: Rule = (c) => {
  const xs = c.shape(0);
  const is = c.shape(1);
  if (!xs || !is) return [{ dtype: c.dtype(0) }];
  const axis = normAxis(c.int('axis', 0), xs.length);
  const data = c.value(0);
  const idx = c.value(1);
  if (data && idx && xs.length === 1) c.setValue(0, idx.map((i) => data[i < 0 ? i + data.length : i]));
  return [{ dtype: c.dtype(0), shape: [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)] }];
};

const slice: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: c.dtype(0) }];
  const starts = c.ints('starts') ?? c.value(1);
  const ends = c.ints('ends') ?? c.value(2);
  if (!starts || !ends) return [{ dtype: c.dtype(0), shape: xs.map((_, i) => `${c.node.output[0]}:${i}`) }];
  const axes = (c.ints('axes') ?? c.value(3) ?? starts.map((_, i) => i)).map((a) => normAxis(a, xs.length));
  const steps = c.value(4) ?? starts.map(() => 1);
  const out = [...xs];
  const ranges: [number, number, number][] = xs.map(() => [0, 0, 1]);
  axes.forEach((a, k) => {
    const d = xs[a];
    if (typeof d !== 'number') { out[a] = `${c.node.output[0]}:${a}`; return; }
    const step = steps[k];
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const s = step > 0 ? clampIdx(starts[k], 0, d) : clampIdx(starts[k], 0, d - 1);
    const e = step > 0 ? clampIdx(ends[k], 0, d) : clampIdx(ends[k], -1, d - 1);
    out[a] = Math.max(0, Math.ceil((e - s) / step));
    ranges[a] = [s, e, step];
  });
  const data = c.value(0);
  if (data && xs.length === 1 && typeof out[0] === 'number') {
    const [s, , step] = axes.includes(0) ? ranges[0] : [0, 0, 1];
    c.setValue(0, Array.from({ length: out[0] }, (_, k) => data[s + k * step]));
  }
  return [{ dtype: c.dtype(0), shape: out }];
};

const reduce: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: c.dtype(0) }];
  const keep = c.int('keepdims', 1) === 1;
  const axes = (c.axes('axes', 1) ?? xs.map((_, i) => i)).map((a) => normAxis(a, xs.length));
  const out: Dim[] = [];
  xs.forEach((d, i) => { if (!axes.includes(i)) out.push(d); else if (keep) out.push(1); });
  return [{ dtype: c.dtype(0), shape: out }];
};

const resize: Rule = (c) => {
  const xs = c.shape(0);
  if (!xs) return [{ dtype: c.dtype(0) }];
  // Upsample and Resize-10: scales at input 1 (Upsample-7: a `scales` attribute); Resize-11+: roi 1, scales 2, sizes 3.
  const sizes = c.value(3);
  const scales = (c.node.input.length <= 2 ? c.value(1) : c.value(2)) ?? getAttr(c.node, 'scales')?.floats;
  if (sizes?.length === xs.length) return [{ dtype: c.dtype(0), shape: [...sizes] }];
  if (scales?.length === xs.length) {
    return [{ dtype: c.dtype(0), shape: xs.map((d, i) => (typeof d === 'number' ? Math.floor(d * scales[i]) : d)) }];
  }
  return [{ dtype: c.dtype(0), shape: xs.map((d, i) => (i < 2 ? d : `${c.node.output[0]}:${i}`)) }];
};

const split: Rule = (c) => {
  const xs = c.shape(0);
  const count = c.node.output.length;
  if (!xs) return c.node.output.map(() => ({ dtype: c.dtype(0) }));
  const axis = normAxis(c.int('axis', 0), xs.length);
  const parts = c.ints('split') ?? c.value(1);
  const d = xs[axis];
  // Without explicit sizes the parts are equal, the last one smaller when the axis does not divide evenly.
  const chunk = typeof d === 'number' ? Math.ceil(d / count) : 0;
  return c.node.output.map((_, k) => {
    const out = [...xs];
    out[axis] = parts ? parts[k] : typeof d === 'number' ? (k < count - 1 ? chunk : d - chunk * (count - 1)) : `${c.node.output[k]}:${axis}`;
    return { dtype: c.dtype(0), shape: out };
  });
};

const pad: Rule = (c) => {
  const xs = c.shape(0);
  const pads = c.ints('pads') ?? c.value(1);
  if (!xs || !pads || c.has(3)) return [{ dtype: c.dtype(0), shape: xs?.map((_, i) => `${c.node.output[0]}:${i}`) }];
  const r = xs.length;
  return [{ dtype: c.dtype(0), shape: xs.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + r] : d)) }];
};

const expand: Rule = (c) => {
  const target = c.value(1);
  return [{ dtype: c.dtype(0), shape: target ? broadcast([c.shape(0), target]) : undefined }];
};

const constantOfShape: Rule = (c) => {
  const target = c.value(0);
  const v = getAttr(c.node, 'value')?.t;
  return [{ dtype: v?.dataType ?? DataType.FLOAT, shape: target && [...target] }];
};

const cast: Rule = (c) => {
  if (c.value(0)) c.setValue(0, c.value(0)!);
  return [{ dtype: c.int('to', DataType.FLOAT), shape: c.shape(0) && [...c.shape(0)!] }];
};

/** QuantizeLinear output type: the zero-point's type, else the output_dtype attribute, else uint8. */
const quantize: Rule = (c) => [{ dtype: c.has(2) ? c.dtype(2) : c.int('output_dtype', 0) || DataType.UINT8, shape: c.shape(0) && [...c.shape(0)!] }];
const dequantize: Rule = (c) => [{ dtype: c.dtype(1) || DataType.FLOAT, shape: c.shape(0) && [...c.shape(0)!] }];
const dynamicQuantize: Rule = (c) => [
  { dtype: DataType.UINT8, shape: c.shape(0) && [...c.shape(0)!] }, { dtype: DataType.FLOAT, shape: [] }, { dtype: DataType.UINT8, shape: [] },
];

/** MatMulNBits (com.microsoft): A [..., K] × dequantized B [N, K]ᵀ → [..., N]. */
const matmulNBits: Rule = (c) => {
  const as = c.shape(0);
  return [{ dtype: c.dtype(0), shape: as && [...as.slice(0, -1), c.int('N', 0)] }];
};

const outputDtype = (i: number) => (c: InferContext) => c.dtype(i);
const int32Out = () => DataType.INT32;

const rules: Record<string, Rule> = {
  Conv: convRule(0, 1),
  ConvInteger: convRule(0, 1, int32Out),
  QLinearConv: convRule(0, 3, outputDtype(7)),
  ConvTranspose: convTranspose,
  Gemm: gemm,
  MatMul: matmulRule(0, 1),
  MatMulInteger: matmulRule(0, 1, int32Out),
  QLinearMatMul: matmulRule(0, 3, outputDtype(7)),
  'com.microsoft.MatMulNBits': matmulNBits,
  'com.microsoft.QGemm': gemm,
  MaxPool: pool,
  AveragePool: pool,
  LpPool: pool,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Concat: concat,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Shape: shapeOp,
  Gather: gather,
  Slice: slice,
  Resize: resize,
  Upsample: resize,
  Split: split,
  Pad: pad,
  Expand: expand,
  ConstantOfShape: constantOfShape,
  Cast: cast,
  QuantizeLinear: quantize,
  DequantizeLinear: dequantize,
  DynamicQuantizeLinear: dynamicQuantize,
  Add: elementwise(), Sub: elementwise(), Mul: elementwise(), Div: elementwise(), Pow: elementwise(),
  Max: elementwise(), Min: elementwise(), Sum: elementwise(), Mean: elementwise(), PRelu: elementwise(), Mod: elementwise(),
  Equal: elementwise(DataType.BOOL), Less: elementwise(DataType.BOOL), Greater: elementwise(DataType.BOOL),
  LessOrEqual: elementwise(DataType.BOOL), GreaterOrEqual: elementwise(DataType.BOOL), And: elementwise(DataType.BOOL), Or: elementwise(DataType.BOOL),
  Where: (c) => [{ dtype: c.dtype(1), shape: broadcast([c.shape(0), c.shape(1), c.shape(2)]) }],
  ReduceMean: reduce, ReduceSum: reduce, ReduceMax: reduce, ReduceMin: reduce, ReduceProd: reduce, ReduceL2: reduce,
  ArgMax: (c) => [{ ...reduce(c)[0]!, dtype: DataType.INT64 }],
  ArgMin: (c) => [{ ...reduce(c)[0]!, dtype: DataType.INT64 }],
  Dropout: (c) => [same(c), { dtype: DataType.BOOL, shape: c.shape(0) }],
  BatchNormalization: unary,
};

// Element-wise single-output ops: output has the input's type and shape.
for (const op of [
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'Mish', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Neg', 'Abs', 'Erf', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos',
  'Identity', 'Softmax', 'LogSoftmax', 'Hardmax', 'LRN', 'InstanceNormalization', 'LayerNormalization',
  'MeanVarianceNormalization', 'Not', 'IsNaN', 'ThresholdedRelu', 'Shrink',
]) rules[op] ??= unary;
rules.Not = rules.IsNaN = (c) => [{ dtype: DataType.BOOL, shape: c.shape(0) }];
