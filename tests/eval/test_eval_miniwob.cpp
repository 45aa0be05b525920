// `deskpilot eval miniwob`: MiniWoB++'s protocol (the START cover, the
// episode timer, the seed, "reward: X (raw: Y)" on the console) spoken by our
// own pages in demos/miniwob, run in real Chromium on private Xvfb displays
// with real input; the OCR policy end to end, the page's time-out, a page
// that is not MiniWoB's, bad command lines, and a tiny UI-TARS model over HTTP.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "eval/miniwob_eval.h"
#include "tests/cli_runner.h"
#include "tests/serve_process.h"
#include "tests/golden_util.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using deskpilot::testing::run_cli;
using nlohmann::json;

const std::string kRoot = std::string(DESKPILOT_TEST_DATA_DIR) + "/..";
const std::string kPages = kRoot + "/demos/miniwob";

std::string temp(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "deskpilot_miniwob_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// results.jsonl by "task#episode".
std::map<std::string, json> episodes(const std::string& dir) {
  std::map<std::string, json> out;
  std::ifstream in(dir + "/results.jsonl");
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    out[j["task"].get<std::string>() + "#" + std::to_string(j["episode"].get<int>())] = j;
  }
  return out;
}

TEST(MiniwobEval, RewardLinesAsChromiumLogsThem) {
  double reward = 0, raw = 0;
  EXPECT_TRUE(parse_reward_line(
      "[17491:17491:1201/111515.671434:INFO:CONSOLE:88] \"reward: 0.8734 (raw: 1)\", source: file:///x/core.js (88)",
      &reward, &raw));
  EXPECT_DOUBLE_EQ(reward, 0.8734);
  EXPECT_DOUBLE_EQ(raw, 1.0);
  EXPECT_TRUE(parse_reward_line("\"reward: -1 (raw: -1)\"", &reward, &raw));
  EXPECT_DOUBLE_EQ(reward, -1.0);
  EXPECT_FALSE(parse_reward_line("\"reward: 1\"", &reward, &raw));
  EXPECT_FALSE(parse_reward_line("\"Last reward: -\"", &reward, &raw));
  EXPECT_FALSE(parse_reward_line("reward: 1 (raw: 1", &reward, &raw));
}

TEST(MiniwobEval, ThePageGetsItsScriptBeforeTheEndOfItsBody) {
  const std::string page = "<html><body><div id=wrap></div></BODY></html>";
  const std::string out = instrument_page(page, 45, 7);
  const size_t script = out.find("<script>"), body = out.find("</BODY>");
  ASSERT_NE(script, std::string::npos);
  EXPECT_LT(script, body);
  EXPECT_NE(out.find("MAX_TIME = 45000, SEED = 7;"), std::string::npos) << out;
  EXPECT_NE(out.find("core.EPISODE_MAX_TIME = MAX_TIME"), std::string::npos);
  EXPECT_NE(out.find("Math.seedrandom(SEED)"), std::string::npos);
  EXPECT_EQ(out.substr(0, 31), page.substr(0, 31));
  // No body tag: at the end.
  EXPECT_EQ(instrument_page("<p>x</p>", 10, 0).find("<p>x</p>\n<script>"), 0u);
}

TEST(MiniwobEval, TasksAreListedAndBadRootsNamed) {
  std::string error;
  auto tasks = list_miniwob_tasks(kPages, {}, &error);
  ASSERT_TRUE(tasks) << error;
  ASSERT_EQ(tasks->size(), 3u);
  EXPECT_EQ((*tasks)[0].name, "click-circle");
  EXPECT_EQ((*tasks)[1].name, "click-word");
  tasks = list_miniwob_tasks(kPages, {"type-word"}, &error);
  ASSERT_TRUE(tasks) << error;
  EXPECT_EQ(tasks->size(), 1u);
  EXPECT_FALSE(list_miniwob_tasks(kPages, {"click-nothing"}, &error));
  EXPECT_NE(error.find("no task 'click-nothing'"), std::string::npos) << error;
  EXPECT_FALSE(list_miniwob_tasks(kPages + "/miniwob", {}, &error));
  EXPECT_NE(error.find("expected MiniWoB++'s html folder"), std::string::npos) << error;
  EXPECT_FALSE(list_miniwob_tasks(kPages + "/nowhere", {}, &error));
  EXPECT_NE(error.find("no such folder"), std::string::npos) << error;

  auto r = run_cli("eval miniwob --root " + kPages + " --tasks click-nothing");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("no task 'click-nothing'"), std::string::npos) << r.out;
  r = run_cli("eval miniwob --root " + kPages + " --screen 10x10");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--screen '10x10'"), std::string::npos) << r.out;
}

// The OCR policy in real Chromium: it clicks the named button and types the
// named word; the page rewards both (time-scaled below the raw 1). Two
// episodes each, two at once; the same seeds give the same problems again.
TEST(MiniwobEval, OcrPolicyEndToEnd) {
  const std::string out = temp("ocr");
  auto r = run_cli("eval miniwob --root " + kPages + " --tasks click-word,type-word --episodes 2 --seed 5 --zoom 2 -j 2" +
                   " --quiet --json --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const json s = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(s["episodes"], 4);
  EXPECT_EQ(s["tasks"], 2);
  EXPECT_EQ(s["harness_errors"], 0);
  const auto eps = episodes(out);
  ASSERT_EQ(eps.size(), 4u);
  for (const auto& [key, e] : eps) {
    EXPECT_TRUE(e["success"].get<bool>()) << key << ": " << e.dump();
    EXPECT_TRUE(e["done"].get<bool>()) << key;
    EXPECT_EQ(e["raw_reward"], 1.0) << key;
    EXPECT_GT(e["reward"].get<double>(), 0.5) << key;  // time-scaled over 60 s: a few seconds cost little
    EXPECT_LT(e["reward"].get<double>(), 1.0) << key;
    EXPECT_GE(e["steps"].get<int>(), 1) << key;
    EXPECT_TRUE(fs::exists(out + "/episodes/" + e["task"].get<std::string>() + "/" +
                           std::to_string(e["episode"].get<int>()) + "/trajectory/trajectory.jsonl"))
        << key;
  }
  EXPECT_EQ(eps.at("click-word#0")["seed"], 5);
  EXPECT_EQ(eps.at("type-word#1")["seed"], 6);
  EXPECT_NE(eps.at("click-word#0")["utterance"].get<std::string>().find("Click on the \""), std::string::npos);
  EXPECT_NE(eps.at("type-word#0")["utterance"].get<std::string>().find("into the Name field"), std::string::npos);
  EXPECT_NE(eps.at("type-word#0")["reason"].get<std::string>().find("typed"), std::string::npos);
  EXPECT_EQ(s["mean_task_success_rate"], 1.0);
  EXPECT_TRUE(fs::exists(out + "/summary.md"));
  EXPECT_EQ(deskpilot::testing::read_json(out + "/config.json")["seed"], 5);
  // An episode keeps its trajectory and the browser's log; the page's mirror,
  // the browser's profile and its temporary files are removed.
  std::set<std::string> kept;
  for (const auto& entry : fs::directory_iterator(out + "/episodes/click-word/0"))
    kept.insert(entry.path().filename().string());
  EXPECT_EQ(kept, (std::set<std::string>{"chromium.log", "trajectory"}));

  // Seeds make problems repeatable: a second run of the type-word episodes
  // asks for the same words. --resume keeps what a folder holds.
  const std::string again = temp("again");
  r = run_cli("eval miniwob --root " + kPages + " --tasks type-word --episodes 2 --seed 5 --zoom 2 -j 2 --quiet --out " +
              again);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto eps2 = episodes(again);
  EXPECT_EQ(eps2.at("type-word#0")["utterance"], eps.at("type-word#0")["utterance"]);
  EXPECT_EQ(eps2.at("type-word#1")["utterance"], eps.at("type-word#1")["utterance"]);
  r = run_cli("eval miniwob --root " + kPages + " --tasks type-word --episodes 2 --seed 5 --resume --out " + again);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("success  "), std::string::npos) << r.out;  // nothing ran
  EXPECT_EQ(episodes(again).size(), 2u);

  // Compared: B holds the same two type-word episodes, one of them marked failed.
  const std::string worse = temp("worse");
  fs::copy_file(again + "/summary.json", worse + "/summary.json");
  std::ofstream lines(worse + "/results.jsonl");
  for (auto [key, e] : episodes(again)) {
    if (key == "type-word#0") e["success"] = false;
    lines << e.dump() << "\n";
  }
  lines.close();
  r = run_cli("eval compare " + out + " " + worse);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("| **mean task success rate** | 100.0% |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| episodes | 4 | 2 | -2 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("In both: 2; succeeded only in A: 1, only in B: 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Only in A: type-word #0"), std::string::npos) << r.out;
  r = run_cli("eval compare " + out + " " + kPages);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find(kPages + ": not a results folder of deskpilot eval"), std::string::npos) << r.out;
}

// No words to read: the OCR policy keeps looking (the query's own "circle"
// does not count) until the page's raised timer of 2 s ends the episode at -1.
// A page without MiniWoB's core is a harness error that names it.
TEST(MiniwobEval, TimeOutAndPagesThatAreNotMiniwob) {
  const std::string out = temp("timeout");
  auto r = run_cli("eval miniwob --root " + kPages + " --tasks click-circle --episode-time 2 --zoom 2 --quiet --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  json e = episodes(out).at("click-circle#0");
  EXPECT_TRUE(e["done"].get<bool>()) << e.dump();
  EXPECT_EQ(e["reward"], -1.0);
  EXPECT_EQ(e["reason"], "timed out");
  EXPECT_FALSE(e["success"].get<bool>());
  EXPECT_EQ(e["agent_status"], "stopped");  // stopped by the page's end, before its next step

  const std::string root = temp("plain");
  fs::create_directories(root + "/core");
  fs::create_directories(root + "/miniwob");
  std::ofstream(root + "/miniwob/plain.html") << "<html><body><p>Just a page</p></body></html>";
  const std::string out2 = temp("plain-out");
  r = run_cli("eval miniwob --root " + root + " --quiet --out " + out2);
  ASSERT_EQ(r.status, 0) << r.out;
  e = episodes(out2).at("plain#0");
  EXPECT_FALSE(e["success"].get<bool>());
  EXPECT_NE(e["error"].get<std::string>().find("plain.html: not a MiniWoB++ page"), std::string::npos) << e.dump();
  EXPECT_EQ(deskpilot::testing::read_json(out2 + "/summary.json")["harness_errors"], 1);
}

// Ctrl-C stops the agent before its next step; the episode it cut short is
// not written down, so --resume runs it again.
TEST(MiniwobEval, CtrlCLeavesNoHalfEpisode) {
  const std::string out = temp("ctrlc");
  const auto r = deskpilot::testing::run_cli_interrupted(
      {"eval", "miniwob", "--root", kPages, "--tasks", "click-circle", "--episodes", "3", "--zoom", "2", "--out", out},
      2500);
  EXPECT_EQ(r.status, 130) << r.out;
  EXPECT_LT(r.seconds, 10.0);  // not three episodes of looking for a circle
  EXPECT_TRUE(episodes(out).empty());
  EXPECT_EQ(deskpilot::testing::read_json(out + "/summary.json")["episodes"], 0);
}

// A tiny random UI-TARS model over HTTP plays an episode: its answers are
// whatever they are, but the episode runs, ends and is written down.
TEST(MiniwobEval, TinyModelOverHttp) {
  deskpilot::testing::ServeProcess serve(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen25vl-untied");
  ASSERT_GT(serve.port(), 0);
  const std::string out = temp("http");
  const auto r = run_cli("eval miniwob --root " + kPages + " --tasks click-word --max-steps 2 --max-tokens 24" +
                         " --quiet --json --endpoint " + serve.url() + " --model-name " + serve.name() + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const json e = episodes(out).at("click-word#0");
  EXPECT_EQ(e["error"], "") << e.dump();
  EXPECT_NE(e["utterance"].get<std::string>().find("Click on the"), std::string::npos);
  EXPECT_GE(e["steps"].get<int>(), 1);
  std::ifstream traj(out + "/episodes/click-word/0/trajectory/trajectory.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(traj, line));
  EXPECT_NE(line.find("\"model_text\":\""), std::string::npos) << line;
}

}  // namespace
}  // namespace deskpilot::eval
