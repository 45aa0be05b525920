#include "policies/scripted_policy.h"

#include <memory>

#include "actions/parser.h"

namespace deskpilot::policies {

std::unique_ptr<ScriptedPolicy> ScriptedPolicy::create(const std::vector<std::string>& steps, std::string* error) {
  std::vector<std::vector<actions::Action>> parsed;
  for (size_t i = 0; i < steps.size(); ++i) {
    const actions::ParseResult r = actions::parse_action_calls(steps[i]);
    if (!r.ok()) {
      *error = "steps[" + std::to_string(i) + "]: " + r.error->message();
      return nullptr;
    }
    parsed.push_back(r.response.actions);
  }
  return std::unique_ptr<ScriptedPolicy>(new ScriptedPolicy(std::move(parsed)));
}

void ScriptedPolicy::reset(const std::string&) { next_ = 0; }

bool ScriptedPolicy::decide(const Observation&, Decision* decision, std::string*) {
  *decision = Decision();
  if (next_ < steps_.size()) {
    decision->thought = "scripted step " + std::to_string(next_ + 1) + " of " + std::to_string(steps_.size());
    decision->actions = steps_[next_++];
    return true;
  }
  decision->thought = "all scripted steps done";
  actions::Action done;
  done.type = actions::ActionType::kFinished;
  decision->actions.push_back(done);
  return true;
}

}  // namespace deskpilot::policies
