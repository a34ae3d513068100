// Classifier-head distillation without training: the final Gemm/MatMul is re-fit in closed form (ridge
// regression) so that, on the compressed model's own features, it reproduces the teacher's logits
// (logit matching as in Hinton et al. 2015 / Ba & Caruana 2014, solved by least squares instead of SGD).
import { UsageError } from '../errors';
import { indexGraph } from '../onnx/graph';
import { tensorValues } from '../onnx/tensor';
import type { BatchSource } from '../eval/activations';
import { weightedLayers } from '../prune/layers';
import { reconstructLayers, type LayerFitReport, type ModelSource, type ReconstructOptions } from './reconstruct';

export interface HeadDistillOptions extends ReconstructOptions {
  /** keep the head's zero weights at zero (default true: distillation must not undo pruning) */
  keepZeros?: boolean;
}

/**
 * Re-fits the classifier of `student` (in place) to the logits of `teacher`: the head is the last
 * Conv/Gemm/MatMul whose output reaches a graph output; its output tensor must exist in the teacher
 * under the same name (true for pruned and quantized copies of the same model).
 */
export async function distillHead(teacher: ModelSource, student: ModelSource, calib: BatchSource, opts: HeadDistillOptions = {}): Promise<LayerFitReport> {
  const graph = student.proto.graph!;
  const index = indexGraph(graph);
  const heads = weightedLayers(graph, index).filter((l) => l.head && l.kind !== 'conv');
  const head = heads.at(-1);
  if (!head) throw new UsageError(opts.file, 'no classifier head found (a float MatMul, or Gemm without transA, whose output reaches a graph output)');
  const target = head.node.output[0];
  if (!indexGraph(teacher.proto.graph!).producer.has(target)) throw new UsageError(opts.file, `the teacher has no tensor '${target}' to match the head against`);
  let mask: Uint8Array | undefined;
  if (opts.keepZeros ?? true) {
    const w = index.constants.get(head.weightName)!;
    const values = tensorValues(w, student);
    mask = Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0));
    if (mask.every((m) => m === 1)) mask = undefined;
  }
  const [report] = await reconstructLayers(teacher, student, [{ name: head.name, mask, target }], calib, { damping: 1e-3, ...opts });
  return report;
}
