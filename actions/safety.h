// Safety rules checked before an action runs: a deny list of typed text and
// hotkeys (rm -rf /, ctrl alt backspace...), and an optional confirmation
// per action. GuardedExecutor wraps any executor with them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/executor.h"

namespace deskpilot::actions {

struct SafetyRules {
  // Typed text containing any of these as whole words (case-insensitive,
  // runs of white space counted as one space) is refused.
  std::vector<std::string> denied_text;
  // Chords that are refused whatever the key order (canonical key names).
  std::vector<std::vector<std::string>> denied_hotkeys;
};

// The defaults: destructive shell commands and session-killing chords.
SafetyRules default_safety_rules();

// From JSON {"denied_text": [...], "denied_hotkeys": ["ctrl alt backspace", ...]};
// nullopt and *error naming the field.
std::optional<SafetyRules> safety_rules_from_json(const nlohmann::json& j, std::string* error);

// Why `a` is refused, or nullopt.
std::optional<std::string> denied_reason(const Action& a, const SafetyRules& rules);

class GuardedExecutor final : public Executor {
 public:
  // `confirm` (optional) is asked before each action; false refuses it.
  GuardedExecutor(Executor& inner, SafetyRules rules, std::function<bool(const Action&)> confirm = {})
      : inner_(inner), rules_(std::move(rules)), confirm_(std::move(confirm)) {}
  ExecutionResult execute(const Action& screen_action) override;

 private:
  Executor& inner_;
  SafetyRules rules_;
  std::function<bool(const Action&)> confirm_;
};

}  // namespace deskpilot::actions
