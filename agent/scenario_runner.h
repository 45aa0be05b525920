// Runs one scenario on its own private Xvfb: setup, steps (through the libxdo
// executor, each written to the trajectory), checks, teardown. Failures are
// results with a reason, never crashes; teardown and the trajectory happen
// whatever failed.
#pragma once

#include <string>
#include <vector>

#include "agent/scenario.h"

namespace deskpilot::agent {

struct PartResult {
  std::string json_path;    // "$.steps[1]"
  std::string description;  // what it did or checked
  bool ok = false;
  std::string error;        // why not
  double seconds = 0;
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
  int settle_timeout_ms = 3000;
};

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options);

// A file or folder name for a scenario name: letters, digits, '-', '_', '.'.
std::string slug(const std::string& name);

}  // namespace deskpilot::agent
