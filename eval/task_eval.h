// Live task suites in an OSWorld-style JSON format, each task run by the
// agent on a fresh private display (through the scenario runner):
//
//   {"id": "xterm-make-notes", "instruction": "...",
//    "screen": [1024, 768], "max_steps": 15, "timeout_s": 120,
//    "config": [                                   set-up, in order
//      {"type": "launch", "parameters": {"command": ["xterm"]}},      an application (kept running)
//      {"type": "execute", "parameters": {"command": "mkdir d", "shell": true}}  a command (must exit 0)
//      {"type": "open", "parameters": {"path": "$WORK/a.txt"}},       a file in its application
//      {"type": "sleep", "parameters": {"seconds": 1}},
//      {"type": "activate_window", "parameters": {"window_name": "REGEX"}}],
//    "evaluator": {"func": "command_output", "command": "...", "expected": {"contains" | "matches": "..."}}
//               | {"func": "file_content", "path": "...", "expected": {"contains" | "matches": "..."}}
//               | {"func": "ocr_text", "expected": {"contains": "..."}}          on the final screen
//               | {"func": "infeasible"}}
//
// Commands run in the task's $WORK folder; $TASK_DIR is the task file's. A task succeeds when its
// evaluator passes; an infeasible task succeeds when the agent gives up
// (fails or asks for the user) rather than claiming success or running out
// of steps. Results: OUT/results.jsonl (one line per task, flushed as each
// ends; --resume skips the tasks it holds; a task cut short by Ctrl-C is not
// written, so it runs again), OUT/summary.json and summary.md,
// OUT/tasks/<id>/ (the trajectory, logs, the scenario the task became).
// --shard i/N runs every N-th task from the i-th (a Slurm array or a
// Kubernetes indexed job); `eval merge` joins the shards' folders.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/policy.h"

namespace deskpilot::eval {

struct TaskSpec {
  std::string id, instruction, file;
  bool infeasible = false;
  nlohmann::json scenario;  // the scenario file this task becomes
};

// One task file; nullopt and *error naming the file and field.
std::optional<TaskSpec> load_task(const std::string& path, std::string* error);
// Every .json of DIR (name order) or the one FILE; ids must be unique.
std::optional<std::vector<TaskSpec>> load_tasks(const std::string& path, std::string* error);

struct TaskRunOptions {
  std::string out_dir = "eval-tasks";
  int jobs = 1;
  int shard_index = 1, shard_count = 1;  // --shard i/N, 1-based
  bool resume = false;
  std::function<std::unique_ptr<policies::Policy>(std::string* error)> make_policy;
  nlohmann::json config;
  const std::atomic<bool>* stop = nullptr;
  bool quiet = false;
};

struct TaskOutcome {
  std::string id;
  bool success = false;
  std::string status;  // passed, failed
  std::string detail;  // the first failure
  int steps = 0;       // the agent's
  double seconds = 0;
  bool infeasible = false;
};
nlohmann::json to_json(const TaskOutcome& o);

// "i/N" -> index, count; false for anything else.
bool parse_shard(const std::string& text, int* index, int* count);

// Runs this shard's tasks; writes the folder. false and *error when the
// folder cannot be written; a task that fails is an outcome, not an error.
bool run_tasks(const std::vector<TaskSpec>& tasks, const TaskRunOptions& options, std::vector<TaskOutcome>* outcomes,
               std::string* error);

// Success rate, mean steps and time, per feasible/infeasible.
nlohmann::json summarize_tasks(const std::vector<TaskOutcome>& outcomes);
std::string tasks_markdown(const std::vector<TaskOutcome>& outcomes);

// `eval merge OUT A B ...`: the shards' results.jsonl into OUT (one line per
// task id, the last seen wins), with a new summary.
bool merge_task_results(const std::string& out_dir, const std::vector<std::string>& dirs, std::string* error);

}  // namespace deskpilot::eval
