// Key names from UI-TARS and pyautogui mapped to X keysyms.
//
// Models write chords as "ctrl c", "ctrl+shift+t", "Page Down"; pyautogui and
// xdotool spell the same keys differently. Every spelling resolves to one
// canonical name (what the JSON output and the formatter use) and one X
// keysym (what the libxdo executor sends). An unknown name is an error: a
// silently dropped modifier turns ctrl+w into a plain "w".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskpilot::actions {

struct KeyInfo {
  std::string name;        // canonical deskpilot/UI-TARS name: "ctrl", "enter", "a", "f5"
  uint32_t keysym = 0;     // X11 keysym value (X11/keysymdef.h), e.g. 0xffe3 Control_L
  std::string xname;       // X keysym name for XStringToKeysym / xdo: "Control_L"
};

// One key name, any spelling (case-insensitive for names longer than one
// character; a single letter is taken as its lowercase key).
std::optional<KeyInfo> lookup_key(std::string_view name);

struct KeyParseResult {
  std::vector<KeyInfo> keys;  // in the order written
  std::string error;          // set when a name is unknown or the chord is empty
};

// A chord as models write it: names split on spaces and '+' ("ctrl shift t",
// "ctrl+shift+t", "Page Down" as one key, "ctrl +" with '+' itself).
KeyParseResult parse_key_chord(std::string_view chord);

}  // namespace deskpilot::actions
