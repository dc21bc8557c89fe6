#!/bin/sh
# One image runs every service; the first argument (or OMNIAFFECT_SERVICE) picks which, so compose and
# Kubernetes only differ in `args`. `omniaffect ...` runs the CLI (e.g. `omniaffect models tiny --out /models`).
set -eu
svc="${OMNIAFFECT_SERVICE:-}"
if [ $# -gt 0 ]; then svc="$1"; shift; fi
case "$svc" in
  gateway|orchestrator|fusion|media|asr|audio-emotion|vision|text)
    # the service's own Node flags (omniaffect.nodeFlags in its package.json; the local stack reads the same list)
    flags=$(node -p "((require('/app/services/$svc/package.json').omniaffect || {}).nodeFlags || []).join(' ')")
    # shellcheck disable=SC2086 # word splitting is intended: one flag per word
    exec node $flags "/app/services/$svc/dist/src/main.js" "$@" ;;
  omniaffect|cli)
    exec node /app/packages/cli/dist/src/main.js "$@" ;;
  "")
    echo "usage: <gateway|orchestrator|fusion|media|asr|audio-emotion|vision|text|omniaffect> [args]" >&2
    exit 64 ;;
  *)
    exec "$svc" "$@" ;;
esac
