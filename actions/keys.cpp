#include "actions/keys.h"

#include <array>
#include <cctype>

namespace deskpilot::actions {
namespace {

struct NamedKey {
  std::string_view alias;  // lowercase spelling
  std::string_view name;   // canonical name
  uint32_t keysym;
  std::string_view xname;
};

// Keysym values from X11/keysymdef.h, written out so that actions/ needs no
// X11 headers (their macros collide with OpenCV and the standard library).
constexpr std::array kNamedKeys = {
    NamedKey{"ctrl", "ctrl", 0xffe3, "Control_L"},
    NamedKey{"control", "ctrl", 0xffe3, "Control_L"},
    NamedKey{"ctl", "ctrl", 0xffe3, "Control_L"},
    NamedKey{"ctrlleft", "ctrl", 0xffe3, "Control_L"},
    NamedKey{"ctrlright", "ctrlright", 0xffe4, "Control_R"},
    NamedKey{"alt", "alt", 0xffe9, "Alt_L"},
    NamedKey{"option", "alt", 0xffe9, "Alt_L"},
    NamedKey{"altleft", "alt", 0xffe9, "Alt_L"},
    NamedKey{"altright", "altright", 0xffea, "Alt_R"},
    NamedKey{"altgr", "altgr", 0xfe03, "ISO_Level3_Shift"},
    NamedKey{"shift", "shift", 0xffe1, "Shift_L"},
    NamedKey{"shiftleft", "shift", 0xffe1, "Shift_L"},
    NamedKey{"shiftright", "shiftright", 0xffe2, "Shift_R"},
    NamedKey{"super", "super", 0xffeb, "Super_L"},
    NamedKey{"win", "super", 0xffeb, "Super_L"},
    NamedKey{"winleft", "super", 0xffeb, "Super_L"},
    NamedKey{"windows", "super", 0xffeb, "Super_L"},
    NamedKey{"meta", "super", 0xffeb, "Super_L"},
    NamedKey{"cmd", "super", 0xffeb, "Super_L"},
    NamedKey{"command", "super", 0xffeb, "Super_L"},
    NamedKey{"winright", "superright", 0xffec, "Super_R"},
    NamedKey{"enter", "enter", 0xff0d, "Return"},
    NamedKey{"return", "enter", 0xff0d, "Return"},
    NamedKey{"kpenter", "kpenter", 0xff8d, "KP_Enter"},
    NamedKey{"esc", "esc", 0xff1b, "Escape"},
    NamedKey{"escape", "esc", 0xff1b, "Escape"},
    NamedKey{"tab", "tab", 0xff09, "Tab"},
    NamedKey{"space", "space", 0x0020, "space"},
    NamedKey{"spacebar", "space", 0x0020, "space"},
    NamedKey{"backspace", "backspace", 0xff08, "BackSpace"},
    NamedKey{"delete", "delete", 0xffff, "Delete"},
    NamedKey{"del", "delete", 0xffff, "Delete"},
    NamedKey{"insert", "insert", 0xff63, "Insert"},
    NamedKey{"ins", "insert", 0xff63, "Insert"},
    NamedKey{"home", "home", 0xff50, "Home"},
    NamedKey{"end", "end", 0xff57, "End"},
    NamedKey{"pageup", "pageup", 0xff55, "Prior"},
    NamedKey{"pgup", "pageup", 0xff55, "Prior"},
    NamedKey{"page_up", "pageup", 0xff55, "Prior"},
    NamedKey{"prior", "pageup", 0xff55, "Prior"},
    NamedKey{"pagedown", "pagedown", 0xff56, "Next"},
    NamedKey{"pgdn", "pagedown", 0xff56, "Next"},
    NamedKey{"page_down", "pagedown", 0xff56, "Next"},
    NamedKey{"next", "pagedown", 0xff56, "Next"},
    NamedKey{"up", "up", 0xff52, "Up"},
    NamedKey{"arrowup", "up", 0xff52, "Up"},
    NamedKey{"down", "down", 0xff54, "Down"},
    NamedKey{"arrowdown", "down", 0xff54, "Down"},
    NamedKey{"left", "left", 0xff51, "Left"},
    NamedKey{"arrowleft", "left", 0xff51, "Left"},
    NamedKey{"right", "right", 0xff53, "Right"},
    NamedKey{"arrowright", "right", 0xff53, "Right"},
    NamedKey{"capslock", "capslock", 0xffe5, "Caps_Lock"},
    NamedKey{"numlock", "numlock", 0xff7f, "Num_Lock"},
    NamedKey{"scrolllock", "scrolllock", 0xff14, "Scroll_Lock"},
    NamedKey{"pause", "pause", 0xff13, "Pause"},
    NamedKey{"printscreen", "printscreen", 0xff61, "Print"},
    NamedKey{"print", "printscreen", 0xff61, "Print"},
    NamedKey{"prtsc", "printscreen", 0xff61, "Print"},
    NamedKey{"prtscr", "printscreen", 0xff61, "Print"},
    NamedKey{"menu", "menu", 0xff67, "Menu"},
    NamedKey{"apps", "menu", 0xff67, "Menu"},
    NamedKey{"plus", "+", 0x002b, "plus"},
    NamedKey{"minus", "-", 0x002d, "minus"},
    NamedKey{"volumeup", "volumeup", 0x1008ff13, "XF86AudioRaiseVolume"},
    NamedKey{"volumedown", "volumedown", 0x1008ff11, "XF86AudioLowerVolume"},
    NamedKey{"volumemute", "volumemute", 0x1008ff12, "XF86AudioMute"},
};

// X keysym names of printable ASCII punctuation (keysym == code point).
struct Punct {
  char c;
  std::string_view xname;
};
constexpr std::array kPunctuation = {
    Punct{'!', "exclam"},      Punct{'"', "quotedbl"},     Punct{'#', "numbersign"},
    Punct{'$', "dollar"},      Punct{'%', "percent"},      Punct{'&', "ampersand"},
    Punct{'\'', "apostrophe"}, Punct{'(', "parenleft"},    Punct{')', "parenright"},
    Punct{'*', "asterisk"},    Punct{'+', "plus"},         Punct{',', "comma"},
    Punct{'-', "minus"},       Punct{'.', "period"},       Punct{'/', "slash"},
    Punct{':', "colon"},       Punct{';', "semicolon"},    Punct{'<', "less"},
    Punct{'=', "equal"},       Punct{'>', "greater"},      Punct{'?', "question"},
    Punct{'@', "at"},          Punct{'[', "bracketleft"},  Punct{'\\', "backslash"},
    Punct{']', "bracketright"}, Punct{'^', "asciicircum"}, Punct{'_', "underscore"},
    Punct{'`', "grave"},       Punct{'{', "braceleft"},    Punct{'|', "bar"},
    Punct{'}', "braceright"},  Punct{'~', "asciitilde"},
};

char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower[i]) return false;
  }
  return true;
}

std::optional<KeyInfo> lookup_function_key(std::string_view lower) {
  // f1 .. f24: XK_F1 = 0xffbe, consecutive.
  if (lower.size() < 2 || lower.size() > 3 || lower[0] != 'f') return std::nullopt;
  int n = 0;
  for (char c : lower.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > 24 || lower[1] == '0') return std::nullopt;
  std::string name = "f" + std::to_string(n);
  return KeyInfo{name, 0xffbeu + static_cast<uint32_t>(n - 1), "F" + std::to_string(n)};
}

}  // namespace

std::optional<KeyInfo> lookup_key(std::string_view name) {
  if (name.size() == 1) {
    unsigned char c = static_cast<unsigned char>(name[0]);
    if (std::isalpha(c)) {
      char lower = static_cast<char>(std::tolower(c));
      return KeyInfo{std::string(1, lower), static_cast<uint32_t>(lower), std::string(1, lower)};
    }
    if (std::isdigit(c)) {
      return KeyInfo{std::string(1, name[0]), c, std::string(1, name[0])};
    }
    if (c == ' ') return KeyInfo{"space", 0x20, "space"};
    for (const auto& p : kPunctuation) {
      if (p.c == name[0]) return KeyInfo{std::string(1, p.c), c, std::string(p.xname)};
    }
    return std::nullopt;
  }
  for (const auto& k : kNamedKeys) {
    if (iequals(name, k.alias)) return KeyInfo{std::string(k.name), k.keysym, std::string(k.xname)};
  }
  char lower[4] = {};
  if (name.size() > sizeof lower) return std::nullopt;
  for (size_t i = 0; i < name.size(); ++i) lower[i] = lower_ascii(name[i]);
  return lookup_function_key(std::string_view(lower, name.size()));
}

KeyParseResult parse_key_chord(std::string_view chord) {
  KeyParseResult out;
  // Tokens split on white space, then on '+'. A '+' with nothing before it
  // inside a word ("ctrl++") is the plus key; a '+' standing alone between
  // two keys ("ctrl + c") separates them, and at either end ("ctrl +") it is
  // the plus key. Views into `chord`, no allocation.
  struct Token {
    std::string_view text;
    bool lone_plus = false;
  };
  constexpr size_t kMaxTokens = 16;
  Token raw[kMaxTokens];
  size_t n = 0;
  auto push = [&](std::string_view t, bool lone) {
    if (n == kMaxTokens) return false;
    raw[n++] = {t, lone};
    return true;
  };
  auto too_many = [&] {
    out.error = "too many keys in '" + std::string(chord) + "'";
    return out;
  };
  size_t i = 0;
  while (i < chord.size()) {
    while (i < chord.size() && is_ascii_space(chord[i])) ++i;
    const size_t start = i;
    while (i < chord.size() && !is_ascii_space(chord[i])) ++i;
    if (i == start) break;
    const std::string_view word = chord.substr(start, i - start);
    if (word == "+") {
      if (!push(word, true)) return too_many();
      continue;
    }
    size_t token_start = 0;
    for (size_t k = 0; k <= word.size(); ++k) {
      if (k < word.size() && word[k] != '+') continue;
      if (k > token_start) {
        if (!push(word.substr(token_start, k - token_start), false)) return too_many();
      } else if (k < word.size()) {
        if (!push(word.substr(k, 1), false)) return too_many();  // the plus key
      }
      token_start = k + 1;
    }
  }
  // Lone pluses between keys are separators; two-word names are joined:
  // "page down", "page up", "caps lock", "num lock", "scroll lock", "print screen".
  std::string_view tokens[kMaxTokens];
  size_t count = 0;
  for (size_t t = 0; t < n; ++t) {
    if (raw[t].lone_plus) {
      if (t == 0 || t + 1 == n) tokens[count++] = "+";
      continue;
    }
    if (t + 1 < n && !raw[t + 1].lone_plus) {
      const std::string_view a = raw[t].text;
      const std::string_view b = raw[t + 1].text;
      std::string_view joined;
      if (iequals(a, "page") && iequals(b, "down")) joined = "pagedown";
      if (iequals(a, "page") && iequals(b, "up")) joined = "pageup";
      if (iequals(a, "caps") && iequals(b, "lock")) joined = "capslock";
      if (iequals(a, "num") && iequals(b, "lock")) joined = "numlock";
      if (iequals(a, "scroll") && iequals(b, "lock")) joined = "scrolllock";
      if (iequals(a, "print") && iequals(b, "screen")) joined = "printscreen";
      if (!joined.empty()) {
        tokens[count++] = joined;
        ++t;
        continue;
      }
    }
    tokens[count++] = raw[t].text;
  }
  if (count == 0) {
    out.error = "empty key chord";
    return out;
  }
  out.keys.reserve(count);
  for (size_t t = 0; t < count; ++t) {
    auto key = lookup_key(tokens[t]);
    if (!key) {
      out.keys.clear();
      out.error = "unknown key '" + std::string(tokens[t]) + "' in '" + std::string(chord) + "'";
      return out;
    }
    out.keys.push_back(std::move(*key));
  }
  return out;
}

}  // namespace deskpilot::actions
