// The observe-think-act loop: capture the screen, ask the policy, carry out
// its actions through the executor, wait for the screen to settle, write the
// step to the trajectory (flushed), repeat until finished(), a failure, the
// step limit or a stop request. Side effects come in through interfaces
// (ScreenSource, Policy, Executor), so tests can drive it without a display.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "actions/executor.h"
#include "agent/trajectory.h"
#include "policies/policy.h"
#include "vision/capture.h"
#include "vision/settle.h"

namespace deskpilot::agent {

enum class AgentStatus { kFinished, kFailed, kStepLimit, kStopped };
std::string_view agent_status_name(AgentStatus s);  // "finished", "failed", "step_limit", "stopped"
// 0 finished, 1 failed, 3 step limit, 130 stopped (2 stays for usage errors).
int agent_exit_code(AgentStatus s);

struct AgentStep {
  int step = 0;
  std::string thought;
  std::vector<actions::Action> actions;  // screen pixels
  std::string error;                     // empty when the step went through
  StepLatency latency;
};

struct AgentResult {
  AgentStatus status = AgentStatus::kFailed;
  std::string error;    // why it failed or stopped
  std::string content;  // finished(content=...)
  std::vector<AgentStep> steps;
  double seconds = 0;
};

struct AgentOptions {
  int max_steps = 15;
  double timeout_s = 0;              // whole run; 0: none
  double max_wait_s = 10;            // wait(): the model's seconds, at most this
  vision::SettleOptions settle;      // after each step's actions
  bool settle_after_actions = true;
  // call_user(): the person at the terminal takes over; return true when they
  // are done and the agent may go on. Empty: an unattended run, which fails.
  std::function<bool(const std::string& message)> call_user;
  // Each step as it ends (the CLI prints the latency split live).
  std::function<void(const AgentStep&)> on_step;
  const std::atomic<bool>* stop = nullptr;  // checked before each step
  std::string source = "agent";              // trajectory "source" field
  int step_offset = 0;                       // trajectory numbering starts after this (scenario steps before)
};

// `trajectory` may be null (no files written).
AgentResult run_agent(const std::string& instruction, policies::Policy& policy, vision::ScreenSource& screen,
                      actions::Executor& executor, TrajectoryWriter* trajectory, const AgentOptions& options);

}  // namespace deskpilot::agent
