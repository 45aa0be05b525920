#!/usr/bin/env bash
# The GPU check, for a bare machine with an NVIDIA GPU that has only a
# compiler, CMake and the CUDA toolkit: everything else travels with the
# checkout (third_party/). Builds engine/ and kernels/ with CUDA for this
# GPU's architecture, runs every CUDA parity test against the CPU
# reference, then the GPU benchmark when there is one, and prints one
# table. Each phase has a time limit; the whole stays inside 8 minutes on an
# H200.
#
#   ./scripts/gpu-check.sh            # build/gpu, results in build/gpu/gpu-check.txt
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/build/gpu"
JOBS="$(nproc)"
mkdir -p "$DIR"
REPORT="$DIR/gpu-check.txt"
: >"$REPORT"
row() { printf '%-64s %-6s %s\n' "$1" "$2" "$3" | tee -a "$REPORT"; }

NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
[ -x "$NVCC" ] || { echo "gpu-check: no nvcc (PATH or /usr/local/cuda/bin)" >&2; exit 2; }
GPU="$(nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv,noheader 2>/dev/null | head -1)"
ARCH="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')"
ARCH="${ARCH:-90}"
echo "gpu-check: ${GPU:-no nvidia-smi} (sm_$ARCH), $("$NVCC" --version | tail -1), $JOBS cores"

start=$(date +%s)
if ! timeout 300 cmake -S "$ROOT" -B "$DIR" -DCMAKE_BUILD_TYPE=Release -DDESKPILOT_ENGINE_ONLY=ON \
    -DDESKPILOT_BLAS=OFF -DDESKPILOT_CUDA=ON -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
    >"$DIR/configure.log" 2>&1; then
  tail -30 "$DIR/configure.log"; row "configure" "FAIL" "see $DIR/configure.log"; exit 1
fi
if ! timeout 300 cmake --build "$DIR" -j "$JOBS" --target kernels_tests engine_tests bench_model >"$DIR/build.log" 2>&1; then
  grep -E "error" "$DIR/build.log" | head -30; row "build" "FAIL" "see $DIR/build.log"; exit 1
fi
row "build (engine-only, CUDA sm_$ARCH)" "ok" "$(( $(date +%s) - start )) s"

# Parity: every CUDA test, one table row each.
status=0
{
  timeout 120 "$DIR/tests/kernels_tests" --gtest_filter='*Cuda*'
  timeout 120 "$DIR/tests/engine_tests" --gtest_filter='*Cuda*:*BothDevices*:Device.*'
} >"$DIR/parity.log" 2>&1 || status=1
while read -r line; do
  case "$line" in
    "[       OK ] "*) t="${line#\[       OK \] }"; ms="${t##* (}"; row "${t% (*}" "ok" "${ms%)}" ;;
    "[  FAILED  ] "*" ms)") t="${line#\[  FAILED  \] }"; row "${t% (*}" "FAIL" "see $DIR/parity.log"; status=1 ;;
    "[  SKIPPED ] "*" ms)") t="${line#\[  SKIPPED \] }"; row "${t% (*}" "SKIP" "no GPU seen by the tests"; status=1 ;;
  esac
done <"$DIR/parity.log"
[ "$(grep -c "PASSED" "$DIR/parity.log")" -eq 2 ] || { tail -40 "$DIR/parity.log"; status=1; }

# The benchmark (bench/model): decode tok/s (CUDA graph, then launch by launch)
# and roofline fraction, vision tower + prefill of one 1920x1080 screenshot
# (time to first token), one agent step, on random 7B-shaped weights.
timeout 150 "$DIR/bench/model/bench_model" --device cuda | tee -a "$REPORT" || status=1
DESKPILOT_CUDA_GRAPHS=0 timeout 60 "$DIR/bench/model/bench_model" --device cuda --only decode | grep "decode, batch 1" |
  sed 's/decode, batch 1  /decode, batch 1, graphs off/' | tee -a "$REPORT" || status=1
row "total" "$([ $status -eq 0 ] && echo ok || echo FAIL)" "$(( $(date +%s) - start )) s; table in $REPORT"
exit $status
