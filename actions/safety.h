// Safety rules checked before an action runs, and the guard that applies
// them to any executor.
//
// The deny list sees what is really typed, not one action's literal text:
// per target window, the text typed since its last Enter is kept across
// actions (backspace, ctrl+u, ctrl+w and ctrl+c edit it as a terminal
// would) and checked, after shell-style normalisation (shell_check.h),
// whenever more is typed and when Enter is about to be pressed; keys held
// down by press() are tracked across steps, so a chord assembled from
// presses is checked like a hotkey, and extra keys do not hide a denied
// chord. An optional confirmation is asked per action.
//
// A seatbelt, not a sandbox (docs/safety.md): the private display is the
// real boundary.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/executor.h"

namespace deskpilot::actions {

struct SafetyRules {
  // Phrases refused in a typed line, as whole words after the same
  // normalisation as the line (case, quotes, backslashes, $IFS, look-alikes).
  std::vector<std::string> denied_text;
  // Chords refused whatever the key order, and with any other keys held too
  // (canonical key names; left and right modifiers alike).
  std::vector<std::vector<std::string>> denied_hotkeys;
  // The built-in checks of shell_check.h (recursive rm of /, mkfs, dd to a
  // disk, shutdown, fork bombs, decoded text piped to a shell, ...).
  bool shell_commands = true;
};

// The defaults: the built-in shell checks, a few phrases, session-killing chords.
SafetyRules default_safety_rules();

// From JSON {"denied_text": [...], "denied_hotkeys": ["ctrl alt backspace", ...],
// "shell_commands": true}: the lists given replace the defaults' lists, a
// list left out keeps the default one. nullopt and *error naming the field.
std::optional<SafetyRules> safety_rules_from_json(const nlohmann::json& j, std::string* error);

// Why one action would be refused on its own (no typing before it, no keys
// held), or nullopt.
std::optional<std::string> denied_reason(const Action& a, const SafetyRules& rules);

// What the guard remembers between actions: the line being typed in each
// window and the keys held down.
class SafetyMonitor {
 public:
  explicit SafetyMonitor(SafetyRules rules);

  // Why `a`, sent to `window`, is refused given what came before; nullopt
  // when it may run. Changes nothing.
  std::optional<std::string> check(const Action& a, uint64_t window) const;
  // `a` ran in `window`: the line and the held keys follow it.
  void record(const Action& a, uint64_t window);

  const std::string& line(uint64_t window) const;  // typed since the last Enter
  const std::set<std::string>& held() const { return held_; }

 private:
  std::optional<std::string> check_line(const std::string& line) const;
  std::optional<std::string> check_chord(const std::set<std::string>& keys) const;
  std::set<std::string> chord_of(const Action& a) const;  // the held keys and a's

  SafetyRules rules_;
  std::vector<std::string> phrases_;       // rules_.denied_text, normalised once
  std::map<uint64_t, std::string> lines_;  // by window
  std::set<std::string> held_;             // canonical names, right-hand modifiers folded to left
};

class GuardedExecutor final : public Executor {
 public:
  // `confirm` (optional) is asked before each action; false refuses it.
  // `focused_window` (optional) names the window that keystrokes go to, so
  // that each window's line is kept apart; without it all share one.
  GuardedExecutor(Executor& inner, SafetyRules rules, std::function<bool(const Action&)> confirm = {},
                  std::function<uint64_t()> focused_window = {})
      : inner_(inner), monitor_(std::move(rules)), confirm_(std::move(confirm)),
        focused_window_(std::move(focused_window)) {}
  ExecutionResult execute(const Action& screen_action) override;
  const SafetyMonitor& monitor() const { return monitor_; }

 private:
  Executor& inner_;
  SafetyMonitor monitor_;
  std::function<bool(const Action&)> confirm_;
  std::function<uint64_t()> focused_window_;
};

}  // namespace deskpilot::actions
