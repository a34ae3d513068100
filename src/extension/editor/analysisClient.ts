// Runs parsing and analysis in a worker thread so that a large model never blocks the extension host.
// The worker keeps the parsed model, so histograms for the selected layer are computed without re-reading.
import { Worker } from 'node:worker_threads';
import type { DeviceProfile } from '../../core/device/profiles';
import { isDeviceFitMark, isHistogramData, RpcEndpoint, type DeviceFitMark, type HistogramData } from '../../protocol';
import { isAnalysis, isFromWorker, type Analysis, type FromWorker, type ToWorker } from './analysisProtocol';

/** A worker started ahead of the next document, so that an open does not wait ~150 ms for a worker to boot. */
let spare: { script: string; worker: Worker } | undefined;

/** Starts a spare worker after `delayMs` (later than the busy moment of an open) unless one is waiting. */
export function prepareSpareWorker(script: string, delayMs: number): void {
  setTimeout(() => {
    if (spare) return;
    const s = { script, worker: new Worker(script) };
    spare = s;
    // An idle spare neither keeps the host alive nor crashes it; a failed one is simply not used.
    s.worker.unref();
    s.worker.on('error', () => undefined);
    s.worker.once('exit', () => { if (spare === s) spare = undefined; });
  }, delayMs).unref();
}

function takeWorker(script: string): Worker {
  if (spare?.script !== script) return new Worker(script);
  const { worker } = spare;
  spare = undefined;
  worker.ref();
  return worker;
}

export class AnalysisClient {
  private readonly worker: Worker;
  private readonly rpc: RpcEndpoint<ToWorker, FromWorker>;
  private exited = false;

  /** `script` is the bundled worker (dist/analysisWorker.js). */
  constructor(script: string, onEvent: (e: FromWorker) => void) {
    this.worker = takeWorker(script);
    this.rpc = new RpcEndpoint<ToWorker, FromWorker>((m) => this.worker.postMessage(m), isFromWorker, { handleEvent: onEvent });
    this.worker.on('message', (m) => void this.rpc.receive(m));
    this.worker.on('error', (e) => this.rpc.dispose(`analysis worker failed: ${e.message}`));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.rpc.dispose(`analysis worker exited (code ${code})`);
    });
  }

  analyse(source: { file?: string; bytes?: Uint8Array; dir?: string; inputShapes?: Record<string, number[]> }): Promise<Analysis> {
    return this.rpc.request({ type: 'analyse', ...source }, isAnalysis);
  }

  /** Analyses the model of the last analyse() again with other input shapes, without reading it again. */
  reanalyse(inputShapes: Record<string, number[]>): Promise<Analysis> {
    return this.rpc.request({ type: 'reanalyse', inputShapes }, isAnalysis);
  }

  histogram(layer: string, bins: number): Promise<HistogramData> {
    return this.rpc.request({ type: 'histogram', layer, bins }, isHistogramData);
  }

  /** The held model's fit on `device`, computed in the worker. */
  fit(device: DeviceProfile, inputShapes?: Record<string, number[]>): Promise<DeviceFitMark> {
    return this.rpc.request({ type: 'fit', device, inputShapes }, isDeviceFitMark);
  }

  async dispose(): Promise<void> {
    this.rpc.dispose('analysis cancelled');
    if (!this.exited) await this.worker.terminate();
  }
}

/** One model file analysed in its own worker, which ends with the analysis. */
export async function analyseOnce(script: string, file: string): Promise<Analysis> {
  const client = new AnalysisClient(script, () => undefined);
  try {
    return await client.analyse({ file });
  } finally {
    await client.dispose();
  }
}
