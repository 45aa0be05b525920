// Runs one scenario on its own desktop session: setup, steps (through the libxdo
// executor, each written to the trajectory), checks, teardown. Failures are
// results with a reason, never crashes; teardown and the trajectory happen
// whatever failed.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "actions/safety.h"
#include "policies/policy.h"
#include "scenario/scenario.h"
#include "vision/settle.h"

namespace deskpilot::scenario {

struct PartResult {
  std::string json_path;    // "$.steps[1]"
  std::string description;  // what it did or checked
  bool ok = false;
  std::string error;        // why not
  double seconds = 0;
  int agent_steps = 0;      // agent steps: the steps the policy took
};

struct ScenarioResult {
  std::string name;
  std::string file;
  bool passed = false;
  std::string error;         // the first failure, one line
  std::vector<PartResult> setup, steps, checks, teardown;
  double seconds = 0;
  std::string out_dir;       // DIR: trajectory/, work/, logs
};

struct RunOptions {
  std::string out_dir = "deskpilot-out";  // results go to OUT_DIR/<scenario name>/
  vision::SettleOptions settle;  // after each step's actions (--settle-*)
  // Empty: a private Xvfb of the scenario's size. Else an existing display,
  // which the user must name explicitly (--display).
  std::string display;
  actions::SafetyRules safety = actions::default_safety_rules();
  std::function<bool(const actions::Action&)> confirm;  // --confirm; empty: no questions
  const std::atomic<bool>* stop = nullptr;  // set by Ctrl-C: stop after the current step
  // The policy of agent steps, one per step; empty: the OCR policy.
  std::function<std::unique_ptr<policies::Policy>(std::string* error)> make_policy;
};

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options);

// A file or folder name for a scenario name: letters, digits, '-', '_', '.'.
std::string slug(const std::string& name);

}  // namespace deskpilot::scenario
