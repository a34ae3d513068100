// Worker-thread entry (bundled as dist/analysisWorker.js): parses the model once, analyses it, and answers
// histogram requests from the parsed model it keeps.
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { analyzeModel } from '../../core/analysis/analyze';
import { weightHistogram } from '../../core/analysis/histogram';
import { fitModel } from '../../core/device/fit';
import type { DeviceProfile } from '../../core/device/profiles';
import { nodeLabel } from '../../core/onnx/graph';
import type { GraphProto } from '../../core/onnx/proto';
import { unexportableNodes } from '../../core/tflite/support';
import { decodeModel, readModel, type Model } from '../../core/onnx/read';
import { packRows, RpcEndpoint, type CompactGraph, type DeviceFitMark, type HistogramData } from '../../protocol';
import { isToWorker, type Analysis, type FromWorker, type ToWorker } from './analysisProtocol';
import { compactGraph } from './compactGraph';

const port = parentPort;
if (!port) throw new Error('analysisWorker must run in a worker thread');

let model: Model | undefined;

async function analyse(req: Extract<ToWorker, { type: 'analyse' }>): Promise<Analysis> {
  rpc.notify({ type: 'progress', phase: 'reading', message: 'Reading the model…' });
  model = req.bytes
    ? decodeModel(req.bytes, { file: req.file, dir: req.dir ?? (req.file ? path.dirname(req.file) : undefined) })
    : await readModel(req.file as string);
  // A backup copy lives elsewhere: its external data is still next to the original model.
  if (req.dir) model.dir = req.dir;
  rpc.notify({ type: 'structure', graph: withExportMarks(compactGraph(model.proto.graph!, []), model.proto.graph!) });
  return analysisOf(model, req.inputShapes);
}

function analysisOf(m: Model, inputShapes: Record<string, number[]> | undefined): Analysis {
  rpc.notify({ type: 'progress', phase: 'analysing', message: 'Analysing layers…' });
  const report = analyzeModel(m, { inputShapes });
  // Packed here, off the extension host's thread: the host forwards the columns to the webview as they are.
  return { report: { model: report.model, layers: packRows(report.layers) }, graph: withExportMarks(compactGraph(m.proto.graph!, report.layers), m.proto.graph!) };
}

/** Marks the nodes the TFLite exporter has no conversion for (the editor shows them before Export for Microcontroller). */
function withExportMarks(graph: CompactGraph, proto: GraphProto): CompactGraph {
  const idOf = new Map(graph.names.map((name, id) => [name, id]));
  const ids = unexportableNodes(proto).map((u) => idOf.get(nodeLabel(proto.node[u.index]))).filter((id) => id !== undefined);
  return { ...graph, unexportable: ids };
}

/** The held model's fit on `device`: what the editor's badge shows (the full report stays here). */
function fitOf(m: Model, device: DeviceProfile, inputShapes: Record<string, number[]> | undefined): DeviceFitMark {
  const f = fitModel(m, device, { inputShapes });
  const dtype = f.computeDtype === 'mixed' ? (['int8', 'fp32'] as const) : [f.computeDtype];
  return {
    device: device.name, title: device.title, fits: f.fits, weightBytes: f.weightBytes, flashBytes: f.flashBytes, arenaBytes: f.arenaBytes,
    ramBytes: f.ramBytes, reasons: f.reasons, estimatedLatencyMs: f.estimatedLatencyMs,
    latencyBasis: dtype.map((d) => `${d}: ${device.macRate[d].basis}`).join('\n'), notes: f.notes,
  };
}

const rpc = new RpcEndpoint<FromWorker, ToWorker>((m) => port.postMessage(m), isToWorker, {
  handleRequest: (req) => {
    if (req.type === 'analyse') return analyse(req);
    if (!model) throw new Error('no model has been analysed yet');
    if (req.type === 'reanalyse') return analysisOf(model, req.inputShapes);
    if (req.type === 'fit') return fitOf(model, req.device, req.inputShapes);
    const h = weightHistogram(model, req.layer, req.bins);
    return { layer: req.layer, dtype: h.dtype, edges: h.edges, counts: h.counts, zeros: h.zeroCount } satisfies HistogramData;
  },
});

port.on('message', (m) => void rpc.receive(m));
