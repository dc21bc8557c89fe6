#!/usr/bin/env bash
# Pipeline bench: starts an isolated stack (tiny model pack, real Redis/PostgreSQL/ffmpeg/ONNX, like the e2e tests),
# generates N synthetic clips and sends them through the gateway, printing per-video end-to-end wall time
# (submit → features fetched) one video at a time, then the throughput with C videos in flight.
#   bash bench/pipeline-bench.sh [N] [C] [CLIP_SECONDS]
# Set MODEL_DIR to a real model pack to time real encoders instead of the tiny pack.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f test/dist/support/stack-fixture.js ] && [ -f packages/cli/dist/src/research-api.js ] || pnpm exec tsc -b
node bench/pipeline-bench.js "${1:-20}" "${2:-4}" "${3:-4}"
