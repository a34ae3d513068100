// Runs parsing and analysis in a worker thread so that a large model never blocks the extension host.
// The worker keeps the parsed model, so histograms for the selected layer are computed without re-reading.
import { Worker } from 'node:worker_threads';
import { isHistogramData, RpcEndpoint, type HistogramData } from '../../protocol';
import { isAnalysis, isFromWorker, type Analysis, type FromWorker, type ToWorker } from './analysisProtocol';

export class AnalysisClient {
  private readonly worker: Worker;
  private readonly rpc: RpcEndpoint<ToWorker, FromWorker>;
  private exited = false;

  /** `script` is the bundled worker (dist/analysisWorker.js). */
  constructor(script: string, onEvent: (e: FromWorker) => void) {
    this.worker = new Worker(script);
    this.rpc = new RpcEndpoint<ToWorker, FromWorker>((m) => this.worker.postMessage(m), isFromWorker, { handleEvent: onEvent });
    this.worker.on('message', (m) => void this.rpc.receive(m));
    this.worker.on('error', (e) => this.rpc.dispose(`analysis worker failed: ${e.message}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.rpc.dispose(`analysis worker exited (code ${code})`);
    });
  }

  analyse(source: { file?: string; bytes?: Uint8Array; dir?: string }): Promise<Analysis> {
    return this.rpc.request({ type: 'analyse', ...source }, isAnalysis);
  }

  histogram(layer: string, bins: number): Promise<HistogramData> {
    return this.rpc.request({ type: 'histogram', layer, bins }, isHistogramData);
  }

  async dispose(): Promise<void> {
    this.rpc.dispose('analysis cancelled');
    if (!this.exited) await this.worker.terminate();
  }
}
