// Trajectories: one JSON line per step in DIR/trajectory.jsonl and the
// screenshot the step started from in DIR/step_NNN.png, each written and
// flushed before the next step, so that a crash or Ctrl-C loses nothing.
// Line fields: docs/scenarios.md ("Trajectories").
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace deskpilot::agent {

// The time one step took, split by phase.
struct StepLatency {
  double capture_ms = 0, think_ms = 0, act_ms = 0, settle_ms = 0;
};

// One step as a trajectory line records it. Steps decided by a policy
// (agent steps) carry the instruction, the policy, its thought, model text,
// attempts and tokens; scenario steps carry their JSON path instead.
struct StepRecord {
  std::string time;        // when the step started (base::iso8601_now())
  std::string source;      // "agent", "scenario", "agent $.steps[2]", "agent miniwob TASK"
  bool from_policy = false;
  std::string instruction, policy;           // from_policy
  std::string json_path;                     // scenario steps
  std::string thought, model_text, note;     // empty: null (note: left out)
  int attempts = 0;                          // from_policy
  int64_t prompt_tokens = 0, completion_tokens = 0;
  nlohmann::ordered_json actions = nlohmann::ordered_json::array();  // action_to_json each
  nlohmann::ordered_json events = nlohmann::ordered_json::array();   // what the executor did
  std::string error;                         // empty: the step went through
  StepLatency latency;
  nlohmann::ordered_json settle = nullptr;   // {settled, waited_ms, frames} when it waited
};

// The trajectory line (docs/scenarios.md, "A trajectory line"); TrajectoryWriter adds step and screenshot.
nlohmann::ordered_json trajectory_line(const StepRecord& r);

class TrajectoryWriter {
 public:
  // Creates DIR (and parents). nullptr and *error when it cannot.
  static std::unique_ptr<TrajectoryWriter> open(const std::string& dir, std::string* error);
  ~TrajectoryWriter();

  // Saves `screenshot` (if not empty) as step_NNN.png, sets record["step"] and
  // record["screenshot"], appends the line and flushes.
  bool append(int step, const cv::Mat& screenshot, nlohmann::ordered_json record, std::string* error);

  const std::string& dir() const { return dir_; }

 private:
  TrajectoryWriter(std::string dir, FILE* file) : dir_(std::move(dir)), file_(file) {}
  std::string dir_;
  FILE* file_;
};

}  // namespace deskpilot::agent
