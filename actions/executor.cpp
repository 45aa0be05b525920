#include "actions/executor.h"

#include <cmath>

#include "actions/formatter.h"

namespace deskpilot::actions {
namespace {

ExecutionResult run_plan(const Action& a, const InputPlanOptions& options) {
  InputPlan plan = plan_input(a, options);
  ExecutionResult result;
  result.ok = plan.ok();
  result.error = std::move(plan.error);
  result.events = std::move(plan.events);
  return result;
}

// Screen coordinates to 1/100 px, for reading.
Action for_display(Action a) {
  auto round2 = [](Point p) { return Point{std::round(p.x * 100) / 100, std::round(p.y * 100) / 100}; };
  if (a.start) a.start = round2(*a.start);
  if (a.end) a.end = round2(*a.end);
  return a;
}

}  // namespace

ExecutionResult DryRunExecutor::execute(const Action& a) {
  ExecutionResult result = run_plan(a, options_);
  out_ << format_action(for_display(a)) << "\n";
  if (!result.ok) {
    out_ << "  refused: " << result.error << "\n";
    return result;
  }
  if (a.type == ActionType::kFinished) out_ << "  task finished\n";
  if (a.type == ActionType::kCallUser) out_ << "  hand over to the user\n";
  for (const auto& e : result.events) out_ << "  " << describe_event(e) << "\n";
  return result;
}

ExecutionResult RecordingExecutor::execute(const Action& a) {
  ExecutionResult result = run_plan(a, options_);
  if (result.ok) events_.insert(events_.end(), result.events.begin(), result.events.end());
  return result;
}

}  // namespace deskpilot::actions
