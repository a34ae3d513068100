// Drives a real VS Code: code-server on 127.0.0.1 with the packaged .vsix installed, shown in Debian's
// Chromium through playwright-core. Paths come from .e2e/env, written by scripts/e2e-setup.sh.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const EXTENSION_ID = 'onnx-lens.onnx-lens';
export const ARTIFACTS = path.resolve('test-results', 'e2e');
// VS Code 1.139 names its built-in themes "Dark Modern" / "Light Modern" (the "Default …" names are gone).
export const THEMES = { dark: 'Dark Modern', light: 'Light Modern' } as const;
export type Theme = keyof typeof THEMES;

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RigPaths { codeServer: string; chromium: string; vsix: string }

/** The installed rig; a missing piece is an error that says how to get it, never a skip. */
export function rigPaths(): RigPaths {
  const envFile = path.resolve('.e2e', 'env');
  if (!fs.existsSync(envFile)) throw new Error(`${envFile} is missing: run 'bash scripts/e2e-setup.sh' first (npm test does)`);
  const env = Object.fromEntries(fs.readFileSync(envFile, 'utf8').split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
  const paths = { codeServer: env.CODE_SERVER, chromium: env.CHROMIUM, vsix: env.VSIX };
  for (const [what, p] of Object.entries(paths)) {
    if (!p || !fs.existsSync(p)) throw new Error(`${what} (${p}) from ${envFile} does not exist: rerun 'bash scripts/e2e-setup.sh'`);
  }
  return paths;
}

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = net.createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
});

/** Polls `probe` until it returns a value, failing after `ms` with `what` (and whatever `check` throws). */
export async function waitFor<T>(what: string, ms: number, probe: () => T | undefined | Promise<T | undefined>, check?: () => void): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    check?.();
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(150);
  }
}

function userSettings(theme: Theme): Record<string, unknown> {
  return {
    'workbench.colorTheme': THEMES[theme],
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'chat.disableAIFeatures': true,
    'chat.commandCenter.enabled': false,
    'window.commandCenter': false,
    'git.enabled': false,
    'npm.autoDetect': 'off',
    'typescript.disableAutomaticTypeAcquisition': true,
    'files.hotExit': 'off',
  };
}

export interface StartOptions {
  /** names the artifacts folder test-results/e2e/<name>/ */
  name: string;
  /** files to place in the workspace: name → contents, or { copy: path } */
  files: Record<string, string | Uint8Array | { copy: string }>;
  theme?: Theme;
  viewport?: { width: number; height: number };
  /** another package instead of .e2e/onnx-lens.vsix (the harness's own tests use a broken one) */
  vsix?: string;
  /** workspace trust on (off by default): the workspace opens untrusted, in Restricted Mode */
  workspaceTrust?: boolean;
  /** user settings over the defaults below (e.g. `files.hotExit` for a hot-exit test) */
  settings?: Record<string, unknown>;
}

export class VsCode {
  private constructor(
    readonly page: Page,
    readonly workspace: string,
    readonly artifacts: string,
    private readonly root: string,
    private readonly userData: string,
    private readonly server: ChildProcess,
    private readonly browser: BrowserContext,
    private readonly serverExit: () => string | undefined,
  ) {}

  static async start(opts: StartOptions): Promise<VsCode> {
    const rig = { ...rigPaths(), ...(opts.vsix ? { vsix: opts.vsix } : {}) };
    const artifacts = path.join(ARTIFACTS, opts.name);
    fs.mkdirSync(artifacts, { recursive: true });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-lens-e2e-'));
    const dirs = { userData: path.join(root, 'user-data'), extensions: path.join(root, 'extensions'), workspace: path.join(root, 'workspace'), profile: path.join(root, 'chromium') };
    for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
    fs.mkdirSync(path.join(dirs.userData, 'User'));
    fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...userSettings(opts.theme ?? 'dark'), ...opts.settings }, null, 2));
    if (opts.workspaceTrust) {
      const settingsFile = path.join(dirs.userData, 'User', 'settings.json');
      const trustOn = { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' };
      fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(settingsFile, 'utf8')), ...trustOn }, null, 2));
    }
    for (const [name, content] of Object.entries(opts.files)) {
      const dest = path.join(dirs.workspace, name);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (typeof content === 'object' && 'copy' in content) fs.copyFileSync(content.copy, dest);
      else fs.writeFileSync(dest, content);
    }

    // Own config and XDG dirs keep ~/.config, ~/.local/share and ~/.cache untouched; the gallery points
    // at a closed port so nothing tries the marketplace.
    const config = path.join(root, 'code-server.yaml');
    fs.writeFileSync(config, 'auth: none\ncert: false\n');
    const xdg = { XDG_DATA_HOME: path.join(root, 'xdg/data'), XDG_CONFIG_HOME: path.join(root, 'xdg/config'), XDG_CACHE_HOME: path.join(root, 'xdg/cache') };
    const env = {
      ...process.env, ...xdg, PASSWORD: '', HASHED_PASSWORD: '', VSCODE_PROXY_URI: '',
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9/gallery', itemUrl: 'http://127.0.0.1:9/items' }),
    };
    const common = ['--config', config, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
    const installed = await run(rig.codeServer, [...common, '--install-extension', rig.vsix], { env, timeout: 60_000 })
      .catch((e: Error & { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? e.message, stderr: e.stderr ?? '' }));
    if (!/successfully installed/i.test(installed.stdout)) {
      fs.rmSync(root, { recursive: true, force: true });
      throw new Error(`installing ${rig.vsix} failed:\n${installed.stdout}\n${installed.stderr}`);
    }

    const port = await freePort();
    const serverLog = fs.createWriteStream(path.join(artifacts, 'code-server.log'));
    const server = spawn(rig.codeServer, [
      ...common, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
      ...(opts.workspaceTrust ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--ignore-last-opened', '--locale', 'en', '--log', 'info',
      dirs.workspace,
    ], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.pipe(serverLog);
    server.stderr!.pipe(serverLog);
    let exited: string | undefined;
    server.on('exit', (code, signal) => { exited = `code-server exited (code ${code}, signal ${signal}); see ${artifacts}/code-server.log`; });
    const alive = () => { if (exited) throw new Error(exited); };

    let browser: BrowserContext | undefined;
    try {
      await waitFor('code-server /healthz', 30_000, async () => {
        try { return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined; } catch { return undefined; }
      }, alive);
      browser = await chromium.launchPersistentContext(dirs.profile, {
        executablePath: rig.chromium, headless: true, env: { ...process.env, ...xdg },
        viewport: opts.viewport ?? { width: 1600, height: 1000 }, timeout: 30_000,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      });
      const page = browser.pages()[0] ?? await browser.newPage();
      page.setDefaultTimeout(30_000);
      const vscode = new VsCode(page, dirs.workspace, artifacts, root, dirs.userData, server, browser, () => exited);
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`, { waitUntil: 'domcontentloaded' });
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
      await vscode.waitForActivation();
      return vscode;
    } catch (e) {
      if (browser) await browser.pages()[0]?.screenshot({ path: path.join(artifacts, 'startup-failure.png') }).catch(() => undefined);
      await browser?.close().catch(() => undefined);
      await stopGroup(server);
      fs.writeFileSync(path.join(artifacts, 'exthost.log'), readLogs(dirs.userData, (f) => f.endsWith('exthost.log')));
      fs.rmSync(root, { recursive: true, force: true });
      throw e;
    }
  }

  /** Concatenated extension-host logs (activation start and activation errors are logged there). */
  exthostLog(): string {
    return readLogs(this.userData, (f) => f.endsWith('exthost.log'));
  }

  /** Every log file of this session (Output channels are written there too). */
  allLogs(): string {
    return readLogs(this.userData, (f) => f.endsWith('.log'));
  }

  /** Activation started and did not fail; the "ONNX Lens activated" Output line is awaited when it appears. */
  private async waitForActivation(): Promise<void> {
    const failed = () => {
      const log = this.exthostLog();
      const i = log.indexOf(`Activating extension ${EXTENSION_ID} failed`);
      if (i >= 0) throw new Error(`activation of ${EXTENSION_ID} failed:\n${log.slice(i).split('\n').slice(0, 12).join('\n')}`);
      const exited = this.serverExit();
      if (exited) throw new Error(exited);
    };
    await waitFor(`activation of ${EXTENSION_ID} (ExtensionService#_doActivateExtension in the exthost log)`, 60_000,
      () => (this.exthostLog().includes(`ExtensionService#_doActivateExtension ${EXTENSION_ID}`) ? true : undefined), failed);
    // activate() may still throw after it started: give it a bounded moment to say "activated".
    await waitFor('"ONNX Lens activated"', 3_000, () => (this.allLogs().includes('ONNX Lens activated') ? true : undefined), failed)
      .catch((e: Error) => { if (!e.message.startsWith('timed out')) throw e; });
    failed();
  }

  /** Double-clicks a workspace file in the Explorer and waits for its editor tab. */
  async openFromExplorer(fileName: string): Promise<void> {
    const row = this.page.locator('.explorer-folders-view .monaco-list-row', { has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(fileName)}$`) }) });
    await row.first().dblclick({ timeout: 30_000 });
    await this.page.locator('.tabs-container .tab', { hasText: fileName }).first().waitFor({ timeout: 30_000 });
  }

  /** The inner frame of the visible ONNX Lens webview, once the app says it is ready. */
  async editor(timeout = 60_000): Promise<FrameLocator> {
    const outer = this.page.locator('iframe.webview.ready').filter({ visible: true });
    await outer.first().waitFor({ timeout });
    const frame = outer.first().contentFrame().frameLocator('#active-frame');
    await frame.locator('#app[data-ready="true"]').waitFor({ timeout });
    return frame;
  }

  /** Runs a palette command by its full title ("ONNX Lens: Open Model"). */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${title}`);
    await this.pickRow(title);
  }

  /** Answers the simple file dialog (Save As, a save dialog of a command) with `file`, and waits for the file. */
  async saveDialog(file: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    // The dialog fills in its own path once it has read the folder, which may overwrite an early fill.
    for (let i = 0; i < 30 && (await input.inputValue()) !== file; i++) {
      await input.fill(file);
      await sleep(500);
    }
    if ((await input.inputValue()) !== file) throw new Error(`the file dialog shows '${await input.inputValue()}', not ${file}`);
    await this.page.keyboard.press('Enter');
    const end = Date.now() + 30_000;
    while (!fs.existsSync(file) && Date.now() < end) await sleep(200);
    if (!fs.existsSync(file)) throw new Error(`the dialog did not write ${path.basename(file)}`);
  }

  /** Clicks the quick-input row labelled exactly `label` (the highlighted row may be another fuzzy match). */
  private async pickRow(label: string): Promise<void> {
    const exact = this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(label)}$`) });
    await this.page.locator('.quick-input-list .monaco-list-row', { has: exact }).first().click({ timeout: 15_000 });
  }

  /** Types `value` into the input box titled `title` (once it is up, replacing its text) and accepts it. */
  async fillInput(title: string, value: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const titled = widget.locator('.quick-input-title', { hasText: title });
    await titled.waitFor({ state: 'visible', timeout: 15_000 });
    const input = widget.locator('input.input');
    await waitFor(`'${title}' showing '${value}'`, 15_000, async () => {
      if ((await input.inputValue()) === value) return true;
      await input.fill(value);
      return undefined;
    });
    await this.page.keyboard.press('Enter');
    await titled.waitFor({ state: 'hidden', timeout: 15_000 });
  }

  /**
   * Accepts an input box once it shows `value` (its default): the command palette's own input closes first, then
   * the prompt opens with its value; fails if the prompt does not show it.
   */
  async acceptInputValue(value: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget input.input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await waitFor(`an input box showing '${value}'`, 15_000, async () => ((await input.inputValue()) === value ? true : undefined));
    await this.page.keyboard.press('Enter');
  }

  /**
   * Accepts the item labelled exactly `label` of the quick pick titled `title`, with the keyboard: Down until that
   * row has the focus, then Enter. A click can land on the neighbouring row while the list still moves into place,
   * and a quick pick that follows another reuses its rows, so the title says which pick is up.
   */
  async pickItem(title: string, label: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const titled = widget.locator('.quick-input-title', { hasText: title });
    await titled.waitFor({ state: 'visible', timeout: 15_000 }).catch(async (e: Error) => {
      const shown = await widget.locator('.quick-input-title').first().innerText({ timeout: 1_000 }).catch(() => 'none');
      await this.screenshot('pick-item-failed').catch(() => undefined);
      throw new Error(`the quick pick '${title}' did not open (title shown: '${shown}'): ${e.message}`);
    });
    const input = widget.locator('input.input');
    const focused = widget.locator('.quick-input-list .monaco-list-row.focused .label-name');
    // Keys go to the quick pick's input only once it has the keyboard focus; a key sent while the pick is still
    // opening goes elsewhere. So: focus the input, move to the row, press Enter, and again while the pick stays up.
    await waitFor(`'${title}' accepting '${label}'`, 30_000, async () => {
      if (!(await titled.isVisible())) return true;
      await input.focus();
      const text = (await focused.count()) ? await focused.first().innerText() : undefined;
      if (text !== label) {
        await this.page.keyboard.press('ArrowDown');
        await sleep(100);
        return undefined;
      }
      await this.page.keyboard.press('Enter');
      await titled.waitFor({ state: 'hidden', timeout: 3_000 }).catch(() => undefined);
      return (await titled.isVisible()) ? undefined : true;
    });
  }

  /** Texts of the Problems panel rows. */
  async problems(): Promise<string[]> {
    await this.page.keyboard.press('Control+Shift+M');
    await this.page.locator('.markers-panel').waitFor({ timeout: 15_000 });
    return this.page.locator('.markers-panel .monaco-list-row').allInnerTexts();
  }

  /** Switches the colour theme the way a user does: "Preferences: Color Theme" in the palette. */
  async setTheme(theme: Theme): Promise<void> {
    await this.runCommand('Preferences: Color Theme');
    const input = this.page.locator('.quick-input-widget input.input');
    await input.fill(THEMES[theme]);
    await this.pickRow(THEMES[theme]);
    await this.page.locator(`.monaco-workbench.${theme === 'dark' ? 'vs-dark' : 'vs'}`).waitFor({ timeout: 20_000 });
  }

  /** Saves a screenshot of the page, or of the area covering `targets`, to test-results/e2e/<name>/<file>.png. */
  async screenshot(file: string, ...targets: Locator[]): Promise<string> {
    const p = path.join(this.artifacts, `${file}.png`);
    if (!targets.length) {
      await this.page.screenshot({ path: p, timeout: 15_000 });
      return p;
    }
    if (targets.length === 1) {
      await targets[0].screenshot({ path: p, timeout: 15_000 });
      return p;
    }
    // Several elements (e.g. a sticky header and what follows it): scroll their document back to the top,
    // let that frame paint, then clip the page to the area covering them all.
    await targets[0].evaluate((e) => new Promise<void>((resolve) => {
      for (let el: Element | null = e; el; el = el.parentElement) el.scrollTop = 0;
      document.scrollingElement?.scrollTo(0, 0);
      requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
    }), undefined, { timeout: 15_000 });
    const boxes = await Promise.all(targets.map(async (t) => {
      const b = await t.boundingBox({ timeout: 15_000 });
      if (!b) throw new Error(`nothing visible to screenshot for ${file}`);
      return b;
    }));
    const x = Math.min(...boxes.map((b) => b.x)), y = Math.min(...boxes.map((b) => b.y));
    const clip = { x, y, width: Math.max(...boxes.map((b) => b.x + b.width)) - x, height: Math.max(...boxes.map((b) => b.y + b.height)) - y };
    await this.page.screenshot({ path: p, clip, timeout: 15_000 });
    return p;
  }

  async close(): Promise<void> {
    fs.writeFileSync(path.join(this.artifacts, 'exthost.log'), this.exthostLog());
    await this.browser.close().catch(() => undefined);
    await stopGroup(this.server);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** The contents of the session's log files (under <user-data>/logs) whose path passes `keep`. */
function readLogs(userData: string, keep: (file: string) => boolean): string {
  const logs = path.join(userData, 'logs');
  if (!fs.existsSync(logs)) return '';
  return fs.readdirSync(logs, { recursive: true }).map(String).filter(keep)
    .filter((f) => fs.statSync(path.join(logs, f)).isFile())
    .map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('\n');
}

/** Stops code-server and everything it started (server, extension host, pty host, watcher). */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (!pid) return;
  const alive = () => { try { process.kill(-pid, 0); return true; } catch { return false; } };
  const signalGroup = (s: NodeJS.Signals) => { try { process.kill(-pid, s); } catch { /* already gone */ } };
  signalGroup('SIGTERM');
  for (let i = 0; i < 20 && alive(); i++) await sleep(100);
  signalGroup('SIGKILL');
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
