#!/usr/bin/env bash
# Builds the web client: `npm ci` from the committed package-lock.json into NODE_DIR (once per
# lock file), then esbuild (build.mjs) into OUT_DIR. Called by CMake (src/webmail/CMakeLists.txt).
#   web/build.sh OUT_DIR NODE_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
node_dir=$2
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "webmail: npm or node not found: the web client is not built (scripts/setup installs them)"
  exit 0
fi
mkdir -p "$node_dir"
if ! cmp -s "$here/package-lock.json" "$node_dir/package-lock.json" || [ ! -d "$node_dir/node_modules" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
WEB_NODE_MODULES="$node_dir/node_modules" node "$here/build.mjs" "$out"
