// `deskpilot eval steps`: recorded episodes in AndroidControl's and
// GUI-Odyssey's formats, scored step by step (action type, grounding, step
// and episode success) with the OCR policy, a tiny UI-TARS model over HTTP,
// and the scoring rules on their own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/step_eval.h"
#include "tests/cli_runner.h"
#include "tests/serve_process.h"
#include "tests/golden_util.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using deskpilot::testing::run_cli;
using nlohmann::json;

const std::string kEpisodes = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/episodes/";

std::string temp(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "deskpilot_steps_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(StepEval, ReadsBothFormats) {
  std::string error;
  auto ac = load_episodes(kEpisodes + "androidcontrol", StepFormat::kAndroidControl, "", &error);
  ASSERT_TRUE(ac) << error;
  ASSERT_EQ(ac->size(), 3u);
  EXPECT_EQ((*ac)[0].goal, "Click Cancel, then click OK");
  ASSERT_EQ((*ac)[0].steps.size(), 3u);
  EXPECT_EQ((*ac)[0].steps[0].truth.type, "click");
  EXPECT_EQ((*ac)[0].steps[0].truth.point->x, 521);
  ASSERT_TRUE((*ac)[0].steps[0].box);
  EXPECT_EQ((*ac)[0].steps[2].truth.type, "finished");
  EXPECT_FALSE((*ac)[0].steps[2].box);
  EXPECT_EQ((*ac)[1].steps[1].truth.text, "hello");
  EXPECT_TRUE(fs::exists((*ac)[0].steps[0].image));

  auto go = load_episodes(kEpisodes + "gui-odyssey/zenity.json", StepFormat::kGuiOdyssey, "", &error);
  ASSERT_TRUE(go) << error;
  ASSERT_EQ(go->size(), 1u);
  const Episode& e = (*go)[0];
  EXPECT_EQ(e.id, "cancel-scroll-type");
  ASSERT_EQ(e.steps.size(), 4u);
  EXPECT_NEAR(e.steps[0].truth.point->x, 509 / 1000.0 * 1024, 1e-9);  // 0..1000 -> pixels
  EXPECT_EQ(e.steps[1].truth.direction, "down");                       // a swipe up scrolls down
  EXPECT_EQ(e.steps[2].truth.type, "type");
  EXPECT_EQ(e.steps[3].truth.type, "finished");
}

TEST(StepEval, BadEpisodesAreNamed) {
  const auto expect_error = [](const std::string& body, StepFormat f, const std::string& want) {
    const std::string dir = temp("bad");
    std::ofstream(dir + "/e.json") << body;
    std::string error;
    EXPECT_FALSE(load_episodes(dir, f, "", &error)) << body;
    EXPECT_NE(error.find(want), std::string::npos) << error;
  };
  expect_error(R"({"goal": "x", "screenshots": ["a.png"], "actions": [{"action_type": "fly"}]})",
               StepFormat::kAndroidControl, "e.json: episode 0: actions[0]: action_type 'fly' is not an AndroidControl action");
  expect_error(R"({"goal": "x", "screenshots": ["a.png"], "actions": [{"action_type": "click", "x": 3}]})",
               StepFormat::kAndroidControl, "actions[0]: click needs numbers x and y");
  expect_error(R"({"goal": "x", "screenshots": [], "actions": [{"action_type": "wait"}]})",
               StepFormat::kAndroidControl, "1 actions but 0 screenshots");
  expect_error(R"({"screenshots": ["a.png"], "actions": [{"action_type": "wait"}]})", StepFormat::kAndroidControl,
               "no goal");
  expect_error(R"({"task_info": {"instruction": "x"}, "device_info": {"w": 10, "h": 10},
                   "steps": [{"screenshot": "a.png", "action": "SCROLL", "info": [[1, 2]]}]})",
               StepFormat::kGuiOdyssey, "steps[0]: SCROLL: info must be [[x1, y1], [x2, y2]]");
  expect_error("{", StepFormat::kGuiOdyssey, "e.json: ");
}

TEST(StepEval, ScoringRules) {
  StepRecord click;
  click.truth.type = "click";
  click.truth.point = actions::Point{100, 100};
  StepAction p;
  p.type = "click";
  p.point = actions::Point{200, 100};  // 100 px of 1000: 10% of the screen
  EXPECT_TRUE(score_step(p, click, 1000, 1000).success);
  p.point = actions::Point{300, 100};  // 20%
  EXPECT_FALSE(score_step(p, click, 1000, 1000).success);
  EXPECT_TRUE(score_step(p, click, 1000, 1000).type_match);
  click.box = std::vector<double>{250, 90, 310, 110};  // with a box, the box decides
  EXPECT_TRUE(score_step(p, click, 1000, 1000).success);
  p.point = actions::Point{200, 100};
  EXPECT_FALSE(score_step(p, click, 1000, 1000).grounded);
  StepRecord type;
  type.truth.type = "type";
  type.truth.text = "Hello ";
  StepAction t;
  t.type = "type";
  t.text = "hello";
  EXPECT_TRUE(score_step(t, type, 10, 10).success);
  t.text = "help";
  EXPECT_FALSE(score_step(t, type, 10, 10).success);
  StepRecord scroll;
  scroll.truth.type = "scroll";
  scroll.truth.direction = "down";
  StepAction s;
  s.type = "scroll";
  s.direction = "up";
  EXPECT_FALSE(score_step(s, scroll, 10, 10).success);
  s.direction = "down";
  EXPECT_TRUE(score_step(s, scroll, 10, 10).success);
  actions::Action drag;
  drag.type = actions::ActionType::kDrag;
  drag.start = actions::Point{5, 9};
  drag.end = actions::Point{5, 1};
  EXPECT_EQ(step_action(drag).type, "scroll");
  EXPECT_EQ(step_action(drag).direction, "down");
}

// The OCR policy reads the goal into commands and does one per step: it
// clicks Cancel and OK, scrolls, types and finishes as recorded, and looks
// for Save (not on the screen) by waiting, which is a miss.
TEST(StepEval, OcrPolicyEndToEndOnBothFormats) {
  const std::string out = temp("ocr_ac");
  auto r = run_cli("eval steps --data " + kEpisodes + "androidcontrol --format androidcontrol --quiet --json --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  json j = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["steps"], 6);
  EXPECT_EQ(j["episodes"], 3);
  EXPECT_EQ(j["counts"]["type_match"], 5);
  EXPECT_EQ(j["counts"]["grounding_steps"], 3);
  EXPECT_EQ(j["counts"]["grounded"], 2);
  EXPECT_EQ(j["counts"]["success"], 5);
  EXPECT_EQ(j["counts"]["episodes_all_success"], 2);
  std::ifstream lines(out + "/steps.jsonl");
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_TRUE(json::parse(line).contains("success"));
  EXPECT_EQ(n, 6);
  EXPECT_TRUE(fs::exists(out + "/summary.json"));

  r = run_cli("eval steps --data " + kEpisodes + "gui-odyssey --format gui-odyssey --quiet --json --out " + temp("ocr_go"));
  ASSERT_EQ(r.status, 0) << r.out;
  j = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["steps"], 4);
  EXPECT_EQ(j["counts"]["success"], 4) << j.dump();
  EXPECT_EQ(j["episode_success_rate"], 1.0);

  // The printed table gives each rate with the counts behind it.
  r = run_cli("eval steps --data " + kEpisodes + "androidcontrol --format androidcontrol --quiet --out " + temp("ocr_md"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("| action type accuracy | 83.3% (5 / 6) |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| grounding accuracy (steps with a target) | 66.7% (2 / 3) |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| episode success rate | 66.7% (2 / 3) |"), std::string::npos) << r.out;
}

TEST(StepEval, TinyModelOverHttp) {
  deskpilot::testing::ServeProcess serve(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen25vl-untied");
  ASSERT_GT(serve.port(), 0);
  const std::string out = temp("http");
  const auto r = run_cli("eval steps --data " + kEpisodes + "androidcontrol --format androidcontrol --quiet --json --limit 1 " +
                         "--max-tokens 24 --endpoint " + serve.url() + " --model-name " + serve.name() + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["episodes"], 1);
  EXPECT_EQ(j["steps"], 3);
  std::ifstream lines(out + "/steps.jsonl");
  std::string first;
  ASSERT_TRUE(std::getline(lines, first));
  EXPECT_FALSE(json::parse(first)["raw"].get<std::string>().empty());
  EXPECT_EQ(deskpilot::testing::read_json(out + "/config.json")["prompt_style"], "mobile-v1.5");

  // Side by side with the OCR policy on the same episode.
  const std::string ocr = temp("http_ocr");
  ASSERT_EQ(run_cli("eval steps --data " + kEpisodes + "androidcontrol --format androidcontrol --quiet --limit 1 --out " + ocr)
                .status, 0);
  const auto cmp = run_cli("eval compare " + ocr + " " + out);
  ASSERT_EQ(cmp.status, 0) << cmp.out;
  EXPECT_NE(cmp.out.find("| steps | A: " + ocr), std::string::npos) << cmp.out;
  EXPECT_NE(cmp.out.find("| steps | 3 | 3 | +0 |"), std::string::npos) << cmp.out;
  EXPECT_NE(cmp.out.find("In both: 3;"), std::string::npos) << cmp.out;
  const auto bad = run_cli("eval steps --data " + kEpisodes + " --format aitw");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("expected androidcontrol or gui-odyssey"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace deskpilot::eval
