// The measured work of bench/openAnalyse.mjs, one task per child process (so each run's peak RSS is its own):
//   generate FILE SCALE   write a ResNet-50-shaped model with widths × SCALE
//   analyse FILE          readModelSync (whole file in memory) and analyzeModel
//   analyse-lazy FILE     openModelLazy (structure only; each weight read from disk when analysed) and
//                         analyzeModel — what analyzeFile does
//   values FILE           open and decode every weight to numbers, counting elements and zeros — what the Python
//                         script does with onnx.load + numpy_helper.to_array
import { analyzeModel } from '../src/core/analysis/analyze';
import { openModelLazy, readModelSync, type LazyModel, type Model } from '../src/core/onnx/read';
import { tensorValues } from '../src/core/onnx/tensor';
import { writeModel } from '../src/core/onnx/write';
import { resnet50 } from './largeModels';

const [task, file, scale] = process.argv.slice(2);
const report = (fields: Record<string, number>) =>
  console.log(JSON.stringify({ ...fields, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));

if (task === 'generate') {
  writeModel(resnet50(Number(scale)), file);
} else if (task === 'analyse' || task === 'analyse-lazy') {
  const t0 = performance.now();
  const model: Model = task === 'analyse' ? readModelSync(file) : openModelLazy(file);
  const t1 = performance.now();
  const r = analyzeModel(model);
  if ('close' in model) (model as LazyModel).close();
  const t2 = performance.now();
  report({ openMs: t1 - t0, workMs: t2 - t1, params: r.model.params, zeros: r.model.zeros, bytes: model.fileBytes });
} else if (task === 'values') {
  const t0 = performance.now();
  const model = readModelSync(file);
  const t1 = performance.now();
  let params = 0;
  let zeros = 0;
  for (const t of model.proto.graph!.initializer) {
    const v = tensorValues(t, model);
    params += v.length;
    for (let i = 0; i < v.length; i++) if (v[i] === 0) zeros++;
  }
  const t2 = performance.now();
  report({ openMs: t1 - t0, workMs: t2 - t1, params, zeros, bytes: model.fileBytes });
} else {
  console.error('usage: openAnalyseTasks (generate FILE SCALE | analyse FILE | analyse-lazy FILE | values FILE)');
  process.exit(2);
}
