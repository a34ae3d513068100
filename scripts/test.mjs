// The test command (`npm test`): type-checks, builds the test bundles, prepares the real VS Code for the e2e
// suite, and runs every test with node's test runner. `node scripts/test.mjs unit` skips the e2e suite.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const which = process.argv[2] ?? 'all';
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

// esbuild strips types without checking them: the type check is part of the tests.
run(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.']);
run(process.execPath, ['esbuild.mjs']);
run(process.execPath, ['esbuild.mjs', '--tests']);

const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js')) files.push(p);
  }
};
walk('.build/test');
const isE2e = (f) => f.split(path.sep).includes('e2e');
let selected = files.filter((f) => (which === 'unit' ? !isE2e(f) : which === 'e2e' ? isE2e(f) : true));
if (which !== 'unit' && selected.some(isE2e)) {
  // Installs code-server, Chromium and packages the .vsix; fails loudly if that is impossible.
  run('bash', ['scripts/e2e-setup.sh']);
}
selected.sort((a, b) => Number(isE2e(a)) - Number(isE2e(b)));
run(process.execPath, ['--test', '--test-concurrency=1', ...selected]);
