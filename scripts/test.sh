#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): install, build, lint, type-check, then every test —
# unit, service (real Redis/PostgreSQL/ffmpeg/ONNX Runtime), end-to-end and durability.
# Tests that need ../shared (real Whisper/BERT assets and media) say SKIPPED when it is absent.
source "$(dirname "$0")/lib/bootstrap.sh"
install_and_build
# The report page is checked in a real browser (playwright-core drives the system Chromium).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then apt_install chromium || say "Chromium could not be installed: the browser check of the report page will be SKIPPED"
  else say "no Chromium and no apt-get: the browser check of the report page will be SKIPPED (set CHROMIUM_PATH)"; fi
fi
say "lint and format"
pnpm exec eslint .
pnpm exec prettier --check . || { say "prettier found unformatted files: run pnpm format"; exit 1; }
if [ -d "$ROOT/../shared/assets" ]; then say "../shared found: parity tests on real assets will run"; else say "../shared absent: parity tests on real assets will be SKIPPED"; fi
say "operations files (promtool, kustomize, dashboards vs metrics)"
bash "$ROOT/deploy/check.sh" --install-tools
say "tests"
exec bash "$ROOT/scripts/run-tests.sh" "$@"
