#!/usr/bin/env bash
# The main job on its embedded default: `deskpilot run` with the OCR policy
# (no model weights needed) on a demo task on a private Xvfb display, the
# bundled sample model outputs (UI-TARS v1 and v1.5 styles, one per action
# type) through the parser and a dry-run executor, then the demo scenarios.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh"
cd "$ROOT"
bin="build/release/deskpilot"
samples="demos/model_outputs"

out="build/demo-out"
mkdir -p "$out/run"
echo "### deskpilot run, embedded default (OCR policy, no weights), on a private display"
rm -f "$out/run/entry.txt"
"$bin" run "type Ada Lovelace into the Your name field, then click OK" --xvfb 1024x768 --unattended \
  --launch "zenity --entry --title demo-entry --text 'Your name?' > $ROOT/$out/run/entry.txt" \
  --wait-window '^demo-entry$' --out "$out/run" --report "$out/run/report.html"
for _ in $(seq 50); do [ -s "$out/run/entry.txt" ] && break; sleep 0.1; done
echo "zenity got: $(cat "$out/run/entry.txt")"
echo

echo "### UI-TARS v1 (Qwen2-VL: relative 0..1000 coordinates, box tokens)"
"$bin" plan --model-type qwen2vl --screen 1920x1080 "$samples"/v1/*.txt
echo
echo "### UI-TARS-1.5 (Qwen2.5-VL: pixels of the 1932x1092 smart-resized screenshot)"
"$bin" plan --model-type qwen25vl --screen 1920x1080 "$samples"/v1_5/*.txt
echo
echo "### Mobile actions: they parse, and a desktop executor refuses them"
if "$bin" plan --model-type qwen2vl --screen 1920x1080 "$samples"/mobile/*.txt; then
  echo "error: mobile actions were not refused" >&2
  exit 1
fi
echo
echo "### One output as JSON (deskpilot parse)"
"$bin" parse --model-type qwen25vl --screen 1920x1080 "$samples"/v1_5/03_drag.txt
echo
echo "### The demo scenarios, for real, each on its own private Xvfb display"
"$bin" scenario run -j 2 --out "$out" --junit "$out/junit.xml" --report "$out/report.html" demos/scenarios/*.json
echo "HTML report: $ROOT/$out/report.html"
echo "trajectories: $ROOT/$out/<scenario>/trajectory, JUnit: $ROOT/$out/junit.xml"
