// `deskpilot eval compare A B`: two results folders of the same kind side by
// side, as Markdown. The kind is read from the folder: samples.jsonl
// (grounding), steps.jsonl (step scoring), results.jsonl of tasks (an "id"
// per line) or of MiniWoB++ episodes (a "task" and an "episode"). Grounding
// has its own table (compare_grounding); the others show their summary's
// figures with B - A, then the items that succeeded in one run only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deskpilot::eval {

enum class RunKind { kGrounding, kSteps, kTasks, kMiniwob };
std::string_view run_kind_name(RunKind kind);  // "grounding", "steps", "tasks", "miniwob"

// nullopt and *error naming the folder when it holds no results deskpilot wrote.
std::optional<RunKind> run_kind(const std::string& dir, std::string* error);

bool compare_runs(const std::string& a, const std::string& b, std::string* markdown, std::string* error);

}  // namespace deskpilot::eval
