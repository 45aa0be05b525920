#!/usr/bin/env bash
# Screenshots of real applications on private Xvfb displays, the inputs of
# the preprocessing golden (scripts/golden/vision_cases.py). Each: a fresh
# Xvfb at the given size, the application, a pause, `deskpilot capture`.
# Writes tests/golden/images/NAME.png. Run after ./scripts/build.sh.
source "$(dirname "$0")/../lib.sh"
out="$ROOT/tests/golden/images"
bin="$ROOT/build/release/deskpilot"
mkdir -p "$out"

shot() {  # shot NAME WxH COMMAND...
  local name="$1" size="$2"
  shift 2
  local fd display
  exec {fd}< <(Xvfb -displayfd 1 -screen 0 "${size}x24" -nolisten tcp 2>/dev/null & echo "pid $!"; wait)
  local xpid
  read -r _ xpid <&"$fd"
  read -r display <&"$fd"
  DISPLAY=":$display" "$@" >/dev/null 2>&1 &
  local app=$!
  sleep 4
  "$bin" capture --display ":$display" --out "$out/$name.png"
  kill "$app" 2>/dev/null || true
  pkill -P "$app" 2>/dev/null || true
  kill "$xpid" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
}

page="file://$ROOT/demos/scenarios/pages/form.html"
chrome=(chromium --headless=new --no-sandbox --disable-gpu --user-data-dir=/tmp/deskpilot-shots-chrome)
shot chromium_form_1920x1080 1920x1080 chromium --no-sandbox --disable-gpu --no-first-run --user-data-dir=/tmp/deskpilot-shots-chrome --window-position=0,0 --window-size=1920,1080 "$page"
shot xterm_ls_1366x768 1366x768 xterm -geometry 160x45+0+0 -e bash -c 'ls -la /usr/bin | head -60; sleep 30'
shot mousepad_1280x800 1280x800 mousepad "$ROOT/README.md"
shot zenity_entry_800x600 800x600 zenity --entry --title=Rename --text="New file name:" --entry-text=report.txt
shot xterm_top_333x517 333x517 xterm -geometry 50x35+0+0 -e bash -c 'ps aux | head -40; sleep 30'
shot zenity_list_1024x768 1024x768 zenity --list --title=Files --column=Name --column=Size a.txt 12 b.png 3400 c.pdf 99 notes.md 7
shot chromium_form_1600x900 1600x900 chromium --no-sandbox --disable-gpu --no-first-run --user-data-dir=/tmp/deskpilot-shots-chrome2 --window-position=0,0 --window-size=1000,700 "$page"
shot xterm_640x480 640x480 xterm -geometry 80x30+20+20 -e bash -c 'echo "Hello from deskpilot"; uname -a; sleep 30'
shot mousepad_1440x900 1440x900 mousepad "$ROOT/docs/actions.md"
shot zenity_calendar_1001x777 1001x777 zenity --calendar --title=Date --day=29 --month=11 --year=2026
unset chrome
ls -la "$out"
