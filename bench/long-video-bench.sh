#!/usr/bin/env bash
# Long-video + short-clip pipeline bench (see bench/README.md). With BEFORE=<git ref>, the same bench also runs
# against that commit, exported and built under ${BEFORE_DIR:-/tmp/oa-before-<sha>} (outside any worktree), first,
# so the before and after figures come from one run on one machine.
#   bash bench/long-video-bench.sh [--durations 600,3600,7200] [--clips 20] [--concurrency 4] ...
#   BEFORE=9d4de24 bash bench/long-video-bench.sh --durations 600,3600,7200
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/build-before.sh
[ -f test/dist/support/stack-fixture.js ] && [ -f packages/cli/dist/src/research-api.js ] || pnpm exec tsc -b
roots=()
build_before test/dist/support/stack-fixture.js
roots+=(--root "after=$PWD")
exec node bench/long-video-bench.js "${roots[@]}" "$@"
