#include "agent/agent_loop.h"

#include <chrono>
#include <thread>

#include "actions/action_json.h"
#include "base/clock.h"
#include "actions/formatter.h"

namespace deskpilot::agent {
namespace {

using base::ms_since;
using clock_type = base::Clock;

}  // namespace

std::string_view agent_status_name(AgentStatus s) {
  switch (s) {
    case AgentStatus::kFinished: return "finished";
    case AgentStatus::kFailed: return "failed";
    case AgentStatus::kStepLimit: return "step_limit";
    case AgentStatus::kStopped: return "stopped";
  }
  return "failed";
}

int agent_exit_code(AgentStatus s) {
  switch (s) {
    case AgentStatus::kFinished: return 0;
    case AgentStatus::kFailed: return 1;
    case AgentStatus::kStepLimit: return 3;
    case AgentStatus::kStopped: return 130;
  }
  return 1;
}

AgentResult run_agent(const std::string& instruction, policies::Policy& policy, vision::ScreenSource& screen,
                      actions::Executor& executor, TrajectoryWriter* trajectory, const AgentOptions& options) {
  AgentResult result;
  const auto start = clock_type::now();
  policy.reset(instruction);
  bool done = false;
  for (int step = 1; !done; ++step) {
    if (options.stop && options.stop->load()) {
      result.status = AgentStatus::kStopped;
      result.error = "stopped by the user (Ctrl-C)";
      break;
    }
    if (step > options.max_steps) {
      result.status = AgentStatus::kStepLimit;
      result.error = "not finished after " + std::to_string(options.max_steps) + " steps";
      break;
    }
    if (options.timeout_s > 0 && ms_since(start) > options.timeout_s * 1000) {
      result.status = AgentStatus::kFailed;
      result.error = "the run's timeout of " + std::to_string(options.timeout_s) + " s ran out";
      break;
    }
    AgentStep record;
    record.step = step;
    StepRecord line;
    line.time = base::iso8601_now();
    line.source = options.source;
    line.from_policy = true;
    line.instruction = instruction;
    line.policy = policy.name();

    // Observe.
    auto t = clock_type::now();
    policies::Observation observation;
    observation.step = step;
    std::string error;
    const bool captured = screen.grab(&observation.screenshot, &error);
    record.latency.capture_ms = ms_since(t);

    // Think.
    policies::Decision decision;
    if (captured) {
      t = clock_type::now();
      if (!policy.decide(observation, &decision, &error)) {
        decision.ok = false;
        decision.error = policy.name() + ": " + error;
      }
      record.latency.think_ms = ms_since(t);
    } else {
      decision.ok = false;
      decision.error = "cannot capture the screen: " + error;
    }
    record.thought = decision.thought;
    record.actions = decision.actions;
    if (!decision.ok) record.error = decision.error;

    // Act.
    nlohmann::ordered_json& events = line.events;
    bool acted = false;
    for (const actions::Action& a : decision.ok ? decision.actions : std::vector<actions::Action>()) {
      line.actions.push_back(actions::action_to_json(a));
      if (!record.error.empty() || done) break;
      if (a.type == actions::ActionType::kFinished) {
        result.status = AgentStatus::kFinished;
        result.content = a.text;
        done = true;
        continue;
      }
      if (a.type == actions::ActionType::kCallUser) {
        const std::string message = a.text.empty() ? "the agent asks for help" : a.text;
        events.push_back("call_user: " + message);
        if (!options.call_user) {
          record.error = "call_user in an unattended run: " + message;
        } else if (!options.call_user(message)) {
          record.error = "call_user: the person at the terminal ended the run";
        }
        continue;
      }
      t = clock_type::now();
      if (a.type == actions::ActionType::kWait) {
        const double s = std::min(a.seconds > 0 ? a.seconds : actions::kDefaultWaitSeconds, options.max_wait_s);
        events.push_back("wait " + std::to_string(s) + " s");
        std::this_thread::sleep_for(std::chrono::duration<double>(s));
      } else {
        actions::ExecutionResult r = executor.execute(a);
        for (const auto& e : r.events) events.push_back(actions::describe_event(e));
        if (!r.ok) record.error = actions::format_action(a) + ": " + r.error;
        acted = true;
      }
      record.latency.act_ms += ms_since(t);
    }
    if (acted && record.error.empty() && options.settle_after_actions) {
      t = clock_type::now();
      vision::SettleResult sr = vision::wait_for_settle(screen, options.settle);
      record.latency.settle_ms = ms_since(t);
      line.settle = {{"settled", sr.settled}, {"waited_ms", sr.waited_ms}, {"frames", sr.frames}};
    }

    line.thought = decision.thought;
    line.model_text = decision.model_text;
    line.note = decision.note;
    line.attempts = decision.attempts;
    line.prompt_tokens = decision.prompt_tokens;
    line.completion_tokens = decision.completion_tokens;
    line.error = record.error;
    line.latency = record.latency;
    if (trajectory) {
      std::string write_error;
      if (!trajectory->append(options.step_offset + step, observation.screenshot, trajectory_line(line), &write_error) && record.error.empty())
        record.error = "trajectory: " + write_error;
    }
    result.steps.push_back(record);
    if (options.on_step) options.on_step(record);
    if (!record.error.empty()) {
      result.status = AgentStatus::kFailed;
      result.error = "step " + std::to_string(step) + ": " + record.error;
      done = true;
    }
  }
  result.seconds = ms_since(start) / 1000.0;
  return result;
}

}  // namespace deskpilot::agent
