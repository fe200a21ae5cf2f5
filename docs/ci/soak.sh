#!/usr/bin/env bash
# Soak a pull request against its base branch on the same machine, and gate it.
#
#   docs/ci/soak.sh BASE_DIR PR_DIR OUT_DIR
#
# BASE_DIR and PR_DIR are two checkouts (the base branch and the pull request). Each is built
# (npm ci && npm run build), then `leakscope soak --against BASE_DIR` starts both services side by
# side, loads them in alternating rounds (base, PR, PR, base, …) and watches both: whatever the
# machine's load does during the run falls on both builds alike, so a busy runner does not fail
# the gate. OUT_DIR receives:
#   report.md   the PR comment (markdown)        junit.xml      for CI systems that read JUnit
#   figures.json  the PR's figures (a --save baseline, for a later --baseline comparison)
#   pr-run/ pr-run-baseline/  the run directories of the PR and of the base (profiles, snapshots)
# Exit status: the pull request's soak — 0 pass, 3 leak suspect, 4 regression, 1 failure.
#
# Settings (environment):
#   SOAK_CMD       the service's command; {port} is replaced, PORT is set (default: node dist/server.js)
#   SOAK_PATH      the path the load requests (default /)
#   SOAK_REQUESTS  a requests file instead of SOAK_PATH (one "[WEIGHT] METHOD /path" a line)
#   SOAK_RATE      requests per second (default 200)   SOAK_DURATION  measured load (default 60s)
#   SOAK_CONNECTIONS  concurrent connections (default 50)
#   SOAK_WARMUP    warm-up (default 10s)               SOAK_ROUNDS    rounds (default 6)
#   SOAK_LIMITS    --max-regression (default: leakscope's, p99=10%,rps=5%,errors=0.5pp,rss-slope=1MiB/min)
#   LEAKSCOPE      how to run leakscope (default: the pull request's PR_DIR/node_modules/.bin/leakscope)
set -euo pipefail
base=$(cd "$1" && pwd); pr=$(cd "$2" && pwd); mkdir -p "$3"; out=$(cd "$3" && pwd)
cmd=${SOAK_CMD:-node dist/server.js}
leakscope=${LEAKSCOPE:-$pr/node_modules/.bin/leakscope}
flags=(--url "http://127.0.0.1:{port}${SOAK_PATH:-/}" --rate "${SOAK_RATE:-200}" --connections "${SOAK_CONNECTIONS:-50}" --duration "${SOAK_DURATION:-60s}"
       --warmup "${SOAK_WARMUP:-10s}" --rounds "${SOAK_ROUNDS:-6}")
[ -n "${SOAK_REQUESTS:-}" ] && flags+=(--requests "$SOAK_REQUESTS")
[ -n "${SOAK_LIMITS:-}" ] && flags+=(--max-regression "$SOAK_LIMITS")

for dir in "$base" "$pr"; do (cd "$dir" && npm ci --no-audit --no-fund && npm run build --if-present); done

# the pull request against the base, side by side: markdown for the comment, JUnit beside it
set +e
(cd "$pr" && $leakscope soak "${flags[@]}" -o "$out/pr-run" --against "$base" --save "$out/figures.json" --junit "$out/junit.xml" --markdown -- $cmd > "$out/report.md")
code=$?
set -e
echo "soak.sh: leakscope soak exited $code (0 pass, 3 leak suspect, 4 regression)"
exit $code
