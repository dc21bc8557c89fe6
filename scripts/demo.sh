#!/usr/bin/env bash
# Quick start, command 1: install what is missing, start the whole stack, analyse the bundled sample
# video through the HTTP API, print the result JSON and the report's location, stop the stack.
# Usage: scripts/demo.sh [video]   (default: samples/demo-en.mp4)
source "$(dirname "$0")/lib/bootstrap.sh"
install_and_build
say "running the demo"
exec node packages/cli/dist/src/main.js demo "$@"
