// Scenario files: what loads, and that every malformed one names the file,
// the JSON path and what was expected.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "scenario/scenario.h"

using namespace deskpilot::scenario;

namespace {

std::string write_temp(const std::string& body) {
  static int n = 0;
  const std::string path = ::testing::TempDir() + "scenario_" + std::to_string(getpid()) + "_" +
                           std::to_string(n++) + ".json";
  std::ofstream(path) << body;
  return path;
}

std::string load_error(const std::string& body) {
  const std::string path = write_temp(body);
  std::string error;
  auto s = load_scenario(path, &error);
  EXPECT_FALSE(s.has_value()) << body;
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;  // starts with the file name
  return error.substr(path.size() + 2);
}

}  // namespace

TEST(ScenarioLoad, AFullScenario) {
  const std::string path = write_temp(R"J({
    "name": "full", "description": "d", "screen": {"width": 800, "height": 600}, "timeout_s": 30,
    "env": {"A": "1"},
    "setup": [{"run": "true"}, {"run": "xterm", "background": true}, {"wait_window": "^x", "timeout_s": 3},
              {"sleep": 0.5}],
    "steps": ["click(start_box='(1,2)')", {"action": "type(content='hi\\n')", "settle": false},
              {"click": {"x": 10, "y": 20}}, {"hover": {"template": "ok.png", "threshold": 0.8}, "timeout_s": 2}],
    "checks": [{"file_exists": "$WORK/a"}, {"file_contains": {"path": "b.txt", "text": "x"}},
               {"file_matches": {"path": "/tmp/c", "regex": "^a+$"}},
               {"command": "true", "exit_status": 0, "output_contains": "", "timeout_s": 1},
               {"window_title": "x"}, {"template_present": {"template": "t.png"}},
               {"template_absent": {"template": "t.png", "threshold": 0.5}}],
    "teardown": [{"run": "true"}]
  })J");
  std::string error;
  auto s = load_scenario(path, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->name, "full");
  EXPECT_EQ(s->screen.width, 800);
  EXPECT_EQ(s->setup.size(), 4u);
  EXPECT_TRUE(s->setup[1].background);
  EXPECT_EQ(s->setup[2].timeout_s, 3);
  ASSERT_EQ(s->steps.size(), 4u);
  EXPECT_FALSE(s->steps[1].settle);
  EXPECT_EQ(s->steps[2].pointer_action, "click");
  EXPECT_EQ(s->steps[2].target->point->x, 10);
  EXPECT_EQ(s->steps[3].target->threshold, 0.8);
  // Relative paths resolve against the scenario's folder; $VARS stay for later.
  EXPECT_EQ(s->steps[3].target->template_path, s->directory + "/ok.png");
  EXPECT_EQ(s->checks[0].path, "$WORK/a");
  EXPECT_EQ(s->checks[1].path, s->directory + "/b.txt");
  EXPECT_EQ(s->checks.size(), 7u);
  EXPECT_EQ(s->checks[3].timeout_s, 1);
  EXPECT_EQ(s->teardown.size(), 1u);
}

TEST(ScenarioLoad, NameDefaultsToTheFileStem) {
  const std::string path = write_temp(R"J({"checks": [{"file_exists": "/"}]})J");
  std::string error;
  auto s = load_scenario(path, &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->name + ".json", path.substr(path.rfind('/') + 1));
}

TEST(ScenarioLoad, ErrorsNameThePathAndWhatWasExpected) {
  EXPECT_EQ(load_error(R"J({"steps": [1]})J"), "$.steps[0]: expected an action string or an object, got a number");
  EXPECT_EQ(load_error(R"J({"steps": ["click(start_box='(1,2,3)')"]})J"),
            "$.steps[0]: cannot parse the action: position 17: start_box: expected a point (x,y) or a box "
            "(x1,y1,x2,y2), got '(1,2,3)'");
  EXPECT_EQ(load_error(R"J({"steps": [{"click": {"x": 1}}]})J"), "$.steps[0].click: missing 'y'");
  EXPECT_EQ(load_error(R"J({"steps": [{"click": {"x": 1, "y": 2}, "type": "x"}]})J"),
            "$.steps[0]: unknown key 'type' (expected action, click, left_double, right_single, hover, agent, settle, "
            "timeout_s)");
  EXPECT_EQ(load_error(R"J({"steps": [{"settle": true}]})J"),
            "$.steps[0]: expected exactly one of action, click, left_double, right_single, hover, agent");
  EXPECT_EQ(load_error(R"J({"steps": [{"agent": "do it"}]})J"),
            "$.steps[0].agent: expected {\"instruction\": ..., \"max_steps\": N}, got a string");
  EXPECT_EQ(load_error(R"J({"steps": [{"agent": {"instruction": ""}}]})J"),
            "$.steps[0].agent.instruction: expected a non-empty instruction");
  EXPECT_EQ(load_error(R"J({"steps": [{"agent": {"instruction": "x", "max_steps": 0}}]})J"),
            "$.steps[0].agent.max_steps: expected a number from 1.000000 to 1000.000000");
  EXPECT_EQ(load_error(R"J({"steps": [{"agent": {"instruction": "x", "steps": 3}}]})J").rfind(
                "$.steps[0].agent: unknown key 'steps'", 0),
            0u);
  EXPECT_EQ(load_error(R"J({"setup": [{"launch": "x"}], "steps": ["wait()"]})J"),
            "$.setup[0]: expected one of run, wait_window, activate_window, wait_text, sleep");
  EXPECT_EQ(load_error(R"J({"setup": [{"wait_window": "(unclosed"}], "steps": ["wait()"]})J").rfind(
                "$.setup[0].wait_window: invalid regular expression '(unclosed'", 0),
            0u);
  EXPECT_EQ(load_error(R"J({"checks": [{"file_contains": {"path": "a"}}]})J"),
            "$.checks[0].file_contains: missing 'text'");
  EXPECT_EQ(load_error(R"J({"checks": [{"command": "true", "exit_status": 300}]})J"),
            "$.checks[0].exit_status: expected a number from 0.000000 to 255.000000");
  EXPECT_EQ(load_error(R"J({"screen": {"width": 10, "height": 600}, "steps": ["wait()"]})J"),
            "$.screen.width: expected a number from 64.000000 to 8192.000000");
  EXPECT_EQ(load_error(R"J({"teardown": [{"sleep": 1}], "steps": ["wait()"]})J"),
            "$.teardown[0]: teardown steps are {\"run\": COMMAND}");
  EXPECT_EQ(load_error(R"J({"name": "x"})J"), "$: a scenario needs steps or checks");
  EXPECT_EQ(load_error(R"J([1, 2])J"), "$: expected an object, got an array");
  EXPECT_EQ(load_error(R"J({"steps": ["wait()"], "extra": 1})J").rfind("$: unknown key 'extra'", 0), 0u);
  EXPECT_EQ(load_error(R"J({"steps": ["wait()"],)J").rfind("invalid JSON at byte", 0), 0u);
  EXPECT_EQ(load_error(R"J({"timeout_s": 7E7774, "steps": ["wait()"]})J").rfind("invalid JSON", 0), 0u);
}

TEST(ScenarioLoad, MissingFile) {
  std::string error;
  EXPECT_FALSE(load_scenario("/nonexistent/s.json", &error));
  EXPECT_EQ(error, "/nonexistent/s.json: cannot open: no such file");
}
