// The rig's own promise: an extension whose activation throws fails the session quickly, with the extension
// host's error in the message, instead of a long wait for a webview that never comes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { EXTENSION_ID, VsCode } from './harness';

/** A package with the project's extension id whose activate() throws. */
function brokenVsix(dir: string): string {
  const [publisher, name] = EXTENSION_ID.split('.');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name, publisher, version: '0.0.1', license: 'MIT', engines: { vscode: '^1.100.0' },
    main: './extension.js', activationEvents: ['onStartupFinished'],
  }));
  fs.writeFileSync(path.join(dir, 'README.md'), '# broken on purpose\n');
  fs.writeFileSync(path.join(dir, 'extension.js'), "exports.activate = () => { throw new Error('deliberate activation failure'); };\n");
  const vsix = path.join(dir, 'broken.vsix');
  execFileSync(path.resolve('node_modules/.bin/vsce'), ['package', '--skip-license', '--allow-missing-repository', '--out', vsix],
    { cwd: dir, stdio: 'pipe' });
  return vsix;
}

test('an extension that throws in activate() fails the session fast with the extension host error', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-broken-'));
  try {
    const vsix = brokenVsix(dir);
    const started = Date.now();
    await assert.rejects(
      VsCode.start({ name: 'harness-broken-extension', files: { 'README.md': '# workspace\n' }, vsix }),
      (e: Error) => e.message.includes(`activation of ${EXTENSION_ID} failed`) && e.message.includes('deliberate activation failure'),
    );
    // Well under the 60 s activation timeout: the failure is read from the log as soon as it is written.
    assert.ok(Date.now() - started < 45_000, `failed after ${Date.now() - started} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
