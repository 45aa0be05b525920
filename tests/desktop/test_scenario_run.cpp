// Scenarios end to end on their own Xvfb displays with real xterm: a pass, a
// failure that keeps its trajectory, and the JUnit XML.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "scenario/junit.h"
#include "scenario/runner.h"

using namespace deskpilot::scenario;

namespace {

std::string out_dir() { return ::testing::TempDir() + "deskpilot_scenarios_" + std::to_string(getpid()); }

std::vector<nlohmann::json> trajectory(const std::string& dir) {
  std::ifstream in(dir + "/trajectory/trajectory.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(nlohmann::json::parse(l));
  return lines;
}

// Writes `body` as a scenario file in a fresh folder, runs it there.
ScenarioResult run_temp(const std::string& tag, const std::string& body) {
  const std::string dir = out_dir() + "_" + tag;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + tag + ".json") << body;
  std::string error;
  auto s = load_scenario(dir + "/" + tag + ".json", &error);
  if (!s) {
    ADD_FAILURE() << error;
    return {};
  }
  RunOptions o;
  o.out_dir = dir + "/out";
  return run_scenario(*s, o);
}

}  // namespace

TEST(ScenarioRun, XtermDemoPasses) {
  std::string error;
  auto s = load_scenario(std::string(DESKPILOT_SOURCE_DIR) + "/demos/scenarios/xterm_writes_a_file.json", &error);
  ASSERT_TRUE(s) << error;
  RunOptions o;
  o.out_dir = out_dir();
  ScenarioResult r = run_scenario(*s, o);
  EXPECT_TRUE(r.passed) << r.error;
  EXPECT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.checks.size(), 5u);
  auto lines = trajectory(r.out_dir);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["step"], 2);
  EXPECT_EQ(lines[1]["result"], "ok");
  EXPECT_EQ(lines[1]["actions"][0]["type"], "type");
  EXPECT_EQ(lines[1]["actions"][0]["submit"], true);
  EXPECT_TRUE(lines[1]["latency_ms"].contains("settle"));
  EXPECT_TRUE(std::filesystem::exists(r.out_dir + "/trajectory/" + lines[1]["screenshot"].get<std::string>()));
  EXPECT_TRUE(std::filesystem::exists(r.out_dir + "/trajectory/final.png"));
  std::filesystem::remove_all(o.out_dir);
}

TEST(ScenarioRun, FailuresHaveReasonsAndKeepTheTrajectory) {
  const std::string dir = out_dir() + "_fail";
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/failing.json";
  std::ofstream(file) << R"J({
    "name": "failing",
    "screen": {"width": 640, "height": 480},
    "steps": ["click(start_box='(10,10)')", "click(start_box='(700,10)')", "wait()"],
    "checks": [{"file_exists": "$WORK/never.txt"}]
  })J";
  std::string error;
  auto s = load_scenario(file, &error);
  ASSERT_TRUE(s) << error;
  RunOptions o;
  o.out_dir = dir + "/out";
  ScenarioResult r = run_scenario(*s, o);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.error.find("$.steps[1]"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("outside the 640x480 screen"), std::string::npos) << r.error;
  ASSERT_EQ(r.steps.size(), 2u);  // stopped at the failing step
  auto lines = trajectory(r.out_dir);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["result"], "error");

  const std::string xml = junit_xml({r}, {{"bad.json", "bad.json: $: expected an object"}});
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"$.steps[1]: click(start_box=&apos;(700,10)&apos;)"), std::string::npos)
      << xml;
  std::filesystem::remove_all(dir);
}

TEST(ScenarioRun, AMissingApplicationIsNamed) {
  ScenarioResult r = run_temp("missing", R"J({
    "screen": {"width": 640, "height": 480},
    "setup": [{"run": "no-such-editor --open x", "background": true},
              {"wait_window": "editor", "timeout_s": 1}],
    "steps": ["wait()"]
  })J");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.error.find("the background command 'no-such-editor --open x' exited with status 127 (command not found)"),
            std::string::npos)
      << r.error;
}

TEST(ScenarioRun, AWindowThatNeverAppearsFailsSetupWithItsTitle) {
  ScenarioResult r = run_temp("window", R"J({
    "screen": {"width": 640, "height": 480},
    "setup": [{"wait_window": "^no such window$", "timeout_s": 0.5}],
    "steps": ["wait()"],
    "teardown": [{"run": "touch \"$WORK/teardown_ran\""}]
  })J");
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.error.find("$.setup[0]: wait for a window titled /^no such window$/: no window matched"),
            std::string::npos)
      << r.error;
  EXPECT_TRUE(r.steps.empty());
  EXPECT_TRUE(std::filesystem::exists(r.out_dir + "/work/teardown_ran"));  // teardown still ran
}

// Commands get a TMPDIR of their own, outside the results folder; what the
// applications leave there (a background one still running) goes with it.
TEST(ScenarioRun, ApplicationsTemporaryFilesAreRemovedAtTheEnd) {
  ScenarioResult r = run_temp("tmpdir", R"J({
    "screen": {"width": 640, "height": 480},
    "setup": [{"run": "echo \"$TMPDIR\" > \"$WORK/tmpdir.txt\" && mkdir \"$TMPDIR/app.XYZ\" && sleep 60",
               "background": true}],
    "steps": ["wait()"],
    "checks": [{"file_exists": "$TMPDIR/app.XYZ"}]
  })J");
  EXPECT_TRUE(r.passed) << r.error;
  std::ifstream in(r.out_dir + "/work/tmpdir.txt");
  std::string tmpdir;
  ASSERT_TRUE(std::getline(in, tmpdir));
  EXPECT_NE(tmpdir.find("deskpilot-scenario-"), std::string::npos) << tmpdir;
  EXPECT_EQ(tmpdir.find(r.out_dir), std::string::npos) << tmpdir;
  EXPECT_FALSE(std::filesystem::exists(tmpdir)) << tmpdir;
}
