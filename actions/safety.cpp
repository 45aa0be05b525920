#include "actions/safety.h"

#include <algorithm>
#include <cctype>

#include "actions/formatter.h"
#include "actions/keys.h"
#include "actions/shell_check.h"

namespace deskpilot::actions {
namespace {

// `needle` in `hay` as whole words: "halt" is in "halt now", not in
// "asphalt"; "rm -rf /" is in "rm -rf / ; ls", not in "rm -rf /tmp/x".
bool contains_words(const std::string& hay, const std::string& needle) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto separator = [](char c) { return std::string_view(" \n;|&()<>`").find(c) != std::string_view::npos; };
  if (needle.empty()) return false;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) {
    const bool start_ok = p == 0 || !word(needle.front()) || separator(hay[p - 1]);
    const size_t end = p + needle.size();
    const bool end_ok = end == hay.size() || separator(hay[end]) || separator(needle.back());
    if (start_ok && end_ok) return true;
  }
  return false;
}

// Left and right modifiers alike.
std::string fold_side(const std::string& key) {
  if (key == "ctrlright") return "ctrl";
  if (key == "altright") return "alt";
  if (key == "shiftright") return "shift";
  if (key == "superright") return "super";
  return key;
}

std::string chord_text(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : " ") + k;
  return out;
}

// What a chord does to the line being typed (as a terminal's line editor,
// or a text field, takes it).
enum class LineEffect { kNone, kSubmit, kClear, kBackspace, kDeleteWord };

LineEffect effect_of(const std::set<std::string>& keys) {
  const bool ctrl = keys.count("ctrl") > 0;
  const bool alt = keys.count("alt") > 0 || keys.count("super") > 0;
  const auto has = [&](const char* k) { return keys.count(k) > 0; };
  if (alt) return LineEffect::kNone;
  if (has("enter") || has("kpenter") || (ctrl && (has("m") || has("j")))) return LineEffect::kSubmit;
  if (ctrl && (has("u") || has("c"))) return LineEffect::kClear;
  if (ctrl && has("w")) return LineEffect::kDeleteWord;
  if (has("backspace") || (ctrl && has("h"))) return LineEffect::kBackspace;
  return LineEffect::kNone;
}

// A line the shell would not run yet at Enter: it ends in a backslash or
// leaves a quote open.
bool continued(const std::string& line) {
  if (!line.empty() && line.back() == '\\') return true;
  bool single = false, dbl = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\' && !single) {
      ++i;
    } else if (c == '\'' && !dbl) {
      single = !single;
    } else if (c == '"' && !single) {
      dbl = !dbl;
    }
  }
  return single || dbl;
}

void apply(LineEffect e, std::string* line) {
  switch (e) {
    case LineEffect::kNone: break;
    case LineEffect::kSubmit:
      if (continued(*line)) line->push_back('\n');
      else line->clear();
      break;
    case LineEffect::kClear: line->clear(); break;
    case LineEffect::kBackspace:
      // One character, UTF-8 continuation bytes with it.
      while (!line->empty() && (static_cast<unsigned char>(line->back()) & 0xC0) == 0x80) line->pop_back();
      if (!line->empty()) line->pop_back();
      break;
    case LineEffect::kDeleteWord:
      while (!line->empty() && line->back() == ' ') line->pop_back();
      while (!line->empty() && line->back() != ' ') line->pop_back();
      break;
  }
}

std::set<std::string> keys_of(const Action& a) {
  std::set<std::string> out;
  for (const auto& k : a.keys) out.insert(fold_side(k));
  return out;
}

// What a type() action sends, its submitting Enter included.
std::string typed_text(const Action& a) { return a.submit ? a.text + "\n" : a.text; }

// One typed character on the line.
void feed(char c, std::string* line) {
  if (c == '\n') apply(LineEffect::kSubmit, line);
  else if (c == '\b') apply(LineEffect::kBackspace, line);
  else line->push_back(c);
}

}  // namespace

SafetyRules default_safety_rules() {
  SafetyRules r;
  // Most of what is dangerous is recognised by the shell checks; these
  // phrases catch it in places those checks do not parse.
  r.denied_text = {"rm -rf /", "rm -rf ~", "rm -rf *", "rm -fr /", "mkfs", ":(){ :|:& };:", "> /dev/sda",
                   "chmod -r 777 /", "--no-preserve-root"};
  r.denied_hotkeys = {{"ctrl", "alt", "backspace"}, {"ctrl", "alt", "delete"}, {"alt", "printscreen", "b"},
                      {"alt", "printscreen", "o"}, {"alt", "printscreen", "c"}};
  return r;
}

std::optional<SafetyRules> safety_rules_from_json(const nlohmann::json& j, std::string* error) {
  SafetyRules r = default_safety_rules();
  if (!j.is_object()) {
    *error = "expected an object with denied_text, denied_hotkeys and shell_commands";
    return std::nullopt;
  }
  for (const auto& [key, value] : j.items()) {
    if (key == "shell_commands") {
      if (!value.is_boolean()) {
        *error = key + ": expected true or false";
        return std::nullopt;
      }
      r.shell_commands = value.get<bool>();
      continue;
    }
    if (key != "denied_text" && key != "denied_hotkeys") {
      *error = "unknown key '" + key + "' (expected denied_text, denied_hotkeys, shell_commands)";
      return std::nullopt;
    }
    if (!value.is_array()) {
      *error = key + ": expected an array of strings";
      return std::nullopt;
    }
    (key == "denied_text" ? r.denied_text.clear() : r.denied_hotkeys.clear());
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string where = key + "[" + std::to_string(i) + "]";
      if (!value[i].is_string()) {
        *error = where + ": expected a string";
        return std::nullopt;
      }
      const std::string text = value[i].get<std::string>();
      if (key == "denied_text") {
        r.denied_text.push_back(text);
        continue;
      }
      KeyParseResult chord = parse_key_chord(text);
      if (!chord.error.empty()) {
        *error = where + ": " + chord.error;
        return std::nullopt;
      }
      std::vector<std::string> names;
      for (const auto& k : chord.keys) names.push_back(k.name);
      r.denied_hotkeys.push_back(names);
    }
  }
  return r;
}

SafetyMonitor::SafetyMonitor(SafetyRules rules) : rules_(std::move(rules)) {
  for (const auto& d : rules_.denied_text) phrases_.push_back(shell_normalise(d));
}

std::set<std::string> SafetyMonitor::chord_of(const Action& a) const {
  std::set<std::string> chord = held_;
  const std::set<std::string> keys = keys_of(a);
  chord.insert(keys.begin(), keys.end());
  return chord;
}

std::optional<std::string> denied_reason(const Action& a, const SafetyRules& rules) {
  return SafetyMonitor(rules).check(a, 0);
}

const std::string& SafetyMonitor::line(uint64_t window) const {
  static const std::string kEmpty;
  auto it = lines_.find(window);
  return it == lines_.end() ? kEmpty : it->second;
}

std::optional<std::string> SafetyMonitor::check_line(const std::string& line) const {
  const std::string normalised = shell_normalise(line);
  for (size_t i = 0; i < phrases_.size(); ++i) {
    if (contains_words(normalised, phrases_[i]))
      return "blocked by the deny list: the typed line contains '" + rules_.denied_text[i] + "'";
  }
  if (rules_.shell_commands) {
    if (auto why = dangerous_command(line)) return "blocked by the deny list: the typed line runs " + *why;
  }
  return std::nullopt;
}

std::optional<std::string> SafetyMonitor::check_chord(const std::set<std::string>& keys) const {
  for (const auto& d : rules_.denied_hotkeys) {
    const bool all = std::all_of(d.begin(), d.end(), [&](const std::string& k) { return keys.count(fold_side(k)) > 0; });
    if (all) {
      std::vector<std::string> pressed(keys.begin(), keys.end());
      return "blocked by the deny list: the hotkey '" + chord_text(d) + "'" +
             (pressed.size() > d.size() ? " (within '" + chord_text(pressed) + "')" : "");
    }
  }
  return std::nullopt;
}

std::optional<std::string> SafetyMonitor::check(const Action& a, uint64_t window) const {
  if (a.type == ActionType::kType) {
    // Line by line as the text would reach the window: each Enter, and what
    // is left on the line after the last one.
    std::string current = line(window);
    const bool modifiers = std::any_of(held_.begin(), held_.end(), [](const std::string& k) {
      return k == "ctrl" || k == "alt" || k == "super";
    });
    for (char c : typed_text(a)) {
      if (modifiers && c != '\n') {
        // Typed with ctrl/alt held, each character is a chord.
        std::set<std::string> chord = held_;
        if (auto key = lookup_key(std::string(1, c))) chord.insert(key->name);
        if (auto why = check_chord(chord)) return why;
      }
      if (c == '\n') {
        if (auto why = check_line(current)) return why;
      }
      feed(c, &current);
    }
    return check_line(current);  // also without Enter: refused before it is on the line
  }
  if (a.type == ActionType::kHotkey || a.type == ActionType::kPress) {
    const std::set<std::string> chord = chord_of(a);
    if (auto why = check_chord(chord)) return why;
    if (effect_of(chord) == LineEffect::kSubmit) {
      const std::string& current = line(window);
      if (auto why = check_line(current)) return *why + " (at Enter)";
    }
  }
  return std::nullopt;
}

void SafetyMonitor::record(const Action& a, uint64_t window) {
  std::string& current = lines_[window];
  switch (a.type) {
    case ActionType::kType:
      for (char c : typed_text(a)) feed(c, &current);
      break;
    case ActionType::kHotkey:
    case ActionType::kPress: {
      apply(effect_of(chord_of(a)), &current);
      if (a.type == ActionType::kPress) {
        const std::set<std::string> keys = keys_of(a);
        held_.insert(keys.begin(), keys.end());
      }
      break;
    }
    case ActionType::kRelease:
      for (const auto& k : keys_of(a)) held_.erase(k);
      break;
    default:
      break;
  }
}

ExecutionResult GuardedExecutor::execute(const Action& a) {
  ExecutionResult refused;
  refused.ok = false;
  const uint64_t window = focused_window_ ? focused_window_() : 0;
  if (auto reason = monitor_.check(a, window)) {
    refused.error = *reason;
    return refused;
  }
  if (confirm_ && !confirm_(a)) {
    refused.error = "not confirmed: " + format_action(a);
    return refused;
  }
  ExecutionResult result = inner_.execute(a);
  monitor_.record(a, window);
  return result;
}

}  // namespace deskpilot::actions
