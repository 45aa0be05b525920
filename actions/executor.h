// Executors carry out actions given in screen pixels. Every executor turns an
// action into the same input events (input_plan.h); they differ only in what
// they do with them: send them to X (libxdo), print them (dry run) or keep
// them (recording, for tests).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/input_plan.h"

namespace deskpilot::actions {

struct ExecutionResult {
  bool ok = true;
  std::string error;               // why the action was refused or failed
  std::vector<InputEvent> events;  // what was (or would have been) sent
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual ExecutionResult execute(const Action& screen_action) = 0;
};

// Prints each action and its input events; sends nothing.
class DryRunExecutor final : public Executor {
 public:
  DryRunExecutor(std::ostream& out, InputPlanOptions options) : out_(out), options_(options) {}
  ExecutionResult execute(const Action& screen_action) override;

 private:
  std::ostream& out_;
  InputPlanOptions options_;
};

// Keeps every event in order, for tests that assert the exact sequence.
class RecordingExecutor final : public Executor {
 public:
  explicit RecordingExecutor(InputPlanOptions options) : options_(options) {}
  ExecutionResult execute(const Action& screen_action) override;
  const std::vector<InputEvent>& events() const { return events_; }

 private:
  InputPlanOptions options_;
  std::vector<InputEvent> events_;
};

}  // namespace deskpilot::actions
