#!/usr/bin/env bash
# Long-video + short-clip pipeline bench (see bench/README.md). With BEFORE=<git ref>, the same bench also runs
# against that commit, exported and built under ${BEFORE_DIR:-/tmp/oa-before-<sha>} (outside any worktree), first,
# so the before and after figures come from one run on one machine.
#   bash bench/long-video-bench.sh [--durations 600,3600,7200] [--clips 20] [--concurrency 4] ...
#   BEFORE=9d4de24 bash bench/long-video-bench.sh --durations 600,3600,7200
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f test/dist/support/stack-fixture.js ] && [ -f packages/cli/dist/src/research-api.js ] || pnpm exec tsc -b
roots=()
if [ -n "${BEFORE:-}" ]; then
  sha=$(git rev-parse --short "$BEFORE")
  dir=${BEFORE_DIR:-/tmp/oa-before-$sha}
  if [ ! -f "$dir/test/dist/support/stack-fixture.js" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
    # an older tree's type-check may fail on files the bench does not load (its browser tests' types):
    # what matters is that the files the bench runs were emitted
    (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile --offline --reporter=silent && (pnpm exec tsc -b || true))
    [ -f "$dir/test/dist/support/stack-fixture.js" ] || { echo "building $sha in $dir failed" >&2; exit 1; }
  fi
  roots+=(--root "before=$dir")
fi
roots+=(--root "after=$PWD")
exec node bench/long-video-bench.js "${roots[@]}" "$@"
