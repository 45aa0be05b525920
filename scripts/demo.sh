#!/usr/bin/env bash
# The main job on its embedded default. At this stage: the bundled sample
# model outputs (UI-TARS v1 and v1.5 styles, one per action type) through the
# parser, and the plan a dry-run executor would carry out on a 1920x1080 screen.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/build.sh"
cd "$ROOT"
bin="build/release/agent/deskpilot"
samples="demos/model_outputs"

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
out="build/demo-out"
"$bin" scenario run -j 2 --out "$out" --junit "$out/junit.xml" --report "$out/report.html" demos/scenarios/*.json
echo "HTML report: $ROOT/$out/report.html"
echo "trajectories: $ROOT/$out/<scenario>/trajectory, JUnit: $ROOT/$out/junit.xml"
