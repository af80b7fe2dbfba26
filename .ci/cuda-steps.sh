#!/usr/bin/env bash
# CI steps for @galore-ts/backend-cuda. Where nvcc exists, the addon must build (all default
# architectures: sm_80, sm_86, sm_89, sm_90 + compute_90 PTX; GALORE_CUDA_ARCHS narrows them),
# the standalone self-test runs (it checks every kernel on a GPU, or reports that there is none),
# and the addon tests assert that it built, loads and reports its devices cleanly. Without nvcc
# the build is skipped with a message and the addon tests skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

have_nvcc() {
  command -v nvcc >/dev/null 2>&1 || [ -x "${CUDACXX:-}" ] || [ -x "${CUDA_HOME:-/nonexistent}/bin/nvcc" ] ||
    [ -x /usr/local/cuda/bin/nvcc ]
}

if have_nvcc; then
  export GALORE_REQUIRE_CUDA_BUILD=1
  echo "== backend-cuda: building the addon (nvcc found) =="
  npm run build:addon -w @galore-ts/backend-cuda
  echo "== backend-cuda: standalone kernel self-test =="
  npm run selftest -w @galore-ts/backend-cuda
else
  echo "== backend-cuda: nvcc not found, the addon build is skipped (its tests will skip) =="
fi

echo "== backend-cuda: addon and TypeScript-layer tests =="
npx vitest run packages/backend-cuda
