// `deskpilot eval tasks` and `eval merge`: OSWorld-style task files run on
// fresh private displays with real applications (xterm, zenity), in
// parallel, by shards and resumed; task files' errors named; the 25 shipped
// tasks (demos/tasks) load; a tiny UI-TARS model over HTTP runs a task.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "eval/task_eval.h"
#include "scenario/scenario.h"
#include "tests/cli_runner.h"
#include "tests/serve_process.h"
#include "tests/golden_util.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using deskpilot::testing::run_cli;
using nlohmann::json;
using scenario::load_scenario;

const std::string kRoot = std::string(DESKPILOT_TEST_DATA_DIR) + "/..";

std::string temp(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "deskpilot_tasks_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Three of the shipped tasks: two the OCR policy can do, one infeasible.
std::string three_tasks() {
  const std::string dir = temp("three");
  for (const char* id : {"xterm-echo-hello", "zenity-question-yes", "infeasible-print"})
    fs::copy_file(kRoot + "/demos/tasks/" + id + ".json", dir + "/" + id + ".json");
  return dir;
}

std::map<std::string, bool> results(const std::string& dir) {
  std::map<std::string, bool> out;
  std::ifstream in(dir + "/results.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    out[j["id"]] = j["success"];
  }
  return out;
}

TEST(TaskEval, ShippedTasksLoad) {
  std::string error;
  auto tasks = load_tasks(kRoot + "/demos/tasks", &error);
  ASSERT_TRUE(tasks) << error;
  EXPECT_GE(tasks->size(), 25u);
  int infeasible = 0;
  const std::string out = temp("scenarios");
  for (const TaskSpec& t : *tasks) {
    // Each becomes a valid scenario.
    const std::string file = out + "/" + t.id + ".json";
    std::ofstream(file) << t.scenario.dump();
    EXPECT_TRUE(load_scenario(file, &error)) << t.id << ": " << error;
    infeasible += t.infeasible;
    EXPECT_EQ(t.scenario["steps"][0]["agent"]["instruction"], t.instruction);
  }
  EXPECT_GE(infeasible, 3);
}

TEST(TaskEval, BadTaskFilesAreNamed) {
  const auto expect_error = [](const std::string& body, const std::string& want) {
    const std::string dir = temp("bad");
    std::ofstream(dir + "/t.json") << body;
    std::string error;
    EXPECT_FALSE(load_tasks(dir, &error)) << body;
    EXPECT_NE(error.find(want), std::string::npos) << error;
  };
  expect_error(R"({"instruction": "x", "evaluator": {"func": "infeasible"}})", "t.json: $.id: expected a string");
  expect_error(R"({"id": "a", "instruction": "x", "config": [{"type": "reboot"}], "evaluator": {"func": "infeasible"}})",
               "t.json: $.config[0].type: expected launch, execute, open, sleep or activate_window, got 'reboot'");
  expect_error(R"({"id": "a", "instruction": "x", "evaluator": {"func": "file_content", "path": "p"}})",
               "t.json: $.evaluator.expected: expected {\"contains\": TEXT} or {\"matches\": REGEX}");
  expect_error(R"({"id": "a", "instruction": "x", "evaluator": {"func": "vibes"}})",
               "$.evaluator.func: expected command_output, file_content, ocr_text or infeasible, got 'vibes'");
  const std::string dup = temp("dup");
  std::ofstream(dup + "/a.json") << R"({"id": "same", "instruction": "x", "evaluator": {"func": "infeasible"}})";
  std::ofstream(dup + "/b.json") << R"({"id": "same", "instruction": "y", "evaluator": {"func": "infeasible"}})";
  std::string error;
  EXPECT_FALSE(load_tasks(dup, &error));
  EXPECT_NE(error.find("b.json: $.id: 'same' is also the id of"), std::string::npos) << error;
  int i = 0, n = 0;
  EXPECT_TRUE(parse_shard("2/8", &i, &n));
  EXPECT_EQ(i, 2);
  EXPECT_EQ(n, 8);
  for (const char* bad : {"0/2", "3/2", "1/0", "a/b", "1", "1/2x"}) EXPECT_FALSE(parse_shard(bad, &i, &n)) << bad;
}

// The OCR policy on real xterm and zenity, two at once; the infeasible task
// succeeds by giving up. Then the same by two shards, merged; then --resume.
TEST(TaskEval, OcrPolicyInParallelShardsMergeAndResume) {
  const std::string tasks = three_tasks(), out = temp("all");
  auto r = run_cli("eval tasks " + tasks + " -j 2 --quiet --json --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const json s = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(s["all"]["tasks"], 3);
  EXPECT_EQ(s["all"]["succeeded"], 3) << s.dump() << "\n" << deskpilot::testing::read_text(out + "/summary.md");
  EXPECT_EQ(s["infeasible"]["succeeded"], 1);
  EXPECT_GT(s["all"]["mean_steps"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(out + "/tasks/xterm-echo-hello/trajectory/trajectory.jsonl"));
  EXPECT_TRUE(fs::exists(out + "/scenarios/xterm-echo-hello.json"));
  const auto all = results(out);

  const std::string a = temp("shard1"), b = temp("shard2"), merged = temp("merged");
  r = run_cli("eval tasks " + tasks + " --shard 1/2 --quiet --out " + a);
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_cli("eval tasks " + tasks + " --shard 2/2 --quiet --out " + b);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(results(a).size(), 2u);  // tasks 1 and 3
  EXPECT_EQ(results(b).size(), 1u);  // task 2
  r = run_cli("eval merge " + merged + " " + a + " " + b);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(results(merged), all);
  EXPECT_EQ(deskpilot::testing::read_json(merged + "/summary.json")["all"]["succeeded"], 3);
  // Shard 1 beside the whole run: its two tasks are in both.
  r = run_cli("eval compare " + a + " " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("| tasks | 2 | 3 | +1 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| **success rate** | 100.0% | 100.0% | +0.0 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("In both: 2; succeeded only in A: 0, only in B: 0."), std::string::npos) << r.out;

  // Nothing left to do: --resume runs no task and keeps the results.
  r = run_cli("eval tasks " + tasks + " --resume --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("success  "), std::string::npos) << r.out;  // no progress line: nothing ran
  EXPECT_EQ(results(out), all);
  r = run_cli("eval tasks " + tasks + " --shard 3/2");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--shard '3/2'"), std::string::npos) << r.out;
}

// Ctrl-C: the task it cut short is not written down (--resume runs it again).
TEST(TaskEval, CtrlCLeavesNoHalfTask) {
  const std::string tasks = three_tasks(), out = temp("ctrlc");
  const auto r = deskpilot::testing::run_cli_interrupted({"eval", "tasks", tasks, "--out", out}, 2000);
  EXPECT_EQ(r.status, 130) << r.out;
  std::ifstream in(out + "/results.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines)
    EXPECT_EQ(line.find("stopped"), std::string::npos) << line;  // only tasks that ran to their end
  EXPECT_LT(lines, 3);
}

TEST(TaskEval, TinyModelOverHttp) {
  deskpilot::testing::ServeProcess serve(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen25vl-untied");
  ASSERT_GT(serve.port(), 0);
  const std::string tasks = temp("one"), out = temp("http");
  fs::copy_file(kRoot + "/demos/tasks/xterm-echo-hello.json", tasks + "/xterm-echo-hello.json");
  const auto r = run_cli("eval tasks " + tasks + " --quiet --json --max-tokens 24 --endpoint " + serve.url() +
                         " --model-name " + serve.name() + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto res = results(out);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_FALSE(res.at("xterm-echo-hello"));  // a random model does not write hello.txt
  std::ifstream traj(out + "/tasks/xterm-echo-hello/trajectory/trajectory.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(traj, line));
  EXPECT_NE(line.find("\"model_text\""), std::string::npos) << line;
}

}  // namespace
}  // namespace deskpilot::eval
