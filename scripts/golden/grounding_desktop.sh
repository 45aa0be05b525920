#!/usr/bin/env bash
# The desktop part of the real-screens grounding set
# (tests/golden/grounding/desktop): zenity dialogs, mousepad and xterm on a
# private 1280x800 Xvfb, boxes from AT-SPI and from xterm's character grid
# (scripts/golden/desktop_boxes.py). Run after ./scripts/build.sh; needs
# Debian's python3-gi, gir1.2-atspi-2.0, at-spi2-core, dbus and x11-utils.
source "$(dirname "$0")/../lib.sh"
ensure_packages python3-gi gir1.2-atspi-2.0 at-spi2-core dbus x11-utils
out="$ROOT/tests/golden/grounding/desktop"
bin="$ROOT/build/release/deskpilot"
rm -rf "$out"
mkdir -p "$out/images"
exec {fd}< <(Xvfb -displayfd 1 -screen 0 1280x800x24 -nolisten tcp 2>/dev/null & echo "pid $!"; wait)
read -r _ xpid <&"$fd"
read -r display <&"$fd"
trap 'kill "$xpid" 2>/dev/null || true' EXIT
DISPLAY=":$display" GTK_THEME=Adwaita NO_AT_BRIDGE=0 dbus-run-session -- bash -c '
  /usr/libexec/at-spi-bus-launcher --launch-immediately &
  sleep 1
  /usr/bin/python3 "$0/scripts/golden/desktop_boxes.py" "$1" "$2"
' "$ROOT" "$bin" "$out" 2> >(grep -vE "dbus-daemon|SpiRegistry|CRITICAL|^$" >&2)
log "$(grep -c img_filename "$out/screenspot_desktop.json") samples in $out"
