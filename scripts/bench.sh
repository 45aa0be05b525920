#!/usr/bin/env bash
# Benchmarks, each against a reference measured in the same run.
#   scripts/bench.sh [parse] [capture] [tokenizer] [engine] [vision] [model] [serve] [quant]   (default: all)
#   parse:     the golden corpus through deskpilot's parser and through the
#              official ui-tars Python parser (.venv-bench, versions pinned
#              in scripts/golden/requirements.txt).
#   capture:   1920x1080 on a private Xvfb: MIT-SHM against XGetImage and
#              ImageMagick's `import -window root`.
#   tokenizer: the 2205 golden strings, one by one and as one document,
#              against the tokenizers package, one thread each.
#   engine:    prefill and decode of a random-weight Qwen2-VL with
#              Qwen2-0.5B's decoder (made here, BF16, not committed) against
#              transformers in FP32 and BF16 on the same weights
#              (.venv-bench-engine, scripts/golden/requirements-models.txt:
#              torch from PyPI, several GB on the first run).
#   vision:    one 1920x1080 screenshot (2691 merged tokens) through a
#              random-weight vision tower of UI-TARS-1.5-7B's size (depth 32,
#              width 1280; made here, 1.4 GB) against transformers FP32 on
#              the same weights: time and peak memory. A few minutes.
#   model:     the model benchmark of the GPU check (bench/model) on this
#              machine's device: CUDA when there is a GPU (UI-TARS-1.5-7B's
#              shape), else the CPU with the small shape; decode against the
#              copy-bandwidth roofline, vision + prefill of one screenshot
#              (time to first token), an agent step.
#   quant:     prefill's GEMMs (fused; AMX, VNNI or AVX2 integers, AVX-512
#              BF16 where the CPU has them) against converted blocks + OpenBLAS;
#              GGUF decode and prefill against llama.cpp's llama-bench on
#              the same files: random-weight GGUF models (made here, not
#              committed: UI-TARS-1.5-7B's decoder in Q4_K_M and Q8_0, 4-8 GB,
#              BF16 with QUANT_BF16=1, 15 GB; Qwen2-0.5B's in Q4_K_M, Q8_0,
#              BF16), the read-bandwidth roofline measured right after each
#              decode (it drifts by a third on shared machines),
#              same thread count; llama.cpp built from the llama-cpp-python
#              sdist's vendored source outside the repository ($LLAMA_CPP, or
#              fetched from PyPI into build/peers on the first run).
#              QUANT_SHAPES (default "0.5b 7b"), QUANT_PREFILL (default
#              "256 2048"; the 7B shape runs 256 only unless QUANT_LONG=1).
#   serve:     `deskpilot serve` on loopback, 8 clients for 20 s, continuous
#              batching against one request at a time (same model, same
#              run): requests/s, p50/p99, errors, 4xx for bad requests, peak
#              memory (SERVE_CLIENTS, SERVE_SECONDS change the load).
source "$(dirname "$0")/lib.sh"
# BENCH_BIN: an existing build folder to take the binaries from instead of
# building build/release first.
[ -n "${BENCH_BIN:-}" ] || "$ROOT/scripts/build.sh"
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(parse capture tokenizer engine vision model serve quant)
bin="${BENCH_BIN:-$ROOT/build/release}"

venv_with() {  # venv_with DIR REQUIREMENTS MODULE
  local venv="$1" req="$2" module="$3"
  ensure_packages python3 python3-venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import $module" 2>/dev/null; then
    log "creating $venv from $(basename "$req")"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$req"
  fi
}
field() { sed -nE "s/.*[ ^]$1=([0-9.]+).*/\1/p" <<<" $2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

bench_parse() {
  venv_with "$ROOT/.venv-bench" "$ROOT/scripts/golden/requirements.txt" ui_tars
  local corpus="$ROOT/tests/golden/uitars_actions.json" ours theirs
  ours=$("$bin/bench/bench_parse" "$corpus")
  theirs=$("$ROOT/.venv-bench/bin/python" "$ROOT/bench/parse_bench_official.py" "$corpus")
  echo "$ours"
  echo "$theirs"
  us() { sed -nE "s/^$1 .*median_us_per_parse=([0-9.]+).*/\1/p" <<<"$2"; }
  echo "speed-up vs official parse_action_to_structure_output: $(ratio "$(us official_parse "$theirs")" "$(us deskpilot_parse "$ours")")x"
  echo "speed-up vs official structure + pyautogui pipeline (text to screen pixels): $(ratio "$(us official_pipeline "$theirs")" "$(us deskpilot_parse "$ours")")x (target >= 100x)"
}

bench_capture() {
  ensure_packages imagemagick
  "$bin/bench/bench_capture"
}

bench_tokenizer() {
  venv_with "$ROOT/.venv-bench" "$ROOT/scripts/golden/requirements.txt" tokenizers
  local tok="$ROOT/tests/golden/tokenizer/qwen2/tokenizer.json" cases="$ROOT/tests/golden/tokenizer/cases.json" ours theirs
  ours=$("$bin/bench/bench_tokenizer" "$tok" "$cases")
  theirs=$(RAYON_NUM_THREADS=1 "$ROOT/.venv-bench/bin/python" "$ROOT/bench/tokenizer_bench_reference.py" "$tok" "$cases")
  echo "$ours"
  echo "$theirs"
  echo "tokenizer speed-up (single thread): strings one by one $(ratio "$(field strings_ms "$theirs")" "$(field strings_ms "$ours")")x, one document $(ratio "$(field doc_ms "$theirs")" "$(field doc_ms "$ours")")x (target > 1x)"
}

bench_engine() {
  local venv="$ROOT/.venv-bench-engine" model="$ROOT/build/bench-model/qwen2-0.5b-random" prompt="$ROOT/bench/prompt.txt"
  venv_with "$venv" "$ROOT/scripts/golden/requirements-models.txt" transformers
  [ -f "$model/model.safetensors" ] || "$venv/bin/python" "$ROOT/bench/engine_bench_reference.py" make "$model"
  local new=32 runs=() r
  for _ in 1 2 3; do
    r=$("$bin/deskpilot" generate --model "$model" --raw --prompt "$(cat "$prompt")" --max-tokens $new --ignore-eos --json)
    runs+=("$(python3 -c 'import json,sys
j = json.loads(sys.argv[1]); n = len(j["prompt_ids"]); g = len(j["generated_ids"]); p = j["prefill_ms"]; d = j["decode_ms"]
print(f"prompt_tokens={n} prefill_tps={n / p * 1000:.1f} decode_tps={(g - 1) / d * 1000:.2f}")' "$r")")
  done
  local ours
  ours=$(printf '%s\n' "${runs[@]}" | sort -t= -k4 -n | sed -n 2p)  # the median run by decode speed
  echo "deskpilot $ours gemm=$(grep -q openblas "$bin/CMakeCache.txt" 2>/dev/null && echo openblas || echo builtin) threads=$(nproc)"
  local fp32 bf16
  fp32=$("$venv/bin/python" "$ROOT/bench/engine_bench_reference.py" run "$model" float32 "$prompt" $new 2>/dev/null | tail -1)
  bf16=$("$venv/bin/python" "$ROOT/bench/engine_bench_reference.py" run "$model" bfloat16 "$prompt" $new 2>/dev/null | tail -1)
  echo "$fp32"
  echo "$bf16"
  echo "decode speed-up: $(ratio "$(field decode_tps "$ours")" "$(field decode_tps "$fp32")")x vs transformers FP32, $(ratio "$(field decode_tps "$ours")" "$(field decode_tps "$bf16")")x vs transformers BF16 (target >= 2x)"
  echo "prefill speed-up: $(ratio "$(field prefill_tps "$ours")" "$(field prefill_tps "$fp32")")x vs transformers FP32, $(ratio "$(field prefill_tps "$ours")" "$(field prefill_tps "$bf16")")x vs transformers BF16"
}

bench_vision() {
  local venv="$ROOT/.venv-bench-engine" model="$ROOT/build/bench-model/uitars15-vision-random"
  local shot="$ROOT/tests/golden/images/chromium_form_1920x1080.png" ours theirs
  venv_with "$venv" "$ROOT/scripts/golden/requirements-models.txt" transformers
  [ -f "$model/model.safetensors" ] || "$venv/bin/python" "$ROOT/bench/vision_bench_reference.py" make "$model"
  ours=$("$bin/bench/bench_vision" "$model" "$shot")
  theirs=$("$venv/bin/python" "$ROOT/bench/vision_bench_reference.py" run "$model" "$shot" 2>/dev/null | tail -1)
  echo "$ours"
  echo "$theirs"
  echo "vision tower, one 1920x1080 screenshot: $(ratio "$(field vision_ms "$theirs")" "$(field vision_ms "$ours")")x the speed of transformers FP32, $(ratio "$(field peak_rss_mb "$ours")" "$(field peak_rss_mb "$theirs")")x its peak memory"
}

bench_model() {
  if "$bin/bench/model/bench_model" --device cuda --only decode >/dev/null 2>&1; then
    "$bin/bench/model/bench_model" --device cuda
  else
    "$bin/bench/model/bench_model" --device cpu --small
  fi
}

# The OpenAI-compatible server under load: 8 clients for 20 s each way, with
# continuous batching and, as the reference, one request at a time; a ninth
# client sends malformed and oversized bodies (all must get 4xx). The model
# is the engine benchmark's random Qwen2-0.5B-sized checkpoint.
bench_serve() {
  local venv="$ROOT/.venv-bench-engine" model="$ROOT/build/bench-model/qwen2-0.5b-random"
  venv_with "$venv" "$ROOT/scripts/golden/requirements-models.txt" transformers
  [ -f "$model/model.safetensors" ] || "$venv/bin/python" "$ROOT/bench/engine_bench_reference.py" make "$model"
  "$bin/bench/bench_serve" "$model" "${SERVE_CLIENTS:-8}" "${SERVE_SECONDS:-20}" 32 8
}

# llama.cpp from the llama-cpp-python sdist (PyPI), built outside the repo.
llama_cpp() {
  local dir="${LLAMA_CPP:-$ROOT/build/peers/llama.cpp}"
  if [ ! -x "$dir/build/bin/llama-bench" ]; then
    if [ ! -f "$dir/CMakeLists.txt" ]; then
      ensure_packages python3-pip
      mkdir -p "$ROOT/build/peers"
      (cd "$ROOT/build/peers" && pip download -q --no-binary :all: --no-deps llama-cpp-python &&
        tar xzf llama_cpp_python-*.tar.gz && mv llama_cpp_python-*/vendor/llama.cpp "$dir") >&2
    fi
    log "building llama.cpp's llama-bench in $dir (a few minutes)"
    cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >/dev/null
    cmake --build "$dir/build" -j"$(nproc)" --target llama-bench >/dev/null
  fi
  echo "$dir/build/bin/llama-bench"
}

# llama-bench's tok/s for its arguments. Where its default (weights repacked,
# into AMX tiles on CPUs that have AMX) crashes, as 0c1e570's AMX kernels do
# when GCC 12 drops the stores of their tile config (llama.cpp PR 26954),
# once more with --repack 0, said on stderr.
llama_tps() {
  local llama=$1 out
  shift
  if ! out=$("$llama" "$@" -o json 2>/dev/null); then
    echo "llama-bench $* failed with its default (repacked or AMX) weights; again with --repack 0" >&2
    out=$("$llama" "$@" --repack 0 -o json 2>/dev/null) || { echo nan; return; }
  fi
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["avg_ts"])' <<<"$out"
}

bench_quant() {
  local llama models="$ROOT/build/bench-model" tok="$ROOT/tests/golden/tokenizer/qwen2/tokenizer.json"
  llama=$(llama_cpp)
  local isa; isa=$(grep -q avx512f /proc/cpuinfo && echo "AVX-512" || echo "AVX2 only (no AVX-512)")
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $isa, $(nproc) threads"
  local bw; bw=$(field read_bandwidth_gbs "$("$bin/bench/bench_quant" bandwidth)")
  echo "read bandwidth (reference): $bw GB/s"
  # Prefill's linear layers alone: the fused GEMM (and AMX where the CPU has it) against converted
  # blocks + OpenBLAS, 7B shapes.
  for g in "256 3584 18944 q4_k" "256 18944 3584 q6_k" "2048 3584 3584 q8_0" "256 3584 3584 bf16"; do
    # shellcheck disable=SC2086
    "$bin/bench/bench_quant" gemm $g
  done
  mkdir -p "$models"
  for shape in ${QUANT_SHAPES:-0.5b 7b}; do
    for type in q4_k_m q8_0 bf16; do
      [ "$shape" = 7b ] && [ "$type" = bf16 ] && [ "${QUANT_BF16:-0}" != 1 ] && continue
      local f="$models/random-$shape-$type.gguf"
      [ -f "$f" ] || "$bin/bench/bench_quant" make "$f" "$shape" "$type" "$tok" >/dev/null
      local prefills="${QUANT_PREFILL:-256 2048}"
      [ "$shape" = 7b ] && [ "${QUANT_LONG:-0}" != 1 ] && prefills=256
      for p in $prefills; do
        local ours
        ours=$("$bin/bench/bench_quant" run "$f" "$p" 32)
        local lpp ltg
        # llama.cpp's prefill of p tokens, and its decode of 32 after p (-d), as ours is.
        lpp=$(llama_tps "$llama" -m "$f" -p "$p" -n 0 -t "$(nproc)" -r 3)
        ltg=$(llama_tps "$llama" -m "$f" -p 0 -n 32 -d "$p" -t "$(nproc)" -r 3)
        local dtps ptps gb
        dtps=$(field decode_tps "$ours"); ptps=$(field prefill_tps "$ours"); gb=$(field weight_gb_per_token "$ours")
        # The roofline from the bandwidth read right after this decode (it drifts on shared machines).
        bw=$(field read_bandwidth_gbs "$ours")
        echo "$ours"
        echo "llama.cpp model=$(basename "$f") pp$p=$lpp tg32@d$p=$ltg"
        echo "$shape $type prefill $p: deskpilot $ptps tok/s, llama.cpp $lpp tok/s: $(ratio "$ptps" "$lpp")x (target >= 1.0x)"
        echo "$shape $type decode after $p: deskpilot $dtps tok/s, llama.cpp $ltg tok/s: $(ratio "$dtps" "$ltg")x (target >= 1.0x); roofline at $bw GB/s $(awk -v b="$bw" -v g="$gb" 'BEGIN { printf "%.2f", b / g }') tok/s: $(awk -v d="$dtps" -v b="$bw" -v g="$gb" 'BEGIN { printf "%.0f", 100 * d * g / b }')% (target >= 80%)"
      done
    done
  done
  # Where the CPU has AMX, both sides' AMX paths ran above; what a CPU without it gets: deskpilot's
  # VNNI GEMM against llama.cpp without its AMX and repacked kernels (--repack 0).
  if grep -q amx_tile /proc/cpuinfo; then
    local shape
    for shape in ${QUANT_SHAPES:-0.5b 7b}; do
      local f="$models/random-$shape-q4_k_m.gguf" ours lpp ptps
      ours=$(BENCH_PREFILL_GEMM=vnni "$bin/bench/bench_quant" run "$f" 256 4)
      lpp=$(llama_tps "$llama" -m "$f" -p 256 -n 0 -t "$(nproc)" -r 3 --repack 0)
      ptps=$(field prefill_tps "$ours")
      echo "$shape q4_k_m prefill 256 without AMX: deskpilot (VNNI) $ptps tok/s, llama.cpp (--repack 0) $lpp tok/s: $(ratio "$ptps" "$lpp")x"
    done
  fi
}

for s in "${sections[@]}"; do
  case "$s" in
    parse | capture | tokenizer | engine | vision | model | serve | quant) echo "== $s"; "bench_$s"; echo ;;
    *) die "unknown benchmark '$s' (parse, capture, tokenizer, engine, vision, model, serve, quant)" ;;
  esac
done
