#!/usr/bin/env bash
# The GPU check, for a bare machine with an NVIDIA GPU that has only a
# compiler, CMake and the CUDA toolkit: everything else travels with the
# checkout (third_party/). Builds engine/ and kernels/ with CUDA for this
# GPU's architecture, runs every CUDA parity test against the CPU
# reference, the kernel tests under compute-sanitizer (memcheck, racecheck)
# and through the PTX JIT, then the GPU benchmark (a row per target, MET or
# MISSED), and prints one table. Each phase has a time limit and the whole
# stays inside 7 minutes; the exit status is non-zero when anything failed
# (a missed performance target is a row, not a failure).
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

# tests LOG LABEL CMD...: a gtest run, one table row per test; a skip is a
# failure (on a GPU machine every CUDA test must run).
status=0
tests() {
  local log="$1" label="$2" line t ms
  shift 2
  "$@" >"$log" 2>&1 || status=1
  while read -r line; do
    case "$line" in
      "[       OK ] "*) t="${line#\[       OK \] }"; ms="${t##* (}"; row "$label${t% (*}" "ok" "${ms%)}" ;;
      "[  FAILED  ] "*" ms)") t="${line#\[  FAILED  \] }"; row "$label${t% (*}" "FAIL" "see $log"; status=1 ;;
      "[  SKIPPED ] "*" ms)") t="${line#\[  SKIPPED \] }"; row "$label${t% (*}" "SKIP" "see $log"; status=1 ;;
    esac
  done <"$log"
  grep -q "PASSED" "$log" || { tail -40 "$log"; row "$label(run)" "FAIL" "no gtest summary in $log"; status=1; }
}
# remaining SECONDS: whether the check's 7 minutes leave that much; a phase that does not fit is a failure.
remaining() {
  local left=$((420 - ($(date +%s) - start)))
  [ "$left" -ge "$1" ] && return 0
  row "$2" "FAIL" "not run: ${left} s of the 7 minutes left"
  status=1
  return 1
}

# Parity: every CUDA test against the CPU. Device.AModelOnAnUnusableDevice...
# is left out: it tests a machine without a usable GPU and skips on this one.
KERNEL_TESTS='*Cuda*'
ENGINE_TESTS='*Cuda*:*BothDevices*:Device.*-Device.AModelOnAnUnusableDeviceFailsToLoadSayingWhy'
tests "$DIR/parity-kernels.log" "" timeout 120 "$DIR/tests/kernels_tests" --gtest_filter="$KERNEL_TESTS"
tests "$DIR/parity-engine.log" "" timeout 120 "$DIR/tests/engine_tests" --gtest_filter="$ENGINE_TESTS"

# The kernels under compute-sanitizer: out-of-bounds and misaligned accesses
# (memcheck) over every kernel test, shared-memory races (racecheck) over the
# kernels that stage tiles in shared memory.
SANITIZER="$(dirname "$NVCC")/compute-sanitizer"
if [ -x "$SANITIZER" ]; then
  # (the 40,000-draw distribution test is left to the plain run: under memcheck it alone would take minutes)
  remaining 60 "memcheck" && tests "$DIR/memcheck.log" "memcheck: " timeout 120 "$SANITIZER" --tool memcheck \
    --error-exitcode 1 "$DIR/tests/kernels_tests" --gtest_filter="$KERNEL_TESTS-CudaOps.TopPSamplingDrawsFromTheNucleus"
  remaining 45 "racecheck" && tests "$DIR/racecheck.log" "racecheck: " timeout 90 "$SANITIZER" --tool racecheck \
    --error-exitcode 1 "$DIR/tests/kernels_tests" --gtest_filter='CudaFlashAttention.*:CudaOps.*Attention*'
else
  row "compute-sanitizer" "FAIL" "not found next to $NVCC"; status=1
fi
# The PTX path (what GPUs newer than the fatbin's SASS run): JIT-compiled.
remaining 45 "PTX JIT" && CUDA_FORCE_PTX_JIT=1 tests "$DIR/ptx-jit.log" "PTX JIT: " timeout 120 \
  "$DIR/tests/kernels_tests" --gtest_filter="$KERNEL_TESTS"

# The benchmark (bench/model): decode tok/s (CUDA graph, then launch by launch)
# and roofline fraction, vision tower + prefill of one 1920x1080 screenshot
# (time to first token), one agent step, on random 7B-shaped weights.
remaining 60 "benchmark" && { timeout 180 "$DIR/bench/model/bench_model" --device cuda | tee -a "$REPORT" || status=1; }
remaining 20 "decode, graphs off" && DESKPILOT_CUDA_GRAPHS=0 timeout 40 "$DIR/bench/model/bench_model" --device cuda --only decode | grep "decode, batch 1" |
  sed 's/decode, batch 1  /decode, batch 1, graphs off/' | tee -a "$REPORT" || status=1
row "total" "$([ $status -eq 0 ] && echo ok || echo FAIL)" "$(( $(date +%s) - start )) s; table in $REPORT"
exit $status
