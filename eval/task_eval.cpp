#include "eval/task_eval.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "base/files.h"
#include "base/json_reader.h"
#include "base/text.h"
#include "eval/browser.h"
#include "eval/files.h"
#include "scenario/scenario.h"
#include "scenario/runner.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using base::JsonNode;
using scenario::load_scenario;
using scenario::PartResult;
using scenario::RunOptions;
using scenario::Scenario;
using scenario::ScenarioResult;
using scenario::slug;

// A command given as a string (for the shell) or a list of arguments.
std::string command_at(const JsonNode& j) {
  if (j.json().is_string()) return j.string();
  if (j.json().is_array() && !j.json().empty()) {
    std::string cmd;
    for (const json& a : j.json()) {
      if (!a.is_string()) j.fail("expected strings");
      // Arguments that name $WORK stay expandable: double quotes for those.
      const std::string s = a.get<std::string>();
      cmd += (cmd.empty() ? "" : " ") + (s.find('$') != std::string::npos ? "\"" + s + "\"" : base::shell_quote(s));
    }
    return cmd;
  }
  j.fail("expected a command string or a list of arguments");
}

// A string field; absent, null or another type: "expected a string".
std::string text_at(const JsonNode& j, const char* key) {
  const JsonNode v = j[key];
  if (!v.json().is_string()) v.fail("expected a string");
  return v.string();
}

// evaluator.expected: {"contains": T} or {"matches": REGEX}.
std::pair<std::string, std::string> expected_at(const JsonNode& e) {
  const JsonNode x = e["expected"];
  if (!x.json().is_object()) x.fail("expected {\"contains\": TEXT} or {\"matches\": REGEX}");
  if (x.contains("contains")) return {"contains", text_at(x, "contains")};
  if (x.contains("matches")) return {"matches", text_at(x, "matches")};
  x.fail("expected {\"contains\": TEXT} or {\"matches\": REGEX}");
}

json convert(const JsonNode& t, TaskSpec* spec) {
  if (!t.json().is_object()) t.fail("expected a task object");
  spec->id = text_at(t, "id");
  spec->instruction = text_at(t, "instruction");
  int width = 1024, height = 768;
  if (t.contains("screen")) {
    const json& sc = t.json()["screen"];
    if (!sc.is_array() || sc.size() != 2 || !sc[0].is_number_integer() || !sc[1].is_number_integer())
      t["screen"].fail("expected [width, height]");
    width = sc[0].get<int>();
    height = sc[1].get<int>();
  }
  json s = {{"name", spec->id},
            {"description", spec->instruction},
            {"screen", {{"width", width}, {"height", height}}},
            {"env", {{"TASK_DIR", fs::absolute(fs::path(spec->file).parent_path()).string()}}}};
  if (t.contains("timeout_s")) s["timeout_s"] = t.json()["timeout_s"];
  json setup = json::array();
  const JsonNode config = t["config"];
  if (!config.json().is_null() && !config.json().is_array()) config.fail("expected a list");
  for (size_t i = 0; config.json().is_array() && i < config.size(); ++i) {
    const JsonNode step = config[i];
    const std::string type = text_at(step, "type");
    const JsonNode p = step["parameters"];  // null when absent: its fields are then missing
    if (type == "launch") {
      setup.push_back({{"run", command_at(p.need("command"))}, {"background", true}});
    } else if (type == "execute") {
      setup.push_back({{"run", command_at(p.need("command"))}});
    } else if (type == "open") {
      const std::string path = text_at(p, "path");
      const std::string ext = fs::path(path).extension().string();
      const std::string app = ext == ".html" || ext == ".htm"
                                  ? chromium_command("chromium", width, height, "\"$TMPDIR/profile\"") +
                                        " --app=\"file://" + path + "\""
                                  : "mousepad \"" + path + "\"";
      setup.push_back({{"run", app}, {"background", true}});
    } else if (type == "sleep") {
      if (!p["seconds"].json().is_number()) p["seconds"].fail("expected a number");
      setup.push_back({{"sleep", p["seconds"].json()}});
    } else if (type == "activate_window") {
      setup.push_back({{"activate_window", text_at(p, "window_name")}, {"timeout_s", 30}});
    } else {
      step["type"].fail("expected launch, execute, open, sleep or activate_window, got '" + type + "'");
    }
  }
  s["setup"] = setup;
  json agent = {{"instruction", spec->instruction}};
  if (t.contains("max_steps")) agent["max_steps"] = t.json()["max_steps"];
  s["steps"] = json::array({{{"agent", agent}}});
  const JsonNode e = t["evaluator"];
  if (!e.json().is_object()) e.fail("expected an object");
  const std::string func = text_at(e, "func");
  json checks = json::array();
  if (func == "command_output") {
    const auto [how, value] = expected_at(e);
    checks.push_back({{"command", text_at(e, "command")},
                      {how == "contains" ? "output_contains" : "output_matches", value},
                      {"timeout_s", 5}});
  } else if (func == "file_content") {
    const auto [how, value] = expected_at(e);
    const std::string path = text_at(e, "path");
    if (how == "contains") checks.push_back({{"file_contains", {{"path", path}, {"text", value}}}, {"timeout_s", 5}});
    else checks.push_back({{"file_matches", {{"path", path}, {"regex", value}}}, {"timeout_s", 5}});
  } else if (func == "ocr_text") {
    const auto [how, value] = expected_at(e);
    if (how != "contains") e["expected"].fail("ocr_text takes {\"contains\": TEXT}");
    checks.push_back({{"text_present", value}, {"timeout_s", 5}});
  } else if (func == "infeasible") {
    spec->infeasible = true;
  } else {
    e["func"].fail("expected command_output, file_content, ocr_text or infeasible, got '" + func + "'");
  }
  s["checks"] = checks;
  return s;
}

std::mutex g_write;  // results.jsonl and progress lines

}  // namespace

std::optional<TaskSpec> load_task(const std::string& path, std::string* error) {
  std::string text;
  if (!base::read_file(path, &text, error)) return std::nullopt;
  TaskSpec spec;
  spec.file = path;
  auto scenario = base::read_json_document(text, path, "$", error, [&](const JsonNode& root) { return convert(root, &spec); });
  if (!scenario) return std::nullopt;
  spec.scenario = std::move(*scenario);
  return spec;
}

std::optional<std::vector<TaskSpec>> load_tasks(const std::string& path, std::string* error) {
  const std::vector<fs::path> files = input_files(path, {".json"});
  if (files.empty()) {
    *error = path + ": no task files (.json)";
    return std::nullopt;
  }
  std::vector<TaskSpec> tasks;
  std::map<std::string, std::string> ids;
  for (const fs::path& f : files) {
    auto t = load_task(f.string(), error);
    if (!t) return std::nullopt;
    if (ids.count(t->id)) {
      *error = f.string() + ": $.id: '" + t->id + "' is also the id of " + ids[t->id];
      return std::nullopt;
    }
    ids[t->id] = f.string();
    tasks.push_back(std::move(*t));
  }
  return tasks;
}

json to_json(const TaskOutcome& o) {
  return {{"id", o.id},           {"success", o.success}, {"status", o.status},       {"detail", o.detail},
          {"steps", o.steps},     {"seconds", o.seconds}, {"infeasible", o.infeasible}};
}

namespace {

std::optional<TaskOutcome> outcome_from_json(const json& j) {
  try {
    TaskOutcome o;
    o.id = j.at("id").get<std::string>();
    o.success = j.at("success").get<bool>();
    o.status = j.value("status", "");
    o.detail = j.value("detail", "");
    o.steps = j.value("steps", 0);
    o.seconds = j.value("seconds", 0.0);
    o.infeasible = j.value("infeasible", false);
    return o;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

bool read_outcomes(const std::string& dir, std::vector<TaskOutcome>* out, std::string* error) {
  return read_jsonl((fs::path(dir) / "results.jsonl").string(), "a task result",
                    [&](const json& j) {
                      auto o = outcome_from_json(j);
                      if (o) out->push_back(std::move(*o));
                      return o.has_value();
                    },
                    error);
}

bool write_summary(const std::string& dir, const std::vector<TaskOutcome>& outcomes, std::string* error) {
  std::ofstream(fs::path(dir) / "summary.json") << summarize_tasks(outcomes).dump(2) << "\n";
  std::ofstream md(fs::path(dir) / "summary.md");
  md << tasks_markdown(outcomes);
  if (!md) {
    *error = dir + "/summary.md: cannot write";
    return false;
  }
  return true;
}

}  // namespace

bool parse_shard(const std::string& text, int* index, int* count) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) return false;
  try {
    size_t a = 0, b = 0;
    *index = std::stoi(text.substr(0, slash), &a);
    *count = std::stoi(text.substr(slash + 1), &b);
    return a == slash && b == text.size() - slash - 1 && *count >= 1 && *index >= 1 && *index <= *count;
  } catch (const std::exception&) {
    return false;
  }
}

json summarize_tasks(const std::vector<TaskOutcome>& outcomes) {
  const auto part = [&](int which) {  // 0 all, 1 feasible, 2 infeasible
    int64_t n = 0, ok = 0, steps = 0;
    double seconds = 0;
    for (const TaskOutcome& o : outcomes) {
      if ((which == 1 && o.infeasible) || (which == 2 && !o.infeasible)) continue;
      ++n;
      ok += o.success;
      steps += o.steps;
      seconds += o.seconds;
    }
    return json{{"tasks", n},
                {"succeeded", ok},
                {"success_rate", n ? static_cast<double>(ok) / n : 0.0},
                {"mean_steps", n ? static_cast<double>(steps) / n : 0.0},
                {"mean_seconds", n ? seconds / n : 0.0}};
  };
  return {{"all", part(0)}, {"feasible", part(1)}, {"infeasible", part(2)}};
}

std::string tasks_markdown(const std::vector<TaskOutcome>& outcomes) {
  const json s = summarize_tasks(outcomes);
  std::ostringstream md;
  char line[256];
  md << "| tasks | succeeded | success rate | mean steps | mean seconds |\n| --- | ---: | ---: | ---: | ---: |\n";
  for (const char* k : {"all", "feasible", "infeasible"}) {
    const json& p = s[k];
    std::snprintf(line, sizeof line, "| %s | %lld / %lld | %.1f%% | %.1f | %.1f |\n", k,
                  static_cast<long long>(p["succeeded"].get<int64_t>()), static_cast<long long>(p["tasks"].get<int64_t>()),
                  100 * p["success_rate"].get<double>(), p["mean_steps"].get<double>(), p["mean_seconds"].get<double>());
    md << line;
  }
  md << "\n| task | result | steps | seconds | detail |\n| --- | --- | ---: | ---: | --- |\n";
  for (const TaskOutcome& o : outcomes) {
    std::snprintf(line, sizeof line, " | %d | %.1f | ", o.steps, o.seconds);
    md << "| " << o.id << (o.infeasible ? " (infeasible)" : "") << " | " << (o.success ? "success" : "failure") << line
       << o.detail.substr(0, 160) << " |\n";
  }
  return md.str();
}

bool run_tasks(const std::vector<TaskSpec>& tasks, const TaskRunOptions& options, std::vector<TaskOutcome>* outcomes,
               std::string* error) {
  std::error_code ec;
  const fs::path out(options.out_dir);
  fs::create_directories(out / "scenarios", ec);
  if (!fs::is_directory(out / "scenarios")) {
    *error = options.out_dir + ": cannot create the results folder";
    return false;
  }
  std::set<std::string> done;
  outcomes->clear();
  if (options.resume && fs::exists(out / "results.jsonl")) {
    std::vector<TaskOutcome> before;
    if (!read_outcomes(options.out_dir, &before, error)) return false;
    for (TaskOutcome& o : before) {
      done.insert(o.id);
      outcomes->push_back(std::move(o));
    }
  }
  json config = options.config;
  config["shard"] = std::to_string(options.shard_index) + "/" + std::to_string(options.shard_count);
  config["jobs"] = options.jobs;
  config["tasks"] = tasks.size();
  std::ofstream(out / "config.json") << config.dump(2) << "\n";
  std::ofstream results(out / "results.jsonl", options.resume ? std::ios::app : std::ios::trunc);
  if (!results) {
    *error = (out / "results.jsonl").string() + ": cannot write";
    return false;
  }
  // This shard's tasks, not yet done, each turned into a scenario file.
  std::vector<std::pair<const TaskSpec*, Scenario>> todo;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (static_cast<int>(i % options.shard_count) != options.shard_index - 1 || done.count(tasks[i].id)) continue;
    const std::string file = (out / "scenarios" / (slug(tasks[i].id) + ".json")).string();
    std::ofstream(file) << tasks[i].scenario.dump(2) << "\n";
    auto s = load_scenario(file, error);
    if (!s) {
      *error = tasks[i].file + " (as " + file + "): " + *error;
      return false;
    }
    todo.emplace_back(&tasks[i], std::move(*s));
  }
  RunOptions ro;
  ro.out_dir = (out / "tasks").string();
  ro.stop = options.stop;
  ro.make_policy = options.make_policy;
  std::atomic<size_t> next{0};
  const size_t total = todo.size();
  auto worker = [&] {
    for (size_t i = next++; i < total; i = next++) {
      const TaskSpec& t = *todo[i].first;
      const ScenarioResult r = run_scenario(todo[i].second, ro);
      // A task cut short by Ctrl-C is not a result: --resume runs it again.
      if (options.stop && options.stop->load()) return;
      TaskOutcome o;
      o.id = t.id;
      o.infeasible = t.infeasible;
      o.seconds = r.seconds;
      for (const PartResult& p : r.steps) o.steps += p.agent_steps;
      const bool setup_ok = std::all_of(r.setup.begin(), r.setup.end(), [](const PartResult& p) { return p.ok; });
      if (t.infeasible) {
        // Giving up is right: the agent failed or asked for the user, after a good set-up.
        const bool gave_up = setup_ok && !r.steps.empty() && !r.steps[0].ok && r.steps[0].error.rfind("failed", 0) == 0;
        o.success = gave_up;
        o.detail = gave_up ? "gave up: " + r.steps[0].error
                           : (r.steps.empty() || r.steps[0].ok ? "claimed success on an infeasible task" : r.error);
      } else {
        o.success = r.passed;
        o.detail = r.error;
      }
      o.status = o.success ? "success" : "failure";
      std::lock_guard<std::mutex> lock(g_write);
      results << to_json(o).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      results.flush();
      if (!options.quiet)
        std::fprintf(stderr, "%-8s %s (%d steps, %.1f s)%s%s\n", o.success ? "success" : "failure", o.id.c_str(),
                     o.steps, o.seconds, o.detail.empty() ? "" : ": ", o.detail.substr(0, 200).c_str());
      outcomes->push_back(std::move(o));
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < std::max(1, options.jobs); ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();
  // In task order, whatever order they finished in.
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < tasks.size(); ++i) order[tasks[i].id] = i;
  std::sort(outcomes->begin(), outcomes->end(),
            [&](const TaskOutcome& a, const TaskOutcome& b) { return order[a.id] < order[b.id]; });
  return write_summary(options.out_dir, *outcomes, error);
}

bool merge_task_results(const std::string& out_dir, const std::vector<std::string>& dirs, std::string* error) {
  std::vector<TaskOutcome> all;
  for (const std::string& d : dirs)
    if (!read_outcomes(d, &all, error)) return false;
  std::map<std::string, TaskOutcome> by_id;  // the last seen wins
  for (TaskOutcome& o : all) by_id[o.id] = std::move(o);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  std::ofstream results(fs::path(out_dir) / "results.jsonl");
  std::vector<TaskOutcome> merged;
  for (auto& [id, o] : by_id) {
    results << to_json(o).dump() << "\n";
    merged.push_back(o);
  }
  if (!results) {
    *error = out_dir + "/results.jsonl: cannot write";
    return false;
  }
  std::ofstream(fs::path(out_dir) / "config.json") << json{{"merged", dirs}}.dump(2) << "\n";
  return write_summary(out_dir, merged, error);
}

}  // namespace deskpilot::eval
