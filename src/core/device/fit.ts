// Edge-device fit: weights vs flash, peak live activations (the tensor arena, as TFLite Micro's planner sizes it) vs
// RAM, and latency estimated as MACs / the device's MAC rate — the roofline-free first check of MCUNet and TinyML.
import { analyzeModel, type AnalyzeOptions } from '../analysis/analyze';
import { activationMemory, schedule } from '../analysis/memory';
import type { ModelReport } from '../analysis/report';
import { DataType, dtypeInfo } from '../onnx/dtypes';
import { indexGraph, type GraphIndex } from '../onnx/graph';
import type { Model } from '../onnx/read';
import { inferShapes, type ShapeInfo } from '../onnx/shapes';
import { macsPerSecond, type ComputeDtype, type DeviceProfile } from './profiles';

export interface FitReport {
  model: string;
  device: DeviceProfile & { macsPerSecond: Record<ComputeDtype, number> };
  /** weights as stored (int8 = 1 byte, float32 = 4, plus scales and zero points) */
  weightBytes: number;
  flashBytes: number | null;
  /** peak live activation bytes at batch 1 (see arenaBasis); a lower bound when arenaComplete is false */
  arenaBytes: number;
  arenaBasis: string;
  arenaComplete: boolean;
  ramBytes: number;
  /** null when some layer's MACs depend on symbolic input dims */
  macs: number | null;
  /** the kernels the layers run: int8 for static/QOperator/dynamic quantized layers, else fp32 */
  computeDtype: ComputeDtype | 'mixed';
  /** an estimate: MACs / MAC rate, no memory stalls or non-MAC ops; null when MACs are unknown */
  estimatedLatencyMs: number | null;
  /** null when a resource cannot be checked (symbolic dims) and none is known to be exceeded */
  fits: boolean | null;
  /** why it does not fit (or cannot be decided) */
  reasons: string[];
  /** headroom warnings, the device's caveats, what quantization would change */
  notes: string[];
}

const bytes = (n: number) => `${n.toLocaleString('en-US')} B`;

/** Output of a DequantizeLinear of a non-constant tensor: an activation passing through Q/DQ. */
function isQuantizedActivation(name: string, g: GraphIndex): boolean {
  const p = g.producer.get(name);
  return p?.opType === 'DequantizeLinear' && !g.constants.has(p.input[0]);
}

/** Activations are integer on the device when the graph quantizes them (static QDQ or QOperator ops). */
function hasIntegerActivations(g: GraphIndex): boolean {
  return g.graph.node.some((n) => (n.opType === 'QuantizeLinear' && !g.constants.has(n.input[0])) || n.opType.startsWith('QLinear'));
}

/**
 * The int8 deployment's arena: the same liveness analysis with every float activation counted at 1 byte, since a
 * converter (TFLite, ORT's QDQ fusion) folds Q/DQ pairs into int8 kernels. An estimate: the unfolded pairs still count.
 */
function int8ArenaBytes(g: GraphIndex, model: Model, options: AnalyzeOptions): number {
  const shapes = inferShapes(g.graph, { inputShapes: options.inputShapes, source: model }, g);
  const asInt8: ShapeInfo = {
    values: shapes.values,
    types: new Map([...shapes.types].map(([name, t]) => [name, dtypeInfo(t.dtype)?.kind === 'float' ? { ...t, dtype: DataType.INT8 } : t])),
  };
  // Dequantized weights are the kernel's int8 weights on the device, not arena tensors.
  const constants = new Map(g.constants);
  for (const n of g.graph.node) {
    const w = n.opType === 'DequantizeLinear' ? g.constants.get(n.input[0]) : undefined;
    if (w && n.output[0]) constants.set(n.output[0], w);
  }
  return activationMemory(schedule(g, model.file), { ...g, constants }, asInt8).peakBytes;
}

/** Latency in ms summed over layers, each at the MAC rate of the kernels it runs. */
function latencyMs(report: ModelReport, g: GraphIndex, device: DeviceProfile): { ms: number; dtype: ComputeDtype | 'mixed' } {
  const used = new Set<ComputeDtype>();
  let seconds = 0;
  for (const l of report.layers) {
    if (!l.macs) continue;
    const node = g.graph.node[l.index];
    const int8 = l.scheme === 'qoperator' || l.scheme === 'dynamic' || (l.scheme === 'qdq' && isQuantizedActivation(node.input[0], g));
    const dtype: ComputeDtype = int8 ? 'int8' : 'fp32';
    used.add(dtype);
    seconds += l.macs / macsPerSecond(device, dtype);
  }
  const dtype = used.size === 2 ? 'mixed' : used.has('int8') ? 'int8' : 'fp32';
  return { ms: seconds * 1000, dtype };
}

/** `pass --shape x=1,3,N,N` for each input with symbolic dims after the batch, as inspect says it. */
function shapeHint(m: ModelReport['model']): string {
  const symbolic = m.inputs.filter((i) => i.shape.slice(1).some((d) => typeof d === 'string'));
  const flags = symbolic.map((i) => `--shape ${i.name}=1,${i.shape.slice(1).map((d) => (typeof d === 'number' ? d : 'N')).join(',')}`);
  return `pass ${flags.join(' ') || '--shape NAME=DIMS'}`;
}

function headroomNote(what: string, used: number, capacity: number): string | undefined {
  const left = capacity - used;
  return left >= 0 && left < capacity * 0.1 ? `${what} is tight: ${bytes(left)} left (${((left / capacity) * 100).toFixed(1)} %) for everything else` : undefined;
}

/** Checks a model (opened lazily or in memory) against a device profile. */
export function fitModel(model: Model, device: DeviceProfile, options: AnalyzeOptions = {}): FitReport {
  const report = analyzeModel(model, options);
  const m = report.model;
  const g = indexGraph(model.proto.graph!);

  const integerActivations = hasIntegerActivations(g);
  const arenaBytes = integerActivations ? int8ArenaBytes(g, model, options) : m.peakActivationBytes;
  const arenaBasis = integerActivations
    ? 'estimate for int8 deployment: peak live activations with float tensors between Q/DQ counted at 1 byte'
    : 'peak live activations in the model\'s dtypes (float32 = 4 bytes), batch 1';
  const arenaComplete = m.activationsUnknown === 0;
  const macsKnown = m.macsUnknownLayers === 0;
  const latency = latencyMs(report, g, device);

  const reasons: string[] = [];
  let undecided = false;
  if (device.flashBytes !== null && m.weightBytes > device.flashBytes) {
    reasons.push(`weights ${bytes(m.weightBytes)} exceed flash ${bytes(device.flashBytes)} by ${bytes(m.weightBytes - device.flashBytes)}`);
  }
  if (arenaBytes > device.ramBytes) {
    reasons.push(`${arenaComplete ? '' : 'at least '}activation arena ${bytes(arenaBytes)} exceeds RAM ${bytes(device.ramBytes)} by ${bytes(arenaBytes - device.ramBytes)}`);
  } else if (!arenaComplete) {
    undecided = true;
    reasons.push(`activation arena unknown: ${m.activationsUnknown} activations have symbolic sizes (${shapeHint(m)})`);
  }
  const exceeded = reasons.length > (undecided ? 1 : 0);

  const notes: string[] = [];
  if (!macsKnown) notes.push(`latency unknown: ${m.macsUnknownLayers} layers have MACs that depend on symbolic input dims (${shapeHint(m)})`);
  for (const note of [
    device.flashBytes === null ? undefined : headroomNote('flash', m.weightBytes, device.flashBytes),
    headroomNote('RAM', arenaBytes, device.ramBytes),
  ]) if (note) notes.push(note);
  if (!integerActivations && arenaComplete && m.peakActivationBytes > 0) {
    notes.push(`static int8 quantization would need an arena of about ${bytes(Math.ceil(m.peakActivationBytes / 4))} (float32 peak / 4, estimate)`);
  }
  notes.push(...device.notes);

  return {
    model: m.path,
    device: { ...device, macsPerSecond: { int8: macsPerSecond(device, 'int8'), fp32: macsPerSecond(device, 'fp32') } },
    weightBytes: m.weightBytes,
    flashBytes: device.flashBytes,
    arenaBytes,
    arenaBasis,
    arenaComplete,
    ramBytes: device.ramBytes,
    macs: macsKnown ? m.macs : null,
    computeDtype: latency.dtype,
    estimatedLatencyMs: macsKnown ? latency.ms : null,
    fits: exceeded ? false : undecided ? null : true,
    reasons,
    notes,
  };
}
