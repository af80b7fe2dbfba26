#!/usr/bin/env bash
# The GPU check: one run on a lent GPU machine (CUDA, nvcc, Python and PyTorch; no Node, no
# network) that builds the CUDA addon, runs the tests on the device and measures the benchmarks
# beside their peers, writing report.json, summary.md and gpu-check.log under a folder. See
# docs/GPU-CHECK.md.
#
#   scripts/gpu-check.sh --pack [--with-webgpu]   here: build dist/ if stale, write .gpu-pack/
#   scripts/gpu-check.sh --out DIR                 on the GPU machine (DIR defaults to $OUT)
#   scripts/gpu-check.sh --dry-run [--out DIR]     here: pack, copy the tree as it travels with the
#                                                  pack into a temporary folder, and run the check
#                                                  there with every GPU step skipped ("no GPU")
#
# Every step has a timeout and records ok / failed / skipped (with the reason) and its time; a
# failed step never stops a later step that does not depend on it. The whole run keeps within
# GPU_CHECK_BUDGET_S seconds (default 460), holding back time for the 7B step until it has run.
#
# Environment: GPU_CHECK_PACK_DIR (default <repo>/.gpu-pack), GPU_CHECK_BUDGET_S,
# GPU_CHECK_XZ_LEVEL (pack: xz level for Node, default 6), GPU_CHECK_VERBOSE=1 (step output on
# stdout too, not only in the log), GPU_CHECK_KEEP=1 (dry run: keep the temporary copy),
# GPU_CHECK_SVD (exact | randomized: the GaLore projectors' SVD in the training benchmarks),
# GPU_CHECK_ONLY (comma-separated step ids or prefixes: run those, with unpack, gpu and cuda-build).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=device
OUT_DIR="${OUT:-}"
PACK_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pack) MODE=pack ;;
    --dry-run) MODE=dry-run ;;
    --with-webgpu) PACK_ARGS+=(--with-webgpu) ;;
    --out)
      OUT_DIR="${2:?--out needs a folder}"
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "gpu-check: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done
PACK_DIR="${GPU_CHECK_PACK_DIR:-$ROOT/.gpu-pack}"

# --- here: the pack --------------------------------------------------------------------------
if [ "$MODE" = pack ]; then
  exec node "$ROOT/scripts/gpu-check/pack.mjs" --out "$PACK_DIR" "${PACK_ARGS[@]}"
fi

# --- here: the dry run -----------------------------------------------------------------------
if [ "$MODE" = dry-run ]; then
  node "$ROOT/scripts/gpu-check/pack.mjs" --out "$PACK_DIR" "${PACK_ARGS[@]}" || exit 1
  copy="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-dry.XXXXXX")"
  [ "${GPU_CHECK_KEEP:-}" = 1 ] || trap 'rm -rf "$copy"' EXIT
  # What travels: tracked and untracked-not-ignored files, plus the pack (carried).
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 -r ls -d 2>/dev/null |
    tar -cf - -T - | tar -C "$copy" -xf -) || exit 1
  mkdir -p "$copy/.gpu-pack" && cp -R "$PACK_DIR/." "$copy/.gpu-pack/" || exit 1
  [ -n "$OUT_DIR" ] || OUT_DIR="$copy/out"
  echo "gpu-check --dry-run: the tree and the pack copied to $copy; report under $OUT_DIR"
  GPU_CHECK_NO_GPU="dry run" GPU_CHECK_MODE=dry-run GPU_CHECK_PACK_DIR="$copy/.gpu-pack" \
    bash "$copy/scripts/gpu-check.sh" --out "$OUT_DIR"
  exit $?
fi

# --- on the GPU machine (or in the dry run's copy) -------------------------------------------
[ -n "$OUT_DIR" ] || {
  echo "gpu-check: give the report folder with --out DIR (or set OUT)" >&2
  exit 2
}
mkdir -p "$OUT_DIR" || exit 2
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
LOG="$OUT_DIR/gpu-check.log"
REPORT="$OUT_DIR/report.json"
STEPS="$WORK/steps.jsonl"
BUDGET="${GPU_CHECK_BUDGET_S:-460}"
START="$(date +%s)"
RESERVE=0
NODE="$WORK/node/bin/node"
VITEST="$ROOT/node_modules/vitest/vitest.mjs"
SVD="${GPU_CHECK_SVD:-exact}"
: >"$LOG"
: >"$STEPS"
cd "$ROOT" || exit 2
export ROOT WORK LOG NODE VITEST PACK_DIR SVD
export GALORE_CONFORMANCE_RUNS="${GALORE_CONFORMANCE_RUNS:-20}"

json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\t'/\\t}"
  s="${s//$'\r'/}"
  printf '"%s"' "$s"
}

# A file's JSON if it parses (python3 or our node checks it), else nothing.
valid_json() {
  [ -s "$1" ] || return 1
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
  elif [ -x "$NODE" ]; then
    "$NODE" -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$1" 2>/dev/null
  fi
}

log() { printf '%s\n' "$*" >>"$LOG"; }

# GPU_CHECK_ONLY: comma-separated step ids or id prefixes to run (e.g. "cuda-llama,bench-7b"); the
# steps everything needs (unpack, gpu, cuda-build) always run.
selected() {
  [ -z "${GPU_CHECK_ONLY:-}" ] && return 0
  case "$1" in unpack | gpu | cuda-build) return 0 ;; esac
  local want
  for want in ${GPU_CHECK_ONLY//,/ }; do
    [[ "$1" == "$want"* ]] && return 0
  done
  return 1
}

# step ID TIMEOUT_S FUNCTION [ARGS...]: runs FUNCTION in a child bash under `timeout`, with
# STEP_DIR set; the function writes $STEP_DIR/result.json (JSON) and, to be recorded as skipped,
# the reason to $STEP_DIR/skip before exiting 0.
step() {
  local id="$1" limit="$2"
  shift 2
  local dir="$WORK/steps/$id" now left status reason="" code=0 began seconds result=null
  mkdir -p "$dir"
  now="$(date +%s)"
  left=$((START + BUDGET - RESERVE - now))
  [ "$limit" -gt "$left" ] && limit="$left"
  began="$(date +%s.%N)"
  if ! selected "$id"; then
    status=skipped
    reason="not selected (GPU_CHECK_ONLY=$GPU_CHECK_ONLY)"
  elif [ "$limit" -lt 10 ]; then
    status=skipped
    reason="time budget: ${left} s left of ${BUDGET} s (${RESERVE} s held back for later steps)"
  else
    log "===== [$(date -u +%H:%M:%S)] $id (timeout ${limit} s) ====="
    if [ "${GPU_CHECK_VERBOSE:-}" = 1 ]; then
      STEP_DIR="$dir" timeout -k 10 "$limit" bash -c '"$@"' step "$@" 2>&1 | tee -a "$LOG"
      code="${PIPESTATUS[0]}"
    else
      STEP_DIR="$dir" timeout -k 10 "$limit" bash -c '"$@"' step "$@" >>"$LOG" 2>&1
      code=$?
    fi
    if [ "$code" = 124 ] || [ "$code" = 137 ]; then
      status=failed
      reason="timed out after ${limit} s"
    elif [ "$code" != 0 ]; then
      status=failed
      reason="exit status $code (see gpu-check.log)"
    elif [ -f "$dir/skip" ]; then
      status=skipped
      reason="$(cat "$dir/skip")"
    else
      status=ok
    fi
    [ -f "$dir/reason" ] && [ "$status" = failed ] && reason="$(cat "$dir/reason"); $reason"
  fi
  seconds="$(awk -v a="$began" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  if valid_json "$dir/result.json"; then
    result="$(cat "$dir/result.json")"
  elif [ -s "$dir/result.json" ]; then
    result='{"error":"the step left an incomplete result file"}'
  fi
  printf '{"id":%s,"status":"%s","reason":%s,"seconds":%s,"timeoutSeconds":%s,"exitCode":%s,"result":%s}\n' \
    "$(json_str "$id")" "$status" "$([ -n "$reason" ] && json_str "$reason" || echo null)" "$seconds" \
    "$limit" "$code" "$(printf '%s' "$result" | tr '\n' ' ')" >>"$STEPS"
  printf '%-34s %-8s %6s s  %s\n' "$id" "$status" "$seconds" "$reason"
  log "----- $id: $status ${seconds} s ${reason}"
  [ "$status" = ok ]
}

# --- the steps (each runs in a child bash: exported functions and variables only) ------------

skip() {
  printf '%s' "$1" >"$STEP_DIR/skip"
  exit 0
}
fail() {
  printf '%s' "$1" >"$STEP_DIR/reason"
  exit 1
}
needs_gpu() {
  [ -n "${GPU_CHECK_NO_GPU:-}" ] && skip "no GPU ($GPU_CHECK_NO_GPU)"
  [ -f "$WORK/gpu.ok" ] || skip "no GPU: $(cat "$WORK/gpu.why" 2>/dev/null || echo 'the gpu step found none')"
  return 0
}
needs_addon() {
  needs_gpu
  # Built in this run (a warm machine may keep an older build/ from an earlier call).
  [ -f "$WORK/addon.ok" ] || skip "the CUDA addon was not built (see cuda-build)"
}
needs_torch() {
  needs_gpu
  python3 -c 'import torch' 2>/dev/null || skip "no PyTorch: python3 cannot import torch"
}

# A field of $STEP_DIR/result.json as one line ('' when absent): json_field EXPRESSION (of `r`).
json_field() {
  "$NODE" -e 'try { const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(String(eval(process.argv[2]) ?? "").split("\n")[0]) } catch {}' "$STEP_DIR/result.json" "$1"
}

# Node script in scripts/gpu-check/dist with --out $STEP_DIR/result.json; a failure's reason is
# the first line of the error the script recorded.
run_node_script() {
  local name="$1" code message
  shift
  "$NODE" "$ROOT/scripts/gpu-check/dist/$name.mjs" "$@" --out "$STEP_DIR/result.json"
  code=$?
  [ "$code" = 0 ] && return 0
  message="$(json_field 'r.error')"
  [ -n "$message" ] && fail "$message"
  return "$code"
}

# vitest on the TypeScript sources (vitest.config.ts aliases the packages to src/); the result is
# the counts and failures from its JSON report.
run_vitest() {
  local code message
  "$NODE" "$VITEST" run "$@" --reporter=default --reporter=json --outputFile="$STEP_DIR/vitest.json"
  code=$?
  "$NODE" "$ROOT/scripts/gpu-check/dist/parse-output.mjs" vitest "$STEP_DIR/vitest.json" >"$STEP_DIR/result.json"
  [ "$code" = 0 ] && return 0
  message="$(json_field 'r.failures?.length ? `${r.failed} of ${r.total} tests failed, first: ${r.failures[0].test}` : r.error')"
  [ -n "$message" ] && fail "$message"
  return "$code"
}

step_unpack() {
  [ -f "$PACK_DIR/manifest.json" ] || fail "no pack at $PACK_DIR: run scripts/gpu-check.sh --pack where Node is, and carry .gpu-pack"
  [ "$(uname -m)" = x86_64 ] || fail "the pack holds x86-64 Node; this machine is $(uname -m)"
  if command -v xz >/dev/null 2>&1; then
    xz -dc "$PACK_DIR/node-linux-x64.tar.xz" | tar -C "$WORK" -xf - || fail "unpacking Node failed"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' \
      "$PACK_DIR/node-linux-x64.tar.xz" | tar -C "$WORK" -xf - || fail "unpacking Node (python3 lzma) failed"
  fi
  tar -C "$ROOT" -xzf "$PACK_DIR/app.tar.gz" || fail "unpacking app.tar.gz failed"
  local version
  version="$("$NODE" --version)" || fail "the packed Node does not run here"
  printf '{"node":%s,"nodePath":%s,"manifest":%s}\n' "\"$version\"" "\"$NODE\"" "$(cat "$PACK_DIR/manifest.json")" \
    >"$STEP_DIR/result.json"
}

step_gpu() {
  [ -n "${GPU_CHECK_NO_GPU:-}" ] && skip "no GPU ($GPU_CHECK_NO_GPU)"
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "nvidia-smi not found" >"$WORK/gpu.why"
    skip "no GPU: nvidia-smi not found"
  fi
  local line
  line="$(nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader,nounits | head -1)"
  if [ -z "$line" ]; then
    echo "nvidia-smi lists no GPU" >"$WORK/gpu.why"
    skip "no GPU: nvidia-smi lists none"
  fi
  nvidia-smi
  local name cc mem driver nvcc_version torch_info
  IFS=',' read -r name cc mem driver <<<"$line"
  name="$(echo "$name" | xargs)" cc="$(echo "$cc" | xargs)" mem="$(echo "$mem" | xargs)" driver="$(echo "$driver" | xargs)"
  [[ "$mem" =~ ^[0-9]+$ ]] || mem=null
  echo "${cc//./}" >"$WORK/gpu.arch"
  nvcc_version="$( (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | grep -o 'release [0-9.]*' | head -1)"
  torch_info="$(python3 -c 'import torch, transformers; print(torch.__version__, transformers.__version__)' 2>/dev/null)"
  touch "$WORK/gpu.ok"
  printf '{"name":"%s","computeCapability":"%s","memoryMiB":%s,"driver":"%s","nvcc":"%s","torchTransformers":"%s","cpus":%s,"host":"%s"}\n' \
    "$name" "$cc" "$mem" "$driver" "$nvcc_version" "$torch_info" "$(nproc)" "$(uname -sr)" >"$STEP_DIR/result.json"
}

step_cuda_build() {
  needs_gpu
  local arch
  arch="$(cat "$WORK/gpu.arch")"
  # CMake from pip (the image's Python) when none is on PATH; Ninja when make is missing.
  if ! command -v cmake >/dev/null 2>&1; then
    local bin
    bin="$(python3 -c 'import cmake; print(cmake.CMAKE_BIN_DIR)' 2>/dev/null)" && export PATH="$PATH:$bin"
  fi
  if ! command -v make >/dev/null 2>&1 && command -v ninja >/dev/null 2>&1; then export CMAKE_GENERATOR=Ninja; fi
  GALORE_CUDA_ARCHS="$arch" GALORE_REQUIRE_CUDA_BUILD=1 "$NODE" "$ROOT/packages/backend-cuda/scripts/build-addon.mjs" ||
    fail "the addon build failed for sm_$arch"
  cp "$ROOT/packages/backend-cuda/build/status.json" "$STEP_DIR/result.json"
  touch "$WORK/addon.ok"
}

step_cuda_selftest() {
  needs_addon
  local exe="$ROOT/packages/backend-cuda/build/Release/galore_cuda_selftest" code
  "$exe" 2>&1 | tee "$STEP_DIR/selftest.log"
  code="${PIPESTATUS[0]}"
  "$NODE" "$ROOT/scripts/gpu-check/dist/parse-output.mjs" selftest "$STEP_DIR/selftest.log" >"$STEP_DIR/result.json"
  [ "$code" = 0 ] || fail "the self-test exited with $code"
}

step_cuda_tests() {
  needs_addon
  GALORE_REQUIRE_CUDA=1 GALORE_REQUIRE_CUDA_BUILD=1 run_vitest "$@"
}

step_webgpu() {
  needs_gpu
  grep -q '"withWebgpu": true' "$PACK_DIR/manifest.json" ||
    skip "dawn (npm webgpu) is not in the pack: pack with --with-webgpu"
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    if ls "$ROOT"/.gl/*.deb >/dev/null 2>&1; then
      for f in "$ROOT"/.gl/*.deb; do dpkg -x "$f" /; done
      ldconfig
    fi
  fi
  ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' ||
    skip "no Vulkan loader (libvulkan.so.1): carry .gl as docs/GPU-CHECK.md says"
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
  GALORE_REQUIRE_WEBGPU=1 run_vitest test/conformance/webgpu.test.ts packages/backend-webgpu/test/llama-training.test.ts
}

step_matmul() {
  needs_addon
  run_node_script matmul --backend cuda --size 4096 --dtypes bfloat16,float32
}

step_matmul_torch() {
  needs_torch
  python3 "$ROOT/scripts/gpu-check/torch_matmul.py" --size 4096 --dtypes bfloat16,float32 --out "$STEP_DIR/result.json"
}

# step_train MODEL OPTIMIZER RANK STEPS
step_train() {
  needs_addon
  run_node_script train-step --backend cuda --model "$1" --optimizer "$2" --rank "$3" --steps "$4" --seq 256 \
    --batch 1 --svd "$SVD"
}

step_train_torch() {
  needs_torch
  "$NODE" --input-type=module -e "import { llamaPreset } from '@galore-ts/core';
    console.log(JSON.stringify(llamaPreset('$1')));" >"$STEP_DIR/config.json" || fail "could not write the $1 config"
  PYTHONUNBUFFERED=1 python3 "$ROOT/scripts/gpu-check/torch_llama_step.py" --config "$STEP_DIR/config.json" \
    --seq 256 --batch 1 --steps "$2" --out "$STEP_DIR/result.json"
}

# The meta-backend plan of every training step measured below (no GPU needed).
step_plans() {
  run_node_script plan --svd "$SVD"
}

# Without a GPU (the dry run): the packed Node, vitest and the check scripts run on the CPU.
step_pack_smoke() {
  [ -f "$WORK/gpu.ok" ] && skip "a GPU is present: the GPU steps exercise the pack"
  # The CUDA suite must skip here (no addon, no device), whatever the caller's environment requires.
  unset GALORE_REQUIRE_CUDA GALORE_REQUIRE_CUDA_BUILD
  mkdir -p "$STEP_DIR/vitest" "$STEP_DIR/train" "$STEP_DIR/matmul"
  STEP_DIR="$STEP_DIR/vitest" run_vitest test/conformance/cuda.test.ts || fail "vitest from the pack failed"
  STEP_DIR="$STEP_DIR/train" run_node_script train-step --backend cpu --model llama_tiny \
    --optimizer galore_adamw_8bit_layerwise --rank 8 --seq 16 --steps 2 || fail "train-step on the CPU failed"
  STEP_DIR="$STEP_DIR/matmul" run_node_script matmul --backend cpu --size 48 --dtypes float32 --reps 2 --rounds 2 ||
    fail "matmul on the CPU failed"
  printf '{"vitest":%s,"trainStep":%s,"matmul":%s}\n' "$(cat "$STEP_DIR/vitest/result.json")" \
    "$(cat "$STEP_DIR/train/result.json")" "$(cat "$STEP_DIR/matmul/result.json")" >"$STEP_DIR/result.json"
}

export -f skip fail needs_gpu needs_addon needs_torch json_field run_node_script run_vitest step_unpack step_gpu \
  step_cuda_build step_cuda_selftest step_cuda_tests step_webgpu step_matmul step_matmul_torch step_train \
  step_train_torch step_plans step_pack_smoke

echo "gpu-check: report under $OUT_DIR (budget ${BUDGET} s)"
step unpack 120 step_unpack
UNPACKED=$?
step gpu 60 step_gpu
if [ "$UNPACKED" != 0 ]; then
  # Nothing below runs without Node; each is recorded as skipped with the reason.
  NO_NODE="no Node: the unpack step failed"
  for id in cuda-build cuda-selftest cuda-conformance cuda-llama webgpu plans pack-smoke bench-matmul \
    bench-matmul-torch bench-1b-adamw bench-1b-adamw-8bit bench-1b-galore-8bit bench-1b-galore-8bit-layerwise \
    bench-1b-torch-adamw bench-7b-galore-8bit-layerwise; do
    printf '{"id":"%s","status":"skipped","reason":"%s","seconds":0,"timeoutSeconds":0,"exitCode":0,"result":null}\n' \
      "$id" "$NO_NODE" >>"$STEPS"
  done
else
  # Time held back for the 7B step until it has run (a short, partial run goes in order instead).
  if [ "$BUDGET" -ge 400 ] && selected bench-7b-galore-8bit-layerwise; then RESERVE=200; fi
  step cuda-build 180 step_cuda_build
  step cuda-selftest 90 step_cuda_selftest
  step cuda-conformance 150 step_cuda_tests test/conformance/cuda.test.ts packages/backend-cuda/test/addon.test.ts \
    packages/backend-cuda/test/backend.test.ts
  step cuda-llama 90 step_cuda_tests packages/backend-cuda/test/llama.test.ts
  step webgpu 120 step_webgpu
  step plans 60 step_plans
  step pack-smoke 150 step_pack_smoke
  step bench-matmul 60 step_matmul
  step bench-matmul-torch 60 step_matmul_torch
  step bench-1b-adamw 75 step_train llama_1b adamw 512 3
  step bench-1b-adamw-8bit 75 step_train llama_1b adamw_8bit 512 3
  step bench-1b-galore-8bit 90 step_train llama_1b galore_adamw_8bit 512 3
  step bench-1b-galore-8bit-layerwise 90 step_train llama_1b galore_adamw_8bit_layerwise 512 3
  step bench-1b-torch-adamw 75 step_train_torch llama_1b 3
  RESERVE=0
  step bench-7b-galore-8bit-layerwise 200 step_train llama_7b galore_adamw_8bit_layerwise 1024 2
fi

# --- the report --------------------------------------------------------------------------------
FINISHED="$(date +%s)"
{
  printf '{"schema":"galore-ts/gpu-check@1","mode":"%s","started":"%s","finished":"%s","wallSeconds":%s,' \
    "${GPU_CHECK_MODE:-device}" "$(date -u -d "@$START" +%Y-%m-%dT%H:%M:%SZ)" \
    "$(date -u -d "@$FINISHED" +%Y-%m-%dT%H:%M:%SZ)" "$((FINISHED - START))"
  printf '"budgetSeconds":%s,"counts":{"ok":%s,"failed":%s,"skipped":%s},"steps":[' "$BUDGET" \
    "$(grep -c '"status":"ok"' "$STEPS")" "$(grep -c '"status":"failed"' "$STEPS")" \
    "$(grep -c '"status":"skipped"' "$STEPS")"
  paste -sd, "$STEPS"
  printf ']}\n'
} >"$REPORT"
# Side-by-side tables (ours, the peer, the plan, the paper) into report.json and summary.md.
if [ -x "$NODE" ] && [ -f "$ROOT/scripts/gpu-check/dist/summarize.mjs" ]; then
  "$NODE" "$ROOT/scripts/gpu-check/dist/summarize.mjs" "$REPORT" "$OUT_DIR/summary.md" >>"$LOG" 2>&1 ||
    echo "gpu-check: summarize failed (see the log); report.json has the steps" >&2
fi
[ -f "$OUT_DIR/summary.md" ] && cat "$OUT_DIR/summary.md"
echo "gpu-check: $(grep -c '"status":"ok"' "$STEPS") ok, $(grep -c '"status":"failed"' "$STEPS") failed," \
  "$(grep -c '"status":"skipped"' "$STEPS") skipped in $((FINISHED - START)) s; $REPORT"
FAILED="$(grep -c '"status":"failed"' "$STEPS")"
rm -rf "$WORK"
[ "$FAILED" = 0 ]
