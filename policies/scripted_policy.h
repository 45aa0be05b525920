// A fixed list of steps: each one UI-TARS text in screen pixels
// ("click(start_box='(10,20)')", several calls allowed), given out one per
// decide(). After the last one the policy says finished(). For scenarios
// and tests of the loop without a model.
#pragma once

#include <string>
#include <vector>

#include "policies/policy.h"

namespace deskpilot::policies {

class ScriptedPolicy final : public Policy {
 public:
  // Every step is parsed here; nullptr and *error ("steps[2]: position 5: ...") on the first bad one.
  static std::unique_ptr<ScriptedPolicy> create(const std::vector<std::string>& steps, std::string* error);

  std::string name() const override { return "scripted"; }
  void reset(const std::string& instruction) override;
  bool decide(const Observation& observation, Decision* decision, std::string* error) override;

 private:
  explicit ScriptedPolicy(std::vector<std::vector<actions::Action>> steps) : steps_(std::move(steps)) {}
  std::vector<std::vector<actions::Action>> steps_;
  size_t next_ = 0;
};

}  // namespace deskpilot::policies
