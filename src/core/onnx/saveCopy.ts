// Save As for models with external data: the .onnx file names its data files relative to its own folder, so a
// copy in another folder needs those files beside it. They are copied (never overwriting a file already there),
// then the model is written atomically; a model without external data is just written.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors';
import { checkLocation, externalRef, isExternal, resolveExternalPath } from './externalData';
import { decodeModel, forEachGraph } from './read';
import { writeFileAtomicAsync } from './write';

/** The external data files the model refers to, as locations relative to its folder (each once). */
export function externalLocations(bytes: Uint8Array, modelFile?: string): string[] {
  const { proto } = decodeModel(bytes, { file: modelFile });
  const locations = new Set<string>();
  forEachGraph(proto.graph!, (g) => { for (const t of g.initializer.filter(isExternal)) locations.add(externalRef(t, modelFile).location); });
  return [...locations];
}

/**
 * Writes `bytes` (a model read from `sourceFile`) to `destination`, with copies of its external data files
 * when the destination is in another folder. A data file that already exists at the destination is refused
 * (it may be another model's): nothing is written then.
 */
export async function saveModelCopy(bytes: Uint8Array, sourceFile: string, destination: string): Promise<void> {
  const fromDir = path.dirname(path.resolve(sourceFile));
  const toDir = path.dirname(path.resolve(destination));
  const locations = fromDir === toDir ? [] : externalLocations(bytes, sourceFile);
  const copies = locations.map((location) => {
    const to = path.join(toDir, ...checkLocation(location, toDir, destination));
    if (fs.existsSync(to)) throw new UsageError(destination, `its external data file ${to} already exists; choose another folder`);
    return { from: resolveExternalPath(fromDir, location, sourceFile), to };
  });
  for (const { from, to } of copies) {
    await fs.promises.mkdir(path.dirname(to), { recursive: true });
    await fs.promises.copyFile(from, to, fs.constants.COPYFILE_EXCL);
  }
  await writeFileAtomicAsync(destination, bytes);
}
