// The model's data input as a data set must fill it: the first graph input that is not an initializer.
import type { ModelProto } from '../onnx/proto';

export interface ModelInput {
  name: string;
  /** dims as numbers, or the symbolic name (or '?') where the size is not fixed */
  shape: (number | string)[];
}

export function modelInput(proto: ModelProto): ModelInput | undefined {
  const graph = proto.graph;
  if (!graph) return undefined;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const input = graph.input.find((v) => !initializers.has(v.name));
  if (!input) return undefined;
  const type = input.type?.value;
  const dims = type?.case === 'tensorType' ? type.value.shape?.dim ?? [] : [];
  const shape = dims.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : '?'));
  return { name: input.name, shape };
}
