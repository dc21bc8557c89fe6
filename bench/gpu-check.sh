#!/usr/bin/env bash
# GPU check (issue #9, goal 6): one command that, on a host with an NVIDIA GPU, proves the CUDA execution provider
# for every model worker and prints images/s, real-time factors and the pipeline's overhead ratio. It refuses at once,
# with the reason, where there is no GPU or onnxruntime-node lacks its CUDA provider. See bench/README.md.
#
#   bash bench/gpu-check.sh                       # stand-in models with the real output sizes (proves the provider; timings not those of real models)
#   MODEL_DIR=/models bash bench/gpu-check.sh     # a real pack: omniaffect models pull --pack standard --out /models && omniaffect train --zero-shot --model-dir /models
#   GPU_DEVICE=1 VIDEO_SECONDS=300 bash bench/gpu-check.sh
#
# Steps, each under its own time limit (about 9 minutes in all at most):
#   1. preconditions: nvidia-smi lists the GPU; onnxruntime-node has libonnxruntime_providers_cuda.so
#   2. every runner in-process on cuda:N (bench/model-bench.js): Whisper, emotion2vec, SigLIP, BERT load with the
#      CUDA provider alone (createSession never falls back to the CPU) and their run times
#   3. the whole stack with EXECUTION_PROVIDER=cuda:N (bench/long-video-bench.js --gpu-check): each model worker
#      (asr with Silero VAD, audio-emotion, vision, text, fusion) must report the provider in /readyz and hold GPU
#      memory in nvidia-smi while a VIDEO_SECONDS video runs; prints per-stage RTF, model RTF and the overhead ratio,
#      then 4 s clips one at a time and in flight
#   4. vision batching on the GPU (bench/vision-batching-bench.js): images/s at BATCH_MAX 1 and 8 at equal p95
# Exit status 0 only when every step passed; 2 when the host cannot run the check at all.
# GPU_CHECK_DRY_RUN=1 runs the same steps on the CPU without the GPU conditions (to check the script itself on a
# machine without a GPU; it proves nothing about CUDA).
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${GPU_DEVICE:-0}
VIDEO_SECONDS=${VIDEO_SECONDS:-300}
PROVIDER="cuda:${DEVICE}"
GPU_FLAG=--gpu-check
refuse() {
  echo "gpu-check: REFUSED: $*" >&2
  exit 2
}
step() { printf '\n=== %s ===\n' "$*"; }

step "1/4 preconditions"
if [ "${GPU_CHECK_DRY_RUN:-}" = 1 ]; then
  echo "DRY RUN on the CPU: no GPU condition is checked and nothing about CUDA is proven"
  PROVIDER=cpu
  GPU_FLAG=
  gpus="(dry run),cpu"
  DEVICE="(dry run)"
else
  command -v nvidia-smi > /dev/null || refuse "no NVIDIA driver on this host (nvidia-smi not found); this check needs a GPU"
  gpus=$(nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2> /dev/null) || refuse "nvidia-smi cannot talk to a GPU"
  [ -n "$gpus" ] || refuse "nvidia-smi lists no GPU"
  echo "$gpus"
  echo "$gpus" | grep -q "^${DEVICE}," || refuse "no GPU with index ${DEVICE} (set GPU_DEVICE)"
  command -v node > /dev/null || refuse "node is not installed"
  [ -d packages/models/node_modules/onnxruntime-node ] || refuse "dependencies are not installed: ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm install --frozen-lockfile"
  ort_dir=$(cd packages/models/node_modules/onnxruntime-node && pwd -P)
  cuda_lib=$(find "$ort_dir" -name 'libonnxruntime_providers_cuda.so' 2> /dev/null | head -1)
  [ -n "$cuda_lib" ] || refuse "onnxruntime-node has no CUDA provider (no libonnxruntime_providers_cuda.so under $ort_dir): reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm install --frozen-lockfile (CUDA 12 and cuDNN 9 must be on the loader path)"
  echo "CUDA provider: $cuda_lib"
fi
if [ ! -f test/dist/support/stack-fixture.js ] || [ ! -f services/vision/dist/src/vision-stage.js ]; then
  timeout 300 pnpm exec tsc -b || refuse "the TypeScript build failed"
fi

work=$(mktemp -d /tmp/oa-gpu-check-XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -z "${MODEL_DIR:-}" ]; then
  echo "MODEL_DIR unset: building the stand-in pack (real output sizes, tiny compute) and its zero-shot fusion."
  echo "It proves the provider for every graph; the timings below are NOT those of the real models."
  export MODEL_DIR="$work/models"
  timeout 120 node -e "require('./packages/models').buildStandInPack(process.argv[1])" "$MODEL_DIR" || refuse "could not build the stand-in pack"
  timeout 120 node packages/cli/dist/src/main.js train --zero-shot --model-dir "$MODEL_DIR" > "$work/zero-shot.log" 2>&1 || {
    cat "$work/zero-shot.log"
    refuse "could not build the zero-shot fusion for the stand-ins"
  }
fi
[ -d "$MODEL_DIR/fusion" ] || refuse "$MODEL_DIR has no fusion/: run omniaffect train --zero-shot --model-dir $MODEL_DIR"
echo "models: $MODEL_DIR"
failed=()

step "2/4 every runner in-process on $PROVIDER (bench/model-bench.js)"
timeout 150 node bench/model-bench.js "$PROVIDER" 3 || failed+=("model-bench: a runner did not load or run on $PROVIDER")

step "3/4 the stack on $PROVIDER: ${VIDEO_SECONDS} s video, then 4 s clips (bench/long-video-bench.js --gpu-check)"
EXECUTION_PROVIDER="$PROVIDER" timeout 330 node bench/long-video-bench.js $GPU_FLAG --durations "$VIDEO_SECONDS" --clips 10 --concurrency 4 \
  --media-dir "${BENCH_MEDIA_DIR:-/tmp/oa-bench-media}" || failed+=("stack: a worker was not on $PROVIDER, held no GPU memory, or the video failed (see above)")

step "4/4 vision batching on $PROVIDER (bench/vision-batching-bench.js)"
timeout 120 node bench/vision-batching-bench.js --provider "$PROVIDER" --videos 200 --frames 8 --clients 1,4,16 || failed+=("vision batching bench")

echo
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'GPU CHECK FAILED:\n'
  printf '  %s\n' "${failed[@]}"
  exit 1
fi
if [ "${GPU_CHECK_DRY_RUN:-}" = 1 ]; then
  echo "DRY RUN PASSED: every step ran on the CPU (this proves the script, not CUDA)"
else
  echo "GPU CHECK PASSED on $PROVIDER ($(echo "$gpus" | grep "^${DEVICE}," | cut -d, -f2 | xargs))"
fi
