// Save As for models with external data: the .onnx file names its data files relative to its own folder, so a
// copy in another folder needs those files beside it. They are copied (never overwriting a file already there),
// then the model is written atomically; a model without external data is just written.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors';
import { checkLocation, resolveExternalPath } from './externalData';
import { writeFileAtomicAsync } from './write';

/**
 * Writes `bytes` (a model read from `sourceFile`, whose tensors point to the external data files `locations`,
 * as the analysis lists them) to `destination`, with copies of those files when the destination is in another
 * folder. A data file that already exists at the destination is refused (it may be another model's): nothing
 * is written then.
 */
export async function saveModelCopy(bytes: Uint8Array, sourceFile: string, destination: string, locations: readonly string[]): Promise<void> {
  const fromDir = path.dirname(path.resolve(sourceFile));
  const toDir = path.dirname(path.resolve(destination));
  const copies = fromDir === toDir ? [] : locations.map((location) => {
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
