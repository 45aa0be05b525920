#include "agent/scenario.h"

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <regex>

#include <nlohmann/json.hpp>

#include "actions/parser.h"

namespace deskpilot::agent {
namespace {

using nlohmann::json;

// Thrown inside the reader, turned into "FILE: PATH: message" at the top.
struct Invalid {
  std::string path;
  std::string message;
};

std::string type_name(const json& j) {
  if (j.is_string()) return "a string";
  if (j.is_number()) return "a number";
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

void only_keys(const json& j, const std::string& path, std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || key == a;
      list += list.empty() ? a : std::string(", ") + a;
    }
    if (!ok) throw Invalid{path, "unknown key '" + key + "' (expected " + list + ")"};
  }
}

const json& need(const json& j, const std::string& path, const char* key) {
  if (!j.contains(key)) throw Invalid{path, std::string("missing '") + key + "'"};
  return j.at(key);
}

std::string string_at(const json& j, const std::string& path) {
  if (!j.is_string()) throw Invalid{path, "expected a string, got " + type_name(j)};
  return j.get<std::string>();
}

double number_at(const json& j, const std::string& path, double min, double max) {
  if (!j.is_number()) throw Invalid{path, "expected a number, got " + type_name(j)};
  const double v = j.get<double>();
  if (v < min || v > max) {
    throw Invalid{path, "expected a number from " + std::to_string(min) + " to " + std::to_string(max)};
  }
  return v;
}

bool bool_at(const json& j, const std::string& path) {
  if (!j.is_boolean()) throw Invalid{path, "expected true or false, got " + type_name(j)};
  return j.get<bool>();
}

const json& array_at(const json& j, const std::string& path) {
  if (!j.is_array()) throw Invalid{path, "expected an array, got " + type_name(j)};
  return j;
}

std::string regex_at(const json& j, const std::string& path) {
  std::string r = string_at(j, path);
  try {
    std::regex test(r);
  } catch (const std::regex_error& e) {
    throw Invalid{path, "invalid regular expression '" + r + "': " + e.what()};
  }
  return r;
}

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || p[0] == '$') return p;
  return (std::filesystem::path(dir) / p).string();
}

Target target_at(const json& j, const std::string& path, const std::string& dir) {
  if (!j.is_object()) {
    throw Invalid{path, "expected a target object {\"x\", \"y\"}, {\"template\"} or {\"text\"}, got " + type_name(j)};
  }
  Target t;
  if (j.contains("text")) {
    only_keys(j, path, {"text"});
    t.text = string_at(j.at("text"), path + ".text");
    if (t.text.find_first_not_of(" \t") == std::string::npos) throw Invalid{path + ".text", "expected some text"};
    return t;
  }
  if (j.contains("template")) {
    only_keys(j, path, {"template", "threshold"});
    t.template_path = resolve(dir, string_at(j.at("template"), path + ".template"));
    if (j.contains("threshold")) t.threshold = number_at(j.at("threshold"), path + ".threshold", 0.0, 1.0);
    return t;
  }
  only_keys(j, path, {"x", "y"});
  const double x = number_at(need(j, path, "x"), path + ".x", 0, 100000);
  const double y = number_at(need(j, path, "y"), path + ".y", 0, 100000);
  t.point = vision::Rect{static_cast<int>(x), static_cast<int>(y), 0, 0};
  return t;
}

SetupStep setup_step_at(const json& j, const std::string& path, bool teardown) {
  if (!j.is_object()) throw Invalid{path, "expected an object, got " + type_name(j)};
  SetupStep s;
  s.json_path = path;
  if (j.contains("run")) {
    only_keys(j, path, {"run", "background", "timeout_s"});
    s.kind = SetupStep::Kind::kRun;
    s.command = string_at(j.at("run"), path + ".run");
    if (j.contains("background")) s.background = bool_at(j.at("background"), path + ".background");
  } else if (teardown) {
    throw Invalid{path, "teardown steps are {\"run\": COMMAND}"};
  } else if (j.contains("wait_window")) {
    only_keys(j, path, {"wait_window", "timeout_s"});
    s.kind = SetupStep::Kind::kWaitWindow;
    s.title_regex = regex_at(j.at("wait_window"), path + ".wait_window");
  } else if (j.contains("activate_window")) {
    only_keys(j, path, {"activate_window", "timeout_s"});
    s.kind = SetupStep::Kind::kActivateWindow;
    s.title_regex = regex_at(j.at("activate_window"), path + ".activate_window");
  } else if (j.contains("wait_text")) {
    only_keys(j, path, {"wait_text", "timeout_s"});
    s.kind = SetupStep::Kind::kWaitText;
    s.text = string_at(j.at("wait_text"), path + ".wait_text");
  } else if (j.contains("sleep")) {
    only_keys(j, path, {"sleep"});
    s.kind = SetupStep::Kind::kSleep;
    s.seconds = number_at(j.at("sleep"), path + ".sleep", 0, 600);
  } else {
    throw Invalid{path, "expected one of run, wait_window, activate_window, wait_text, sleep"};
  }
  if (j.contains("timeout_s")) s.timeout_s = number_at(j.at("timeout_s"), path + ".timeout_s", 0.1, 3600);
  return s;
}

Step step_at(const json& j, const std::string& path, const std::string& dir) {
  Step s;
  s.json_path = path;
  auto check_actions = [&](const std::string& text, const std::string& where) {
    actions::ParseResult r = actions::parse_action_calls(text);
    if (!r.ok()) throw Invalid{where, "cannot parse the action: " + r.error->message()};
  };
  if (j.is_string()) {
    s.actions = j.get<std::string>();
    check_actions(s.actions, path);
    return s;
  }
  if (!j.is_object()) throw Invalid{path, "expected an action string or an object, got " + type_name(j)};
  only_keys(j, path, {"action", "click", "left_double", "right_single", "hover", "agent", "settle", "timeout_s"});
  int kinds = 0;
  if (j.contains("agent")) {
    const std::string p = path + ".agent";
    const json& a = j.at("agent");
    if (!a.is_object()) throw Invalid{p, "expected {\"instruction\": ..., \"max_steps\": N}, got " + type_name(a)};
    only_keys(a, p, {"instruction", "max_steps"});
    s.agent_instruction = string_at(need(a, p, "instruction"), p + ".instruction");
    if (s.agent_instruction.empty()) throw Invalid{p + ".instruction", "expected a non-empty instruction"};
    if (a.contains("max_steps"))
      s.agent_max_steps = static_cast<int>(number_at(a.at("max_steps"), p + ".max_steps", 1, 1000));
    ++kinds;
  }
  if (j.contains("action")) {
    s.actions = string_at(j.at("action"), path + ".action");
    check_actions(s.actions, path + ".action");
    ++kinds;
  }
  for (const char* pointer : {"click", "left_double", "right_single", "hover"}) {
    if (!j.contains(pointer)) continue;
    s.pointer_action = pointer;
    s.target = target_at(j.at(pointer), path + "." + pointer, dir);
    ++kinds;
  }
  if (kinds != 1) throw Invalid{path, "expected exactly one of action, click, left_double, right_single, hover, agent"};
  if (j.contains("settle")) s.settle = bool_at(j.at("settle"), path + ".settle");
  if (j.contains("timeout_s")) s.timeout_s = number_at(j.at("timeout_s"), path + ".timeout_s", 0.1, 3600);
  return s;
}

Check check_at(const json& j, const std::string& path, const std::string& dir) {
  if (!j.is_object()) throw Invalid{path, "expected an object, got " + type_name(j)};
  Check c;
  c.json_path = path;
  auto file_and = [&](const char* key, const char* second, std::string* out, bool is_regex) {
    const std::string p = path + "." + key;
    const json& v = j.at(key);
    if (!v.is_object()) throw Invalid{p, "expected {\"path\": ..., \"" + std::string(second) + "\": ...}"};
    only_keys(v, p, {"path", second});
    c.path = resolve(dir, string_at(need(v, p, "path"), p + ".path"));
    *out = is_regex ? regex_at(need(v, p, second), p + "." + second) : string_at(need(v, p, second), p + "." + second);
  };
  if (j.contains("file_exists")) {
    only_keys(j, path, {"file_exists", "timeout_s"});
    c.kind = Check::Kind::kFileExists;
    c.path = resolve(dir, string_at(j.at("file_exists"), path + ".file_exists"));
  } else if (j.contains("file_contains")) {
    only_keys(j, path, {"file_contains", "timeout_s"});
    c.kind = Check::Kind::kFileContains;
    file_and("file_contains", "text", &c.text, false);
  } else if (j.contains("file_matches")) {
    only_keys(j, path, {"file_matches", "timeout_s"});
    c.kind = Check::Kind::kFileMatches;
    file_and("file_matches", "regex", &c.regex, true);
  } else if (j.contains("command")) {
    only_keys(j, path, {"command", "exit_status", "output_contains", "output_matches", "timeout_s"});
    c.kind = Check::Kind::kCommand;
    c.command = string_at(j.at("command"), path + ".command");
    if (j.contains("exit_status")) c.exit_status = static_cast<int>(number_at(j.at("exit_status"), path + ".exit_status", 0, 255));
    if (j.contains("output_contains")) c.text = string_at(j.at("output_contains"), path + ".output_contains");
    if (j.contains("output_matches")) c.regex = regex_at(j.at("output_matches"), path + ".output_matches");
  } else if (j.contains("window_title")) {
    only_keys(j, path, {"window_title", "timeout_s"});
    c.kind = Check::Kind::kWindowTitle;
    c.regex = regex_at(j.at("window_title"), path + ".window_title");
  } else if (j.contains("template_present") || j.contains("template_absent")) {
    const bool present = j.contains("template_present");
    const char* key = present ? "template_present" : "template_absent";
    only_keys(j, path, {key, "timeout_s"});
    c.kind = present ? Check::Kind::kTemplatePresent : Check::Kind::kTemplateAbsent;
    c.target = target_at(j.at(key), path + "." + key, dir);
    if (c.target.template_path.empty()) throw Invalid{path + "." + key, "expected {\"template\": IMAGE}"};
  } else if (j.contains("text_present") || j.contains("text_absent")) {
    const bool present = j.contains("text_present");
    const char* key = present ? "text_present" : "text_absent";
    only_keys(j, path, {key, "timeout_s"});
    c.kind = present ? Check::Kind::kTextPresent : Check::Kind::kTextAbsent;
    c.target.text = string_at(j.at(key), path + "." + key);
  } else {
    throw Invalid{path, "expected one of file_exists, file_contains, file_matches, command, window_title, "
                        "template_present, template_absent, text_present, text_absent"};
  }
  if (j.contains("timeout_s")) c.timeout_s = number_at(j.at("timeout_s"), path + ".timeout_s", 0, 3600);
  return c;
}

Scenario scenario_at(const json& j, const std::string& file) {
  if (!j.is_object()) throw Invalid{"$", "expected an object, got " + type_name(j)};
  only_keys(j, "$", {"$schema", "name", "description", "screen", "timeout_s", "env", "setup", "steps", "checks", "teardown"});
  Scenario s;
  s.file = file;
  s.directory = std::filesystem::path(file).parent_path().string();
  if (s.directory.empty()) s.directory = ".";
  s.name = j.contains("name") ? string_at(j.at("name"), "$.name") : std::filesystem::path(file).stem().string();
  if (j.contains("description")) s.description = string_at(j.at("description"), "$.description");
  if (j.contains("screen")) {
    const json& sc = j.at("screen");
    if (!sc.is_object()) throw Invalid{"$.screen", "expected {\"width\": W, \"height\": H}"};
    only_keys(sc, "$.screen", {"width", "height"});
    s.screen.width = static_cast<int>(number_at(need(sc, "$.screen", "width"), "$.screen.width", 64, 8192));
    s.screen.height = static_cast<int>(number_at(need(sc, "$.screen", "height"), "$.screen.height", 64, 8192));
  }
  if (j.contains("timeout_s")) s.timeout_s = number_at(j.at("timeout_s"), "$.timeout_s", 1, 86400);
  if (j.contains("env")) {
    const json& env = j.at("env");
    if (!env.is_object()) throw Invalid{"$.env", "expected an object of NAME: value strings"};
    for (const auto& [k, v] : env.items()) s.env.emplace_back(k, string_at(v, "$.env." + k));
  }
  auto each = [&](const char* key, auto&& fn) {
    if (!j.contains(key)) return;
    const std::string base = std::string("$.") + key;
    const json& list = array_at(j.at(key), base);
    for (size_t i = 0; i < list.size(); ++i) fn(list[i], base + "[" + std::to_string(i) + "]");
  };
  each("setup", [&](const json& v, const std::string& p) { s.setup.push_back(setup_step_at(v, p, false)); });
  each("steps", [&](const json& v, const std::string& p) { s.steps.push_back(step_at(v, p, s.directory)); });
  each("checks", [&](const json& v, const std::string& p) { s.checks.push_back(check_at(v, p, s.directory)); });
  each("teardown", [&](const json& v, const std::string& p) { s.teardown.push_back(setup_step_at(v, p, true)); });
  if (s.steps.empty() && s.checks.empty()) throw Invalid{"$", "a scenario needs steps or checks"};
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
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open";
    return std::nullopt;
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    *error = path + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what();
    return std::nullopt;
  } catch (const json::exception& e) {  // e.g. a number out of range: 1E999
    *error = path + ": invalid JSON: " + e.what();
    return std::nullopt;
  }
  try {
    return scenario_at(j, path);
  } catch (const Invalid& e) {
    *error = path + ": " + e.path + ": " + e.message;
    return std::nullopt;
  }
}

}  // namespace deskpilot::agent
