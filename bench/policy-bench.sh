#!/usr/bin/env bash
# Policy training bench: warm start + GRPO on a MOSEI-sized synthetic feature set (N = 16,000 training samples by
# default, plus N/9 validation clips; dims 128/128/128), printing wall time, peak RSS, accuracy and decisive=planted
# after each stage.
#   bash bench/policy-bench.sh [N] [OUT_DIR]
# Pin the cores to reproduce the 2-core target: taskset -c 0,1 bash bench/policy-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-${POLICY_BENCH_N:-16000}}"
OUT="${2:-}"
[ -f packages/policy/dist/src/bench.js ] || pnpm exec tsc -b packages/policy
echo "policy bench: ${N} training samples, cpus available: $(nproc), node $(node --version)"
start=$(date +%s)
# /usr/bin/time -v reports the peak RSS of the whole process as the kernel saw it, next to the bench's own figure.
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v node packages/policy/dist/src/bench.js "$N" ${OUT:+"$OUT"} 2> >(grep -E 'Maximum resident|Elapsed \(wall' >&2)
else
  node packages/policy/dist/src/bench.js "$N" ${OUT:+"$OUT"}
fi
echo "total wall $(( $(date +%s) - start )) s (target for 16000 training samples: < 1200 s on 2 cores)"
