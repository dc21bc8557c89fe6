#!/usr/bin/env bash
# Regenerates the bundled demo samples (committed; this script documents how they were made).
# Speech: espeak-ng (GPL-3 program; its synthesized output is ours). Video: ffmpeg's testsrc2 pattern.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p samples
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
make_one() { # name voice text hue
  espeak-ng -v "$2" -s 150 -w "$tmp/$1.wav" "$3"
  local dur; dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp/$1.wav")
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=320x240:rate=10,hue=h=$4" -i "$tmp/$1.wav" \
    -t "$dur" -c:v libx264 -preset veryslow -crf 32 -pix_fmt yuv420p -c:a aac -b:a 48k -ar 16000 -ac 1 \
    -movflags +faststart "samples/$1.mp4"
}
make_one demo-en en-us "I am so happy today. This is wonderful news, and the meeting went great. I love working with this team." 0
make_one demo-zh cmn "今天我很开心。这个消息太好了，会议也非常成功。" 120
ls -l samples
