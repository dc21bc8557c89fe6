#!/usr/bin/env bash
# Runs the compiled test files with Node's test runner. Arguments filter by path substring,
# e.g. scripts/run-tests.sh gateway e2e/pipeline
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find packages services test -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.test.js' -print | sort)
shopt -s nullglob
files+=(deploy/test/*.test.mjs)
if [ "$#" -gt 0 ]; then
  selected=()
  for f in "${files[@]}"; do for pat in "$@"; do [[ "$f" == *"$pat"* ]] && selected+=("$f") && break; done; done
  files=("${selected[@]}")
fi
[ "${#files[@]}" -gt 0 ] || { echo "no test files matched" >&2; exit 1; }
# Two files at a time: the end-to-end files each run a whole stack; the machine has 2 cores.
exec node --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
