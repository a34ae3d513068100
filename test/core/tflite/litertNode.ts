// LiteRT.js (@litertjs/core, Google's LiteRT WASM build) under Node: its loader adds the Emscripten script with
// importScripts (workers) or a <script> tag (pages), neither of which Node has; this shim runs that script itself.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadLiteRt, loadAndCompile, Tensor } from '@litertjs/core';

// Resolved at run time (the package is bundled into the test, its wasm directory is not).
const WASM_DIR = path.join(path.dirname(createRequire(__filename).resolve('@litertjs/core/package.json')), 'wasm');

let loading: Promise<unknown> | undefined;

function load(): Promise<unknown> {
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  // The Emscripten script is UMD: run it as CommonJS and hand its factory to the loader as a worker's script would.
  g.importScripts = (url: string) => {
    const module = { exports: {} as unknown };
    new Function('module', 'exports', 'require', '__dirname', '__filename', fs.readFileSync(url, 'utf8'))(
      module, module.exports, createRequire(url), path.dirname(url), url);
    g.ModuleFactory = module.exports;
  };
  return (loading ??= quietly(() => loadLiteRt(WASM_DIR + path.sep)));
}

/** Node has no WebGPU: LiteRT's warning that it cannot create a device (with a stack trace) is dropped; it runs on its CPU (XNNPACK) path. */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => { if (!String(args[0]).startsWith('Failed to create default WebGPU device')) warn(...args); };
  try {
    return await f();
  } finally {
    console.warn = warn;
  }
}

/** Runs a float-io .tflite on each sample (NHWC float32 of `shape`) with LiteRT's CPU path; the outputs concatenated. */
export async function runLiteRt(bytes: Uint8Array, shape: number[], samples: Float32Array[]): Promise<Float32Array[]> {
  await load();
  const model = await loadAndCompile(bytes, { accelerator: 'wasm' });
  const results: Float32Array[] = [];
  for (const x of samples) {
    const input = new Tensor(x, shape);
    const [output] = await model.run([input]);
    results.push(Float32Array.from(output.toTypedArray() as Float32Array));
    input.delete();
    output.delete();
  }
  model.delete();
  return results;
}
