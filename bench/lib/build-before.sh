# Sourced by the benches that compare with an older commit: with BEFORE=<git ref>, exports that commit to
# ${BEFORE_DIR:-/tmp/oa-before-<sha>} (outside any worktree), installs and builds it there once, and appends
# `--root before=<dir>` to the bench's `roots` array. $1: a file the bench needs from that build.
build_before() {
  local needed=$1 sha dir
  [ -n "${BEFORE:-}" ] || return 0
  sha=$(git rev-parse --short "$BEFORE")
  dir=${BEFORE_DIR:-/tmp/oa-before-$sha}
  if [ ! -f "$dir/$needed" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
    # an older tree's type-check may fail on files the bench does not load (its browser tests' types):
    # what matters is that the files the bench runs were emitted
    (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip pnpm install --frozen-lockfile --offline --reporter=silent && (pnpm exec tsc -b || true))
    [ -f "$dir/$needed" ] || { echo "building $sha in $dir failed: no $needed" >&2; exit 1; }
  fi
  roots+=(--root "before=$dir")
}
