// An edited document's current bytes as a file for a child process (benchmark, profile), removed afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs `use` on a temporary `<name>.edited.onnx` holding `bytes`; the file and its folder are removed after. */
export async function withTemporaryModel<T>(name: string, bytes: Uint8Array, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'onnx-lens-edited-'));
  try {
    const file = path.join(dir, `${path.parse(name).name}.edited.onnx`);
    await fs.promises.writeFile(file, bytes);
    return await use(file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
