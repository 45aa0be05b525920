#include "eval/compare.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "eval/files.h"
#include "eval/grounding_eval.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A figure of summary.json: where it is, how it reads.
struct Figure {
  const char* label;
  std::vector<const char*> path;  // keys into summary.json
  enum Format { kPercent, kCount, kDecimal } format;  // kPercent: a ratio shown as %
};

std::vector<Figure> figures(RunKind kind) {
  switch (kind) {
    case RunKind::kSteps:
      return {{"**step success rate**", {"step_success_rate"}, Figure::kPercent},
              {"action type accuracy", {"type_accuracy"}, Figure::kPercent},
              {"grounding accuracy", {"grounding_accuracy"}, Figure::kPercent},
              {"episode success rate", {"episode_success_rate"}, Figure::kPercent},
              {"steps", {"steps"}, Figure::kCount}};
    case RunKind::kTasks:
      return {{"**success rate**", {"all", "success_rate"}, Figure::kPercent},
              {"feasible", {"feasible", "success_rate"}, Figure::kPercent},
              {"infeasible", {"infeasible", "success_rate"}, Figure::kPercent},
              {"tasks", {"all", "tasks"}, Figure::kCount},
              {"mean steps", {"all", "mean_steps"}, Figure::kDecimal},
              {"mean seconds", {"all", "mean_seconds"}, Figure::kDecimal}};
    case RunKind::kMiniwob:
      return {{"**mean task success rate**", {"mean_task_success_rate"}, Figure::kPercent},
              {"episode success rate", {"success_rate"}, Figure::kPercent},
              {"mean reward", {"mean_reward"}, Figure::kDecimal},
              {"episodes", {"episodes"}, Figure::kCount},
              {"mean steps", {"mean_steps"}, Figure::kDecimal},
              {"harness errors", {"harness_errors"}, Figure::kCount}};
    case RunKind::kGrounding:
      break;
  }
  return {};
}

std::optional<double> figure_of(const json& summary, const Figure& f) {
  const json* at = &summary;
  for (const char* key : f.path) {
    if (!at->is_object() || !at->contains(key)) return std::nullopt;
    at = &(*at)[key];
  }
  if (!at->is_number()) return std::nullopt;
  return at->get<double>() * (f.format == Figure::kPercent ? 100.0 : 1.0);
}

// Each item's key and whether it succeeded, from the run's JSON Lines file.
bool read_items(const std::string& dir, RunKind kind, std::map<std::string, bool>* items, std::string* error) {
  const std::string file = (fs::path(dir) / (kind == RunKind::kSteps ? "steps.jsonl" : "results.jsonl")).string();
  return read_jsonl(file, "a result", [&](const json& j) {
    if (!j.is_object() || !j.contains("success") || !j["success"].is_boolean()) return false;
    std::string key;
    if (kind == RunKind::kSteps && j.contains("episode") && j.contains("step"))
      key = j["episode"].get<std::string>() + " step " + std::to_string(j["step"].get<int>());
    else if (kind == RunKind::kTasks && j.contains("id"))
      key = j["id"].get<std::string>();
    else if (kind == RunKind::kMiniwob && j.contains("task") && j.contains("episode"))
      key = j["task"].get<std::string>() + " #" + std::to_string(j["episode"].get<int>());
    else
      return false;
    (*items)[key] = j["success"].get<bool>();
    return true;
  }, error);
}

bool read_summary(const std::string& dir, json* summary, std::string* error) {
  const std::string file = (fs::path(dir) / "summary.json").string();
  std::string text, ignored;
  const bool read = base::read_file(file, &text, &ignored);
  *summary = json::parse(text, nullptr, false);
  if (!read || summary->is_discarded() || !summary->is_object()) {
    *error = file + ": cannot read a summary (did the run finish?)";
    return false;
  }
  return true;
}

const char* format_of(Figure::Format f, bool signed_delta) {
  if (f == Figure::kPercent) return signed_delta ? "%+.1f" : "%.1f%%";
  if (f == Figure::kCount) return signed_delta ? "%+.0f" : "%.0f";
  return signed_delta ? "%+.2f" : "%.2f";
}

std::string number(double v, Figure::Format f, bool signed_delta = false) {
  char text[32];
  std::snprintf(text, sizeof text, format_of(f, signed_delta), v);
  return text;
}

}  // namespace

std::string_view run_kind_name(RunKind kind) {
  switch (kind) {
    case RunKind::kGrounding: return "grounding";
    case RunKind::kSteps: return "steps";
    case RunKind::kTasks: return "tasks";
    case RunKind::kMiniwob: return "miniwob";
  }
  return "?";
}

std::optional<RunKind> run_kind(const std::string& dir, std::string* error) {
  const fs::path d(dir);
  if (!fs::is_directory(d)) {
    *error = dir + ": no such folder";
    return std::nullopt;
  }
  if (fs::exists(d / "samples.jsonl")) return RunKind::kGrounding;
  if (fs::exists(d / "steps.jsonl")) return RunKind::kSteps;
  if (fs::exists(d / "results.jsonl")) {
    const std::string file = (d / "results.jsonl").string();
    if (*error = base::unreadable_file_reason(file); !error->empty()) return std::nullopt;
    std::ifstream in(file);  // its first line says what kind of results
    std::string line;
    std::getline(in, line);
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("episode") && j.contains("task")) return RunKind::kMiniwob;
    if (j.is_object() && j.contains("id")) return RunKind::kTasks;
    *error = (d / "results.jsonl").string() + ": line 1: neither a task result nor a MiniWoB++ episode";
    return std::nullopt;
  }
  *error = dir + ": not a results folder of deskpilot eval (no samples.jsonl, steps.jsonl or results.jsonl)";
  return std::nullopt;
}

bool compare_runs(const std::string& a, const std::string& b, std::string* markdown, std::string* error) {
  const auto ka = run_kind(a, error);
  if (!ka) return false;
  const auto kb = run_kind(b, error);
  if (!kb) return false;
  if (*ka != *kb) {
    *error = "cannot compare a " + std::string(run_kind_name(*ka)) + " run (" + a + ") with a " +
             std::string(run_kind_name(*kb)) + " run (" + b + ")";
    return false;
  }
  if (*ka == RunKind::kGrounding) return compare_grounding(a, b, markdown, error);
  json sa, sb;
  std::map<std::string, bool> ia, ib;
  if (!read_summary(a, &sa, error) || !read_summary(b, &sb, error) || !read_items(a, *ka, &ia, error) ||
      !read_items(b, *kb, &ib, error))
    return false;
  std::ostringstream md;
  md << "| " << run_kind_name(*ka) << " | A: " << a << " | B: " << b << " | B - A |\n| --- | ---: | ---: | ---: |\n";
  for (const Figure& f : figures(*ka)) {
    const auto x = figure_of(sa, f), y = figure_of(sb, f);
    md << "| " << f.label << " | " << (x ? number(*x, f.format) : "-") << " | " << (y ? number(*y, f.format) : "-")
       << " | " << (x && y ? number(*y - *x, f.format, true) : "-") << " |\n";
  }
  std::vector<std::string> only_a, only_b;
  size_t common = 0;
  for (const auto& [key, ok_b] : ib) {
    auto it = ia.find(key);
    if (it == ia.end()) continue;
    ++common;
    if (it->second && !ok_b) only_a.push_back(key);
    if (ok_b && !it->second) only_b.push_back(key);
  }
  md << "\nIn both: " << common << "; succeeded only in A: " << only_a.size() << ", only in B: " << only_b.size()
     << ".\n";
  for (const auto& [label, keys] : {std::pair{"Only in A", &only_a}, std::pair{"Only in B", &only_b}}) {
    if (keys->empty()) continue;
    md << "\n" << label << ":";
    for (size_t i = 0; i < keys->size() && i < 20; ++i) md << " " << (*keys)[i] << (i + 1 < keys->size() ? "," : "");
    if (keys->size() > 20) md << " ... (" << keys->size() - 20 << " more)";
    md << "\n";
  }
  *markdown = md.str();
  return true;
}

}  // namespace deskpilot::eval
