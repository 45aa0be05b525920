#include "scenario/scenario.h"

#include <filesystem>
#include <regex>

#include "actions/parser.h"
#include "base/files.h"
#include "base/json_reader.h"

namespace deskpilot::scenario {
namespace {

using base::json_kind;
using base::JsonNode;

std::string regex_at(const JsonNode& j) {
  std::string r = j.string();
  try {
    std::regex test(r);
  } catch (const std::regex_error& e) {
    j.fail("invalid regular expression '" + r + "': " + e.what());
  }
  return r;
}

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || p[0] == '$') return p;
  return (std::filesystem::path(dir) / p).string();
}

Target target_at(const JsonNode& j, const std::string& dir) {
  if (!j.json().is_object()) {
    j.fail("expected a target object {\"x\", \"y\"}, {\"template\"} or {\"text\"}, got " + json_kind(j.json()));
  }
  Target t;
  if (j.contains("text")) {
    j.only_keys({"text"});
    t.text = j["text"].string();
    if (t.text.find_first_not_of(" \t") == std::string::npos) j["text"].fail("expected some text");
    return t;
  }
  if (j.contains("template")) {
    j.only_keys({"template", "threshold"});
    t.template_path = resolve(dir, j["template"].string());
    if (j.contains("threshold")) t.threshold = j["threshold"].number_in(0.0, 1.0);
    return t;
  }
  j.only_keys({"x", "y"});
  const double x = j.need("x").number_in(0, 100000);
  const double y = j.need("y").number_in(0, 100000);
  t.point = vision::Rect{static_cast<int>(x), static_cast<int>(y), 0, 0};
  return t;
}

SetupStep setup_step_at(const JsonNode& j, bool teardown) {
  j.object();
  SetupStep s;
  s.json_path = j.path();
  if (j.contains("run")) {
    j.only_keys({"run", "background", "timeout_s"});
    s.kind = SetupStep::Kind::kRun;
    s.command = j["run"].string();
    if (j.contains("background")) s.background = j["background"].boolean();
  } else if (teardown) {
    j.fail("teardown steps are {\"run\": COMMAND}");
  } else if (j.contains("wait_window")) {
    j.only_keys({"wait_window", "timeout_s"});
    s.kind = SetupStep::Kind::kWaitWindow;
    s.title_regex = regex_at(j["wait_window"]);
  } else if (j.contains("activate_window")) {
    j.only_keys({"activate_window", "timeout_s"});
    s.kind = SetupStep::Kind::kActivateWindow;
    s.title_regex = regex_at(j["activate_window"]);
  } else if (j.contains("wait_text")) {
    j.only_keys({"wait_text", "timeout_s"});
    s.kind = SetupStep::Kind::kWaitText;
    s.text = j["wait_text"].string();
  } else if (j.contains("sleep")) {
    j.only_keys({"sleep"});
    s.kind = SetupStep::Kind::kSleep;
    s.seconds = j["sleep"].number_in(0, 600);
  } else {
    j.fail("expected one of run, wait_window, activate_window, wait_text, sleep");
  }
  if (j.contains("timeout_s")) s.timeout_s = j["timeout_s"].number_in(0.1, 3600);
  return s;
}

Step step_at(const JsonNode& j, const std::string& dir) {
  Step s;
  s.json_path = j.path();
  auto check_actions = [&](const JsonNode& at) {
    actions::ParseResult r = actions::parse_action_calls(s.actions);
    if (!r.ok()) at.fail("cannot parse the action: " + r.error->message());
  };
  if (j.json().is_string()) {
    s.actions = j.string();
    check_actions(j);
    return s;
  }
  if (!j.json().is_object()) j.fail("expected an action string or an object, got " + json_kind(j.json()));
  j.only_keys({"action", "click", "left_double", "right_single", "hover", "agent", "settle", "timeout_s"});
  int kinds = 0;
  if (j.contains("agent")) {
    const JsonNode a = j["agent"];
    if (!a.json().is_object()) a.fail("expected {\"instruction\": ..., \"max_steps\": N}, got " + json_kind(a.json()));
    a.only_keys({"instruction", "max_steps"});
    s.agent_instruction = a.need("instruction").string();
    if (s.agent_instruction.empty()) a["instruction"].fail("expected a non-empty instruction");
    if (a.contains("max_steps")) s.agent_max_steps = static_cast<int>(a["max_steps"].number_in(1, 1000));
    ++kinds;
  }
  if (j.contains("action")) {
    s.actions = j["action"].string();
    check_actions(j["action"]);
    ++kinds;
  }
  for (const char* pointer : {"click", "left_double", "right_single", "hover"}) {
    if (!j.contains(pointer)) continue;
    s.pointer_action = pointer;
    s.target = target_at(j[pointer], dir);
    ++kinds;
  }
  if (kinds != 1) j.fail("expected exactly one of action, click, left_double, right_single, hover, agent");
  if (j.contains("settle")) s.settle = j["settle"].boolean();
  if (j.contains("timeout_s")) s.timeout_s = j["timeout_s"].number_in(0.1, 3600);
  return s;
}

Check check_at(const JsonNode& j, const std::string& dir) {
  j.object();
  Check c;
  c.json_path = j.path();
  auto file_and = [&](const char* key, const char* second, std::string* out, bool is_regex) {
    const JsonNode v = j[key];
    if (!v.json().is_object()) v.fail("expected {\"path\": ..., \"" + std::string(second) + "\": ...}");
    v.only_keys({"path", second});
    c.path = resolve(dir, v.need("path").string());
    *out = is_regex ? regex_at(v.need(second)) : v.need(second).string();
  };
  if (j.contains("file_exists")) {
    j.only_keys({"file_exists", "timeout_s"});
    c.kind = Check::Kind::kFileExists;
    c.path = resolve(dir, j["file_exists"].string());
  } else if (j.contains("file_contains")) {
    j.only_keys({"file_contains", "timeout_s"});
    c.kind = Check::Kind::kFileContains;
    file_and("file_contains", "text", &c.text, false);
  } else if (j.contains("file_matches")) {
    j.only_keys({"file_matches", "timeout_s"});
    c.kind = Check::Kind::kFileMatches;
    file_and("file_matches", "regex", &c.regex, true);
  } else if (j.contains("command")) {
    j.only_keys({"command", "exit_status", "output_contains", "output_matches", "timeout_s"});
    c.kind = Check::Kind::kCommand;
    c.command = j["command"].string();
    if (j.contains("exit_status")) c.exit_status = static_cast<int>(j["exit_status"].number_in(0, 255));
    if (j.contains("output_contains")) c.text = j["output_contains"].string();
    if (j.contains("output_matches")) c.regex = regex_at(j["output_matches"]);
  } else if (j.contains("window_title")) {
    j.only_keys({"window_title", "timeout_s"});
    c.kind = Check::Kind::kWindowTitle;
    c.regex = regex_at(j["window_title"]);
  } else if (j.contains("template_present") || j.contains("template_absent")) {
    const bool present = j.contains("template_present");
    const char* key = present ? "template_present" : "template_absent";
    j.only_keys({key, "timeout_s"});
    c.kind = present ? Check::Kind::kTemplatePresent : Check::Kind::kTemplateAbsent;
    c.target = target_at(j[key], dir);
    if (c.target.template_path.empty()) j[key].fail("expected {\"template\": IMAGE}");
  } else if (j.contains("text_present") || j.contains("text_absent")) {
    const bool present = j.contains("text_present");
    const char* key = present ? "text_present" : "text_absent";
    j.only_keys({key, "timeout_s"});
    c.kind = present ? Check::Kind::kTextPresent : Check::Kind::kTextAbsent;
    c.target.text = j[key].string();
  } else {
    j.fail("expected one of file_exists, file_contains, file_matches, command, window_title, "
           "template_present, template_absent, text_present, text_absent");
  }
  if (j.contains("timeout_s")) c.timeout_s = j["timeout_s"].number_in(0, 3600);
  return c;
}

Scenario scenario_at(const JsonNode& j, const std::string& file) {
  j.object().only_keys({"$schema", "name", "description", "screen", "timeout_s", "env", "setup", "steps", "checks",
                        "teardown"});
  Scenario s;
  s.file = file;
  s.directory = std::filesystem::path(file).parent_path().string();
  if (s.directory.empty()) s.directory = ".";
  s.name = j.contains("name") ? j["name"].string() : std::filesystem::path(file).stem().string();
  if (j.contains("description")) s.description = j["description"].string();
  if (j.contains("screen")) {
    const JsonNode sc = j["screen"];
    if (!sc.json().is_object()) sc.fail("expected {\"width\": W, \"height\": H}");
    sc.only_keys({"width", "height"});
    s.screen.width = static_cast<int>(sc.need("width").number_in(64, 8192));
    s.screen.height = static_cast<int>(sc.need("height").number_in(64, 8192));
  }
  if (j.contains("timeout_s")) s.timeout_s = j["timeout_s"].number_in(1, 86400);
  if (j.contains("env")) {
    const JsonNode env = j["env"];
    if (!env.json().is_object()) env.fail("expected an object of NAME: value strings");
    for (const auto& [k, v] : env.json().items()) s.env.emplace_back(k, env[k.c_str()].string());
  }
  auto each = [&](const char* key, auto&& fn) {
    if (!j.contains(key)) return;
    const JsonNode list = j[key];
    list.array();
    for (size_t i = 0; i < list.size(); ++i) fn(list[i]);
  };
  each("setup", [&](const JsonNode& v) { s.setup.push_back(setup_step_at(v, false)); });
  each("steps", [&](const JsonNode& v) { s.steps.push_back(step_at(v, s.directory)); });
  each("checks", [&](const JsonNode& v) { s.checks.push_back(check_at(v, s.directory)); });
  each("teardown", [&](const JsonNode& v) { s.teardown.push_back(setup_step_at(v, true)); });
  if (s.steps.empty() && s.checks.empty()) j.fail("a scenario needs steps or checks");
  return s;
}

}  // namespace

std::string Target::describe() const {
  if (point) return "(" + std::to_string(point->x) + ", " + std::to_string(point->y) + ")";
  if (!text.empty()) return "the text '" + text + "'";
  return template_path;
}

std::string Check::describe() const {
  switch (kind) {
    case Kind::kFileExists: return "file_exists " + path;
    case Kind::kFileContains: return "file_contains " + path + " '" + text + "'";
    case Kind::kFileMatches: return "file_matches " + path + " /" + regex + "/";
    case Kind::kCommand: return "command '" + command + "'";
    case Kind::kWindowTitle: return "window_title /" + regex + "/";
    case Kind::kTemplatePresent: return "template_present " + target.template_path;
    case Kind::kTemplateAbsent: return "template_absent " + target.template_path;
    case Kind::kTextPresent: return "text_present '" + target.text + "'";
    case Kind::kTextAbsent: return "text_absent '" + target.text + "'";
  }
  return "?";
}

std::optional<Scenario> load_scenario(const std::string& path, std::string* error) {
  std::string text;
  if (!base::read_file(path, &text, error)) return std::nullopt;
  return base::read_json_document(text, path, "$", error,
                                  [&](const JsonNode& root) { return scenario_at(root, path); });
}

}  // namespace deskpilot::scenario
