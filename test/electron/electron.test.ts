// The @vscode/test-electron suite: runs test/electron/suite/ inside a desktop VS Code when one is available
// (env VSCODE_EXECUTABLE, or a copy pre-downloaded into .vscode-test/). It never downloads: this workplace
// cannot reach the VS Code download servers, so without an executable the test is skipped and says why.
// The e2e suite in test/e2e/ (code-server) is the one that always runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runTests } from '@vscode/test-electron';
import { smallNet } from '../e2e/models';

/** VSCODE_EXECUTABLE, or the newest complete download in .vscode-test/ (folders marked is-complete). */
function findVsCode(): string | undefined {
  if (process.env.VSCODE_EXECUTABLE) return process.env.VSCODE_EXECUTABLE;
  const cache = path.resolve('.vscode-test');
  if (!fs.existsSync(cache)) return undefined;
  const candidates = fs.readdirSync(cache).filter((d) => d.startsWith('vscode-linux-') && fs.existsSync(path.join(cache, d, 'is-complete'))).sort().reverse();
  for (const d of candidates) {
    const exe = path.join(cache, d, 'code');
    if (fs.existsSync(exe)) return exe;
  }
  return undefined;
}

const executable = findVsCode();
const skip = executable
  ? false
  : 'no VS Code executable: set VSCODE_EXECUTABLE=/path/to/code or pre-download one into .vscode-test/ ' +
    '(downloads are impossible here, so @vscode/test-electron never downloads); the code-server e2e suite covers the editor';

test('the extension activates and opens a model in its custom editor inside desktop VS Code (@vscode/test-electron)', { skip, timeout: 300_000 }, async () => {
  if (!fs.existsSync(executable!)) throw new Error(`VSCODE_EXECUTABLE=${executable} does not exist`);
  if (!process.env.DISPLAY) throw new Error(`VS Code found at ${executable}, but there is no DISPLAY: run the tests under xvfb-run`);
  // The suite runs inside the extension host (it imports 'vscode'), so it is bundled here, not by node --test.
  const suite = path.resolve('.build/test/electron/suite/index.js');
  execFileSync(path.resolve('node_modules/.bin/esbuild'), ['test/electron/suite/index.ts', '--bundle', '--platform=node', '--format=cjs',
    '--external:vscode', `--outfile=${suite}`, '--log-level=warning'], { stdio: 'inherit' });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-electron-'));
  const workspace = path.join(root, 'workspace');
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(workspace, 'small-net.onnx'), smallNet({ quantizeConv2: true }));
  try {
    const code = await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: path.resolve('.'),
      extensionTestsPath: suite,
      launchArgs: [workspace, '--user-data-dir', path.join(root, 'user-data'), '--extensions-dir', path.join(root, 'extensions'), '--disable-gpu'],
    });
    if (code !== 0) throw new Error(`the VS Code test run exited with ${code}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
