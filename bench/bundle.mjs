// The TypeScript a benchmark script uses (src/, test/builders, test/fixtures, test/e2e), bundled with esbuild into
// bench/out/<name>.bundle.cjs and loaded; native and browser-driving packages stay outside the bundle.
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';

/** `exports` are `export … from './src/…'` lines, paths relative to the repository root (the working folder). */
export async function loadTs(name, exports) {
  const outfile = path.resolve('bench/out', `${name}.bundle.cjs`);
  await esbuild.build({
    stdin: { contents: exports.join('\n'), resolveDir: process.cwd(), loader: 'ts' },
    bundle: true, platform: 'node', format: 'cjs', target: 'es2022', outfile,
    external: ['onnxruntime-node', 'sharp', 'playwright-core'], logLevel: 'warning',
  });
  return createRequire(import.meta.url)(outfile);
}
