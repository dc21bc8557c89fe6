#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): install, build, lint, type-check, then every test —
# unit, service (real Redis/PostgreSQL/ffmpeg/ONNX Runtime), end-to-end and durability.
# Tests that need ../shared (real Whisper/BERT assets and media) say SKIPPED when it is absent.
source "$(dirname "$0")/lib/bootstrap.sh"
install_and_build
# The console and the report are checked in a real browser (playwright-core drives the system Chromium);
# a CJK font lets the Chinese report render (and its screenshots read) on a stock Debian.
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then apt_install chromium || say "Chromium could not be installed: the browser tests will be SKIPPED"
  else say "no Chromium and no apt-get: the browser tests will be SKIPPED (set CHROMIUM_PATH)"; fi
fi
if command -v fc-list >/dev/null 2>&1 && ! fc-list :lang=zh 2>/dev/null | grep -q . && command -v apt-get >/dev/null 2>&1; then
  apt_install fonts-wqy-microhei || say "no CJK font could be installed: Chinese text in browser screenshots will show as boxes"
fi
# Screenshots of the browser tests land here (CI artifacts; not committed)
export OMNIAFFECT_SCREENSHOTS="${OMNIAFFECT_SCREENSHOTS:-$ROOT/test-artifacts/screenshots}"
say "lint and format"
pnpm exec eslint .
pnpm exec prettier --check . || { say "prettier found unformatted files: run pnpm format"; exit 1; }
if [ -d "$ROOT/../shared/assets" ]; then say "../shared found: parity tests on real assets will run"; else say "../shared absent: parity tests on real assets will be SKIPPED"; fi
say "operations files (promtool, kustomize, dashboards vs metrics)"
bash "$ROOT/deploy/check.sh" --install-tools
say "tests"
exec bash "$ROOT/scripts/run-tests.sh" "$@"
