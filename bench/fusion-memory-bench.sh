#!/usr/bin/env bash
# Fusion's peak memory at the encoders' real widths (bench/fusion-memory-bench.js). With BEFORE=<git ref>,
# that commit is exported and built under ${BEFORE_DIR:-/tmp/oa-before-<sha>} first and measured the same way.
#   bash bench/fusion-memory-bench.sh [--durations 600,3600,7200] [--dim 768]
#   BEFORE=33708f5 bash bench/fusion-memory-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f services/fusion/dist/src/fusion-service.js ] && [ -f packages/policy/dist/src/index.js ] || pnpm exec tsc -b
roots=()
if [ -n "${BEFORE:-}" ]; then
  sha=$(git rev-parse --short "$BEFORE")
  dir=${BEFORE_DIR:-/tmp/oa-before-$sha}
  if [ ! -f "$dir/services/fusion/dist/src/fusion-service.js" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
    # an older tree's type-check may fail on files this bench does not load: what matters is the emitted service
    (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile --offline --reporter=silent && (pnpm exec tsc -b || true))
    [ -f "$dir/services/fusion/dist/src/fusion-service.js" ] || { echo "building $sha in $dir failed" >&2; exit 1; }
  fi
  roots+=(--root "before=$dir")
fi
roots+=(--root "after=$PWD")
exec node bench/fusion-memory-bench.js "${roots[@]}" "$@"
