// Bundles the extension, the CLI and the webview (and, with --tests, the test files) with esbuild.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');

// Native or VS Code-provided modules stay outside the bundles.
const nodeExternals = ['vscode', 'onnxruntime-node', 'sharp', 'playwright-core', '@vscode/test-electron', 'node-tflite'];

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', target: 'es2022' };

export const builds = [
  { ...common, entryPoints: ['src/extension/main.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', external: nodeExternals },
  { ...common, entryPoints: ['src/extension/editor/analysisWorker.ts'], outfile: 'dist/analysisWorker.js', platform: 'node', format: 'cjs', external: nodeExternals },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', external: nodeExternals,
    banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', format: 'iife' },
];

/** Every test/**\/*.test.ts becomes .build/test/**\/*.test.js, bundled so that node --test can run it. */
export function testBuild() {
  const entries = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'fixtures') walk(p); }
      else if (e.name.endsWith('.test.ts')) entries.push(p);
    }
  };
  walk('test');
  return { ...common, sourcemap: true, entryPoints: entries, outdir: '.build/test', outbase: 'test', platform: 'node', format: 'cjs', external: nodeExternals };
}

async function main() {
  const configs = [...builds.filter((b) => fs.existsSync(b.entryPoints[0])), ...(args.has('--tests') ? [testBuild()] : [])];
  if (watch) {
    for (const c of configs) await (await esbuild.context(c)).watch();
    return;
  }
  await Promise.all(configs.map((c) => esbuild.build(c)));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((e) => { console.error(e.message ?? e); process.exit(1); });
