// The models recipes name, analysed in the editor's analysis worker (off the extension host's thread) and
// cached by path, modification time and size, so that typing in a recipe never analyses its model again.
import fs from 'node:fs/promises';
import type { LayerStats } from '../../core/analysis/report';
import { unpackRows } from '../../protocol';
import { AnalysisClient } from '../editor/analysisClient';
import type { RecipeModel } from './layerMatch';

export class RecipeModels {
  private readonly cache = new Map<string, { stamp: string; model: Promise<RecipeModel> }>();

  /** `workerScript` is the bundled analysis worker (dist/analysisWorker.js). */
  constructor(private readonly workerScript: string) {}

  /** The analysed model, or a rejection naming what is wrong with the file (missing, not ONNX, …). */
  async get(file: string): Promise<RecipeModel> {
    const { mtimeMs, size } = await fs.stat(file);
    const stamp = `${mtimeMs}:${size}`;
    const hit = this.cache.get(file);
    if (hit?.stamp === stamp) return hit.model;
    const model = this.analyse(file);
    this.cache.set(file, { stamp, model });
    // A failed analysis is not kept: the next request tries again (the file may be mid-write).
    model.catch(() => { if (this.cache.get(file)?.model === model) this.cache.delete(file); });
    return model;
  }

  private async analyse(file: string): Promise<RecipeModel> {
    const client = new AnalysisClient(this.workerScript, () => undefined);
    try {
      const { report, graph } = await client.analyse({ file });
      const layers = unpackRows(report.layers) as unknown as LayerStats[] | undefined;
      if (!layers) throw new Error(`the analysis of ${file} came back malformed`);
      return { file, layers, nodes: { names: graph.names, ops: graph.ops } };
    } finally {
      void client.dispose();
    }
  }

  clear(): void {
    this.cache.clear();
  }
}
