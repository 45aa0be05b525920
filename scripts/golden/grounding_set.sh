#!/usr/bin/env bash
# The grounding set of real screens (tests/golden/grounding/chromium): each
# page of demos/grounding/pages in Chromium, full screen on a private
# 1280x800 Xvfb, captured with `deskpilot capture`; the target boxes come
# from the page itself (collect.js: getBoundingClientRect of every element
# marked data-i, moved by the window's and the page's offsets on the screen),
# written in ScreenSpot's format (img_filename, bbox x, y, w, h, instruction,
# data_type, data_source). Run after ./scripts/build.sh.
source "$(dirname "$0")/../lib.sh"
out="$ROOT/tests/golden/grounding/chromium"
bin="$ROOT/build/release/deskpilot"
pages="$ROOT/demos/grounding/pages"
mkdir -p "$out/images"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "[" >"$work/all.json"
first=1
for page in "$pages"/*.html; do
  name="$(basename "$page" .html)"
  exec {fd}< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null & echo "pid $!"; wait)
  read -r _ xpid <&"$fd"
  read -r display <&"$fd"
  DISPLAY=":$display" chromium --no-sandbox --test-type --disable-gpu --no-first-run --no-default-browser-check \
    --disable-extensions --disable-sync --password-store=basic --user-data-dir="$work/profile-$name" --kiosk \
    --window-position=0,0 --window-size=1280,800 --enable-logging=stderr --v=0 "file://$page" 2>"$work/$name.log" &
  app=$!
  boxes=""
  for _ in $(seq 60); do
    boxes="$(sed -nE 's/.*DESKPILOT_BOXES ([A-Za-z0-9+\/=]+).*/\1/p' "$work/$name.log" | tail -1)"
    [ -n "$boxes" ] && break
    sleep 0.5
  done
  [ -n "$boxes" ] || die "$name: the page did not report its boxes (see $work/$name.log)"
  sleep 1
  "$bin" capture --display ":$display" --out "$out/images/$name.png"
  kill "$app" 2>/dev/null || true
  pkill -P "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xpid" 2>/dev/null || true
  echo "$boxes" | base64 -d >"$work/$name.json"
  # ScreenSpot records, one line each.
  sed -E 's/.*"targets":\[(.*)\]\}$/\1/' "$work/$name.json" |
    sed -E 's/\},\{/}\n{/g' |
    sed -E "s/^\{\"instruction\":(\"[^\"]*\"),\"type\":\"([a-z]+)\",\"box\":\[([0-9,-]+)\]\}$/{\"img_filename\": \"$name.png\", \"bbox\": [\3], \"instruction\": \1, \"data_type\": \"\2\", \"data_source\": \"$name\"}/" \
      >"$work/$name.lines"
  while read -r line; do
    [ $first -eq 1 ] || echo "," >>"$work/all.json"
    first=0
    printf '  %s' "$line" >>"$work/all.json"
  done <"$work/$name.lines"
  log "$name: $(wc -l <"$work/$name.lines") targets"
done
printf '\n]\n' >>"$work/all.json"
cp "$work/all.json" "$out/screenspot_web.json"
log "$(grep -c img_filename "$out/screenspot_web.json") samples in $out"
