#!/usr/bin/env bash
# Builds the LD_PRELOAD library that makes ffmpeg and ffprobe fork servers (forkserver.c). Run by
# `pnpm install` / `pnpm build`. Without a C compiler it says so and succeeds: the media worker then
# spawns a process per run (MEDIA_FORKSERVER=auto), which works and costs ~100 ms of CPU more per run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/build/ffmpeg-forkserver.so"
src="$here/forkserver.c"
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "media fork server not built: no C compiler ($cc); ffmpeg and ffprobe will be spawned per run (install gcc and rerun $0)" >&2
  exit 0
fi
if [[ -f "$out" && "$out" -nt "$src" && "$out" -nt "$0" ]]; then exit 0; fi
mkdir -p "$here/build"
"$cc" -O2 -Wall -Wextra -Werror -fPIC -shared -o "$out.tmp" "$src" -ldl
mv "$out.tmp" "$out"
