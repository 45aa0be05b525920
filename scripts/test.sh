#!/usr/bin/env bash
# All tests. Installs what is missing, builds (Release, all cores), runs ctest.
#   ./scripts/test.sh             the Release build's tests
#   ./scripts/test.sh --sanitize  clang with ASan+UBSan: the tests, then the
#                                 libFuzzer targets for FUZZ_SECONDS (default 60) each
#   ./scripts/test.sh --engine-only
#                                 engine/ + kernels/ and their tests alone, with
#                                 nothing installed: what a bare GPU machine builds
source "$(dirname "$0")/lib.sh"
mode="release"
case "${1:-}" in
  "") ;;
  --sanitize) mode="sanitize" ;;
  --engine-only) mode="engine" ;;
  *) echo "usage: $0 [--sanitize | --engine-only]" >&2; exit 2 ;;
esac

# run_ctest LABEL DIR: ctest in DIR, then one closing line "LABEL: N passed, N failed, N skipped".
run_ctest() {
  local label="$1" dir="$2" log="$2/ctest.log" rc=0
  (cd "$dir" && ctest --output-on-failure -j "$JOBS") 2>&1 | tee "$log" || rc=$?
  local total failed skipped
  total=$(sed -nE 's/.*tests failed out of ([0-9]+).*/\1/p' "$log" | tail -1)
  failed=$(sed -nE 's/.* ([0-9]+) tests failed out of.*/\1/p' "$log" | tail -1)
  skipped=$(grep -c '(Skipped)' "$log" || true)
  echo "$label: $((${total:-0} - ${failed:-0} - skipped)) passed, ${failed:-0} failed, $skipped skipped"
  return $rc
}

mkdir -p "$ROOT/build"
if [ "$mode" = engine ]; then
  build "$ROOT/build/engine" -DDESKPILOT_ENGINE_ONLY=ON -DDESKPILOT_BLAS=OFF -DDESKPILOT_BENCH=OFF $(cuda_flags)
  run_ctest engine-only "$ROOT/build/engine"
  exit 0
fi

ensure_packages "${BASE_PACKAGES[@]}"
if [ "$mode" = release ]; then
  build "$ROOT/build/release" $(cuda_flags)
  run_ctest release "$ROOT/build/release"
  exit 0
fi

ensure_packages "${SANITIZE_PACKAGES[@]}"
dir="$ROOT/build/sanitize"
CC=clang CXX=clang++ build "$dir" -DDESKPILOT_SANITIZE=ON -DDESKPILOT_FUZZ=ON \
  -DDESKPILOT_CUDA=OFF -DDESKPILOT_BENCH=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$ROOT/tests/sanitizer/lsan.supp:print_suppressions=0"
run_ctest sanitize "$dir"

# Fuzz each target, seeded with real inputs (model outputs, safetensors
# files) and past findings (tests/fuzz/corpus_*); findings fail the run.
seconds="${FUZZ_SECONDS:-60}"
fuzz() {
  local target="$1"
  shift
  local corpus="$dir/fuzz_corpus/$target"
  mkdir -p "$corpus"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$corpus/$(basename "$(dirname "$f")")_$(basename "$f")"
  done
  log "fuzzing $target for ${seconds}s"
  "$dir/tests/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 -artifact_prefix="$dir/$target-" \
    "$corpus" >"$dir/$target.log" 2>&1 ||
    { tail -40 "$dir/$target.log"; log "$target found a problem"; exit 1; }
  tail -1 "$dir/$target.log"
  log "$target: no findings in ${seconds}s"
}
fuzz fuzz_parser "$ROOT"/demos/model_outputs/*/*.txt "$ROOT"/tests/fuzz/corpus_parser/*
fuzz fuzz_safetensors "$ROOT"/tests/golden/safetensors/*/*.safetensors
fuzz fuzz_gguf "$ROOT"/tests/fuzz/corpus_gguf/*
fuzz fuzz_tokenizer "$ROOT"/tests/fuzz/corpus_tokenizer/*
fuzz fuzz_requests "$ROOT"/tests/fuzz/corpus_requests/*
fuzz fuzz_http "$ROOT"/tests/fuzz/corpus_http/*
