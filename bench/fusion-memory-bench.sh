#!/usr/bin/env bash
# Fusion's peak memory at the encoders' real widths (bench/fusion-memory-bench.js). With BEFORE=<git ref>,
# that commit is exported and built under ${BEFORE_DIR:-/tmp/oa-before-<sha>} first and measured the same way.
#   bash bench/fusion-memory-bench.sh [--durations 600,3600,7200] [--dim 768]
#   BEFORE=33708f5 bash bench/fusion-memory-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib/build-before.sh
[ -f services/fusion/dist/src/fusion-service.js ] && [ -f packages/policy/dist/src/index.js ] || pnpm exec tsc -b
roots=()
build_before services/fusion/dist/src/fusion-service.js
roots+=(--root "after=$PWD")
exec node bench/fusion-memory-bench.js "${roots[@]}" "$@"
