#include "actions/safety.h"

#include <algorithm>
#include <cctype>

#include "actions/formatter.h"
#include "actions/keys.h"

namespace deskpilot::actions {
namespace {

// Lower case, runs of white space as one space, trimmed.
std::string normalise(const std::string& text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// `needle` in `hay` as whole words: "halt" is in "halt now", not in "asphalt".
bool contains_words(const std::string& hay, const std::string& needle) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (needle.empty()) return false;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) {
    const bool start_ok = p == 0 || !word(needle.front()) || !word(hay[p - 1]);
    const size_t end = p + needle.size();
    const bool end_ok = end == hay.size() || !word(needle.back()) || !word(hay[end]);
    if (start_ok && end_ok) return true;
  }
  return false;
}

std::vector<std::string> sorted(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  return keys;
}

}  // namespace

SafetyRules default_safety_rules() {
  SafetyRules r;
  r.denied_text = {"rm -rf /", "rm -rf ~", "rm -rf *", "rm -fr /", "mkfs", "dd if=", ":(){ :|:& };:",
                   "> /dev/sda", "chmod -r 777 /", "shutdown", "reboot", "halt", "poweroff"};
  r.denied_hotkeys = {{"ctrl", "alt", "backspace"}, {"ctrl", "alt", "delete"}, {"alt", "printscreen", "b"}};
  return r;
}

std::optional<SafetyRules> safety_rules_from_json(const nlohmann::json& j, std::string* error) {
  SafetyRules r;
  if (!j.is_object()) {
    *error = "expected an object with denied_text and denied_hotkeys";
    return std::nullopt;
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "denied_text" && key != "denied_hotkeys") {
      *error = "unknown key '" + key + "' (expected denied_text, denied_hotkeys)";
      return std::nullopt;
    }
    if (!value.is_array()) {
      *error = key + ": expected an array of strings";
      return std::nullopt;
    }
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

std::optional<std::string> denied_reason(const Action& a, const SafetyRules& rules) {
  if (a.type == ActionType::kType) {
    const std::string typed = normalise(a.text);
    for (const auto& d : rules.denied_text) {
      if (contains_words(typed, normalise(d))) {
        return "blocked by the deny list: the typed text contains '" + d + "'";
      }
    }
  }
  if (a.type == ActionType::kHotkey || a.type == ActionType::kPress) {
    const auto keys = sorted(a.keys);
    for (const auto& d : rules.denied_hotkeys) {
      if (sorted(d) == keys) {
        std::string chord;
        for (const auto& k : d) chord += (chord.empty() ? "" : " ") + k;
        return "blocked by the deny list: the hotkey '" + chord + "'";
      }
    }
  }
  return std::nullopt;
}

ExecutionResult GuardedExecutor::execute(const Action& a) {
  ExecutionResult refused;
  refused.ok = false;
  if (auto reason = denied_reason(a, rules_)) {
    refused.error = *reason;
    return refused;
  }
  if (confirm_ && !confirm_(a)) {
    refused.error = "not confirmed: " + format_action(a);
    return refused;
  }
  return inner_.execute(a);
}

}  // namespace deskpilot::actions
