#!/usr/bin/env bash
# Benchmarks, each against a reference measured in the same run.
#   parse:   the golden corpus through deskpilot's parser and through the
#            official ui-tars Python parser (installed into .venv-bench,
#            versions pinned in scripts/golden/requirements.txt).
#   capture: 1920x1080 on a private Xvfb: MIT-SHM against XGetImage and
#            ImageMagick's `import -window root`.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh"
ensure_packages python3 python3-venv imagemagick
venv="$ROOT/.venv-bench"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ui_tars" 2>/dev/null; then
  log "creating $venv with the pinned ui-tars"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$ROOT/scripts/golden/requirements.txt"
fi
corpus="$ROOT/tests/golden/uitars_actions.json"
ours=$("$ROOT/build/release/bench/bench_parse" "$corpus")
theirs=$("$venv/bin/python" "$ROOT/bench/parse_bench_official.py" "$corpus")
echo "$ours"
echo "$theirs"
us() { sed -nE "s/^$1 .*median_us_per_parse=([0-9.]+).*/\1/p" <<<"$2"; }
us_ours=$(us deskpilot_parse "$ours")
us_parse=$(us official_parse "$theirs")
us_pipeline=$(us official_pipeline "$theirs")
awk -v a="$us_parse" -v b="$us_ours" 'BEGIN { printf "speed-up vs official parse_action_to_structure_output: %.1fx\n", a / b }'
awk -v a="$us_pipeline" -v b="$us_ours" 'BEGIN { printf "speed-up vs official structure + pyautogui pipeline (text to screen pixels): %.1fx (target >= 100x)\n", a / b }'

echo
"$ROOT/build/release/bench/bench_capture"
