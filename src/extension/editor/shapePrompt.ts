// Concrete input shapes for the commands that run or convert a model (Profile Layer Latency, Export for
// Microcontroller): the shapes given in the editor, or — when an input has symbolic dims other than the batch and
// none were given — asked for, starting from the declared dims with batch 1.
import * as vscode from 'vscode';
import type { TensorSignature } from '../../core/analysis/report';
import { inputShapesText, parseInputShapes, unsizedInputs, type InputShapes } from './inputShapes';

/** The shapes to pass as `--shape`; undefined when the user pressed Escape. */
export async function fixedInputShapes(title: string, why: string, inputs: readonly TensorSignature[], given: InputShapes): Promise<InputShapes | undefined> {
  const open = unsizedInputs(inputs, given);
  if (open.length === 0) return given;
  const text = await vscode.window.showInputBox({
    title,
    prompt: `${why}: give ${open.map((i) => `'${i.name}'`).join(', ')} a size (several inputs: separate with ;)`,
    value: inputShapesText(inputs, given),
    ignoreFocusOut: true,
    validateInput: (v) => {
      const r = parseInputShapes(v, inputs);
      if (typeof r === 'string') return r;
      const missing = unsizedInputs(inputs, r)[0];
      return missing ? `'${missing.name}' needs a size` : undefined;
    },
  });
  if (text === undefined) return undefined;
  const shapes = parseInputShapes(text, inputs);
  return typeof shapes === 'string' ? undefined : shapes;
}
