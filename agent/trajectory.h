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
