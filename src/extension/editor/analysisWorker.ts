// Worker-thread entry (bundled as dist/analysisWorker.js): parses the model once, analyses it, and answers
// histogram requests from the parsed model it keeps.
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { analyzeModel } from '../../core/analysis/analyze';
import { weightHistogram } from '../../core/analysis/histogram';
import { decodeModel, readModel, type Model } from '../../core/onnx/read';
import { packRows, RpcEndpoint, type HistogramData } from '../../protocol';
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
  rpc.notify({ type: 'structure', graph: compactGraph(model.proto.graph!, []) });
  return analysisOf(model, req.inputShapes);
}

function analysisOf(m: Model, inputShapes: Record<string, number[]> | undefined): Analysis {
  rpc.notify({ type: 'progress', phase: 'analysing', message: 'Analysing layers…' });
  const report = analyzeModel(m, { inputShapes });
  // Packed here, off the extension host's thread: the host forwards the columns to the webview as they are.
  return { report: { model: report.model, layers: packRows(report.layers) }, graph: compactGraph(m.proto.graph!, report.layers) };
}

const rpc = new RpcEndpoint<FromWorker, ToWorker>((m) => port.postMessage(m), isToWorker, {
  handleRequest: (req) => {
    if (req.type === 'analyse') return analyse(req);
    if (!model) throw new Error('no model has been analysed yet');
    if (req.type === 'reanalyse') return analysisOf(model, req.inputShapes);
    const h = weightHistogram(model, req.layer, req.bins);
    return { layer: req.layer, dtype: h.dtype, edges: h.edges, counts: h.counts, zeros: h.zeroCount } satisfies HistogramData;
  },
});

port.on('message', (m) => void rpc.receive(m));
