#!/usr/bin/env bash
# Benchmarks, each against a reference measured in the same run.
#   parse: the golden corpus through deskpilot's parser and through the
#          official ui-tars Python parser (installed into .venv-bench,
#          versions pinned in scripts/golden/requirements.txt).
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh"
ensure_packages python3 python3-venv
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
us_ours=$(sed -E 's/.*median_us_per_parse=([0-9.]+).*/\1/' <<<"$ours")
us_theirs=$(sed -E 's/.*median_us_per_parse=([0-9.]+).*/\1/' <<<"$theirs")
awk -v a="$us_theirs" -v b="$us_ours" 'BEGIN { printf "parse speed-up vs official ui-tars: %.1fx (target >= 100x)\n", a / b }'
