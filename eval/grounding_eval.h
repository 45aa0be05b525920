// Running a grounder over a grounding set and scoring it as the official
// scripts do: a sample is correct when the predicted point lies inside the
// target box (edges included), wrong_format when the answer has no point,
// wrong otherwise. Accuracy overall, for text and icon targets, per group
// (ScreenSpot: mobile/desktop/web; ScreenSpot-Pro: Dev, Creative, CAD, ...)
// split by text/icon, and per application (Pro's detailed leaderboard).
//
// A run writes a results folder as it goes:
//   config.json     what ran: data, format, grounder, options, start time
//   samples.jsonl   one line per sample, flushed as each finishes (--resume
//                   reads it back and skips those)
//   summary.json    the metrics; summary.md the table; report.html with
//                   charts and the misses drawn on their screenshots
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/grounder.h"
#include "eval/grounding_data.h"

namespace deskpilot::eval {

struct GroundingResult {
  std::string id;
  std::string correctness;  // "correct", "wrong", "wrong_format"
  std::optional<actions::Point> point;
  std::string raw;
  double ms = 0;
  int width = 0, height = 0;  // of the image
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // the target box in pixels
  std::string image, instruction, ui_type, group, application;
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

nlohmann::json to_json(const GroundingResult& r);
std::optional<GroundingResult> grounding_result_from_json(const nlohmann::json& j);

// correct / wrong / wrong_format for a point and a box (pixels).
std::string grade(const std::optional<actions::Point>& point, double x1, double y1, double x2, double y2);

struct Accuracy {
  int64_t correct = 0, total = 0, wrong_format = 0;
  double value() const { return total > 0 ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  void add(const GroundingResult& r);
};

struct GroundingSummary {
  Accuracy overall, text, icon;
  std::map<std::string, Accuracy> group_text, group_icon, group_all;  // by group
  std::map<std::string, Accuracy> application;                          // by application
};

GroundingSummary summarize(const std::vector<GroundingResult>& results);
nlohmann::json to_json(const GroundingSummary& s);
// The table as the papers print it: a row per group, text / icon / all.
std::string summary_markdown(const GroundingSummary& s, const std::string& title);

struct GroundingRunOptions {
  std::string out_dir;          // the results folder (created)
  int64_t limit = 0;            // first N samples only (0: all)
  bool resume = false;          // keep what samples.jsonl already holds
  nlohmann::json config;        // written to config.json as given (the caller's options)
  std::function<void(const GroundingResult&, size_t done, size_t total)> on_result;  // progress
};

// Runs, writes the folder, returns the results (in set order). false and
// *error when the grounder cannot work, an image cannot be read (named), or
// the folder cannot be written; what finished is in samples.jsonl.
bool run_grounding(const GroundingSet& set, Grounder& grounder, const GroundingRunOptions& options,
                   std::vector<GroundingResult>* results, std::string* error);

// The results of a folder (samples.jsonl); error names the file and line.
bool read_grounding_results(const std::string& dir, std::vector<GroundingResult>* results, std::string* error);

// `deskpilot eval compare`: two results folders side by side (Markdown):
// overall, text, icon and each group with the difference, then the samples
// one got right and the other wrong.
bool compare_grounding(const std::string& a, const std::string& b, std::string* markdown, std::string* error);

}  // namespace deskpilot::eval
