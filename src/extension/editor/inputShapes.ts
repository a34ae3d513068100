// The input shapes a user gives for a model whose inputs have symbolic dims, typed as `x=1,3,48,192; y=1,10`,
// so that every layer's MACs can be counted.
import type { TensorSignature } from '../../core/analysis/report';
import { inputDims } from '../../protocol';

export type InputShapes = Record<string, number[]>;

/** Parses `name=d1,d2,…` entries separated by `;`; returns an error message instead when the text is not that. */
export function parseInputShapes(text: string, inputs: readonly TensorSignature[]): InputShapes | string {
  const shapes: InputShapes = {};
  for (const entry of text.split(';').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)\s*=\s*(\d+(?:\s*[,x]\s*\d+)*)$/.exec(entry);
    if (!m) return `'${entry}' is not NAME=D1,D2,… with positive integers (e.g. x=1,3,224,224)`;
    const input = inputs.find((i) => i.name === m[1]);
    if (!input) return `'${m[1]}' is not an input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`;
    const dims = m[2].split(/\s*[,x]\s*/).map(Number);
    if (dims.some((d) => d < 1)) return `dimensions of '${m[1]}' must be positive`;
    if (dims.length !== input.shape.length) return `'${m[1]}' has ${input.shape.length} dimensions, not ${dims.length}`;
    const fixed = input.shape.findIndex((d, k) => typeof d === 'number' && d > 0 && d !== dims[k]);
    if (fixed >= 0) return `dimension ${fixed} of '${m[1]}' is fixed at ${input.shape[fixed]} by the model`;
    shapes[m[1]] = dims;
  }
  return shapes;
}

/** The text to start editing from: given shapes, else the declared ones with batch 1 and `?` for other symbolic dims. */
export function inputShapesText(inputs: readonly TensorSignature[], given: InputShapes): string {
  return inputs.map((i) => `${i.name}=${inputDims(i, given[i.name]).join(',')}`).join('; ');
}

/** The inputs a run or a conversion cannot take as declared: a symbolic dim other than the batch, and no shape given. */
export function unsizedInputs<T extends { name: string; shape: readonly (number | string)[] }>(inputs: readonly T[], given: Readonly<InputShapes>): T[] {
  return inputs.filter((i) => !given[i.name] && i.shape.some((d, k) => k > 0 && !(typeof d === 'number' && d > 0)));
}

/** The shapes as the CLI's repeatable `--shape NAME=DIMS`. */
export function shapeArgs(shapes: Readonly<InputShapes>): string[] {
  return Object.entries(shapes).flatMap(([name, dims]) => ['--shape', `${name}=${dims.join(',')}`]);
}
