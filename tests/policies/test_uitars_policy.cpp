// The UI-TARS policy with a scripted chat model: the published prompts
// (golden from the ui-tars package), the history layout of the reference
// agent, parse retries with sampling, loop detection.
#include "policies/uitars_policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/golden_util.h"

namespace deskpilot::policies {
namespace {

class ScriptedModel : public ChatModel {
 public:
  explicit ScriptedModel(std::vector<std::string> answers, std::optional<multimodal::SmartResizeParams> resize = {})
      : answers_(std::move(answers)), resize_(resize) {}
  std::optional<multimodal::SmartResizeParams> image_resize() const override { return resize_; }
  bool complete(const ChatRequest& request, ChatReply* reply, std::string*) override {
    requests.push_back(request);
    reply->text = answers_[std::min(next_++, answers_.size() - 1)];
    return true;
  }
  std::string name() const override { return "scripted"; }
  std::vector<ChatRequest> requests;

 private:
  std::vector<std::string> answers_;
  std::optional<multimodal::SmartResizeParams> resize_;
  size_t next_ = 0;
};

std::shared_ptr<const multimodal::RgbImage> screen(uint8_t shade) {
  return std::make_shared<const multimodal::RgbImage>(multimodal::RgbImage{4, 2, std::vector<uint8_t>(24, shade)});
}

TEST(UITarsPrompt, MatchesThePublishedPrompts) {
  const nlohmann::json golden = deskpilot::testing::read_json(deskpilot::testing::kGoldenDir + "uitars_prompts.json");
  ASSERT_GE(golden["cases"].size(), 18u);
  for (const auto& c : golden["cases"]) {
    const auto style = prompt_style_from_name(c["style"].get<std::string>());
    ASSERT_TRUE(style) << c["style"];
    EXPECT_EQ(uitars_prompt(*style, c["instruction"], c["language"]), c["prompt"].get<std::string>())
        << c["style"] << " " << c["language"];
  }
}

TEST(UITarsPolicy, HistoryKeepsEveryAnswerAndTheLastScreenshots) {
  ScriptedModel model({"Thought: go\nAction: click(point='<point>10 20</point>')"});
  UITarsOptions options;
  options.history_n = 5;
  UITarsPolicy policy(model, options);
  policy.reset("Open the terminal");
  std::string error;
  for (int step = 0; step < 8; ++step) {
    StepDecision d;
    ASSERT_TRUE(policy.step(screen(static_cast<uint8_t>(step)), &d, &error)) << error;
    ASSERT_TRUE(d.ok) << d.error;
  }
  const std::vector<ChatTurn>& m = model.requests.back().messages;  // step 7: 7 earlier answers
  int images = 0, answers = 0;
  for (const ChatTurn& t : m) {
    for (const ChatContent& c : t.content) images += c.image != nullptr;
    answers += t.role == "assistant";
  }
  EXPECT_EQ(answers, 7);
  EXPECT_EQ(images, 5);
  EXPECT_EQ(m[0].role, "system");
  EXPECT_EQ(m[1].role, "user");
  EXPECT_NE(m[1].content[0].text.find("## User Instruction\nOpen the terminal"), std::string::npos);
  EXPECT_EQ(m[2].role, "assistant");  // steps 0-2: answers only
  EXPECT_EQ(m.back().role, "user");
  EXPECT_EQ(m.back().content[0].image->pixels[0], 7);  // the current screenshot last
  EXPECT_EQ(m[m.size() - 3].content[0].image->pixels[0], 6);  // the previous step's screenshot before its answer
}

TEST(UITarsPolicy, UnparseableAnswerIsAskedAgainWithSampling) {
  ScriptedModel model({"I think I will click somewhere", "Thought: ok\nAction: hotkey(key='ctrl s')"});
  UITarsPolicy policy(model, UITarsOptions());
  policy.reset("Save");
  StepDecision d;
  std::string error;
  ASSERT_TRUE(policy.step(screen(1), &d, &error));
  EXPECT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.attempts, 2);
  ASSERT_EQ(model.requests.size(), 2u);
  EXPECT_EQ(model.requests[0].sampling.temperature, 0.0);
  EXPECT_GT(model.requests[1].sampling.temperature, 0.0);
  ASSERT_EQ(d.response.actions.size(), 1u);
}

TEST(UITarsPolicy, RepeatingOnAnUnchangedScreenIsNudgedThenFailed) {
  ScriptedModel model({"Thought: again\nAction: click(point='<point>5 5</point>')"});
  UITarsOptions options;
  options.loop_nudge_after = 3;
  options.loop_fail_after = 5;
  UITarsPolicy policy(model, options);
  policy.reset("Do it");
  std::string error;
  std::vector<StepDecision> steps;
  for (int i = 0; i < 6; ++i) {
    StepDecision d;
    ASSERT_TRUE(policy.step(screen(9), &d, &error));
    steps.push_back(d);
  }
  const auto nudged = [&](size_t request) {
    return model.requests[request].messages[1].content[0].text.find("did not change the screen") != std::string::npos;
  };
  EXPECT_FALSE(nudged(1));
  EXPECT_TRUE(nudged(3));
  EXPECT_TRUE(steps[3].ok);
  EXPECT_FALSE(steps[5].ok);
  EXPECT_NE(steps[5].error.find("repeated 5 times"), std::string::npos) << steps[5].error;
  // A changing screen is not a loop.
  ScriptedModel model2({"Thought: again\nAction: click(point='<point>5 5</point>')"});
  UITarsPolicy moving(model2, options);
  moving.reset("Do it");
  for (int i = 0; i < 6; ++i) {
    StepDecision d;
    ASSERT_TRUE(moving.step(screen(static_cast<uint8_t>(i)), &d, &error));
    EXPECT_TRUE(d.ok) << i << " " << d.error;
  }
}

// A 1000x500 BGR screenshot, left half dark, right half light.
Observation observation() {
  Observation o;
  o.screenshot = cv::Mat(500, 1000, CV_8UC3, cv::Scalar(20, 20, 20));
  o.screenshot(cv::Rect(500, 0, 500, 500)).setTo(cv::Scalar(200, 200, 200));
  return o;
}

TEST(UITarsPolicy, Qwen25vlAnswersAreMappedBackWithTheModelsOwnResize) {
  multimodal::SmartResizeParams resize;
  resize.min_pixels = 28 * 28 * 4;
  resize.max_pixels = 28 * 28 * 100;  // the checkpoint's processor: far below the screen
  const multimodal::Size seen = *multimodal::smart_resize({1000, 500}, resize).size;
  ASSERT_LT(seen.width, 1000);
  // The model clicks the middle of what it saw, and drags to its corner.
  const std::string answer = "Thought: here\nAction: drag(start_point='<point>" + std::to_string(seen.width / 2) + " " +
                             std::to_string(seen.height / 2) + "</point>', end_point='<point>" +
                             std::to_string(seen.width) + " " + std::to_string(seen.height) + "</point>')";
  ScriptedModel model({answer}, resize);
  UITarsPolicy policy(model, UITarsOptions());
  policy.reset("drag it");
  Decision d;
  std::string error;
  ASSERT_TRUE(policy.decide(observation(), &d, &error)) << error;
  ASSERT_TRUE(d.ok) << d.error;
  // The image sent is already at the model's size (its processor keeps it).
  const auto& sent = *model.requests[0].messages.back().content[0].image;
  EXPECT_EQ(sent.width, seen.width);
  EXPECT_EQ(sent.height, seen.height);
  EXPECT_EQ(sent.pixels[0], 20);                                  // left: dark
  EXPECT_EQ(sent.pixels[(sent.width - 1) * 3], 200);              // right: light, RGB order kept
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_NEAR(d.actions[0].start->x, 500, 1000.0 / seen.width);
  EXPECT_NEAR(d.actions[0].start->y, 250, 500.0 / seen.height);
  EXPECT_NEAR(d.actions[0].end->x, 1000, 1e-6);
  EXPECT_NEAR(d.actions[0].end->y, 500, 1e-6);
  EXPECT_EQ(d.thought, "here");
  EXPECT_EQ(d.model_text, answer);
}

TEST(UITarsPolicy, V1AnswersAreRelativeToAThousand) {
  ScriptedModel model({"Thought: t\nAction: click(start_box='<|box_start|>(250,500)<|box_end|>')"});
  UITarsOptions options;
  options.style = PromptStyle::kComputerV1;
  UITarsPolicy policy(model, options);
  policy.reset("click");
  Decision d;
  std::string error;
  ASSERT_TRUE(policy.decide(observation(), &d, &error)) << error;
  ASSERT_TRUE(d.ok) << d.error;
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_DOUBLE_EQ(d.actions[0].start->x, 250);
  EXPECT_DOUBLE_EQ(d.actions[0].start->y, 250);
  // Without a model resize, the options' (UI-TARS-1.5: 16384 * 28 * 28) apply: 1000x500 becomes 1008x504.
  const auto& sent = *model.requests[0].messages.back().content[0].image;
  EXPECT_EQ(sent.width, 1008);
  EXPECT_EQ(sent.height, 504);
}

TEST(UITarsPolicy, AnUnparseableAnswerFailsTheStepWithTheModelsText) {
  ScriptedModel model({"no idea"});
  UITarsPolicy policy(model, UITarsOptions());
  policy.reset("x");
  Decision d;
  std::string error;
  ASSERT_TRUE(policy.decide(observation(), &d, &error));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.model_text, "no idea");
  EXPECT_NE(d.error.find("no 'Action:'"), std::string::npos) << d.error;
}

TEST(UITarsPolicy, BoxTokensAreRestoredInTheHistoryAsTheReferenceDoes) {
  EXPECT_EQ(restore_box_tokens("Thought: open it\nAction: click(start_box='(10,20)')"),
            "Thought: open it\nAction: click(start_box='<|box_start|>(10,20)<|box_end|>')");
  EXPECT_EQ(restore_box_tokens("Thought: t\nAction: drag(start_box='(1,2)', end_box='(30,40)')\n"),
            "Thought: t\nAction: drag(start_box='<|box_start|>(1,2)<|box_end|>', end_box='<|box_start|>(30,40)<|box_end|>')");
  // Several "Action: " parts: trimmed and joined by a blank line.
  EXPECT_EQ(restore_box_tokens("T\nAction: click(start_box='(1,2)')\nAction: hotkey(key='enter')"),
            "T\nAction: click(start_box='<|box_start|>(1,2)<|box_end|>')\n\nhotkey(key='enter')");
  // Left alone: a space after the comma, decimals, boxes already there, no start_box at all.
  for (const std::string same : {"Action: click(start_box='(1, 2)')", "Action: click(start_box='(1.5,2)')",
                                 "Action: click(start_box='<|box_start|>(1,2)<|box_end|>')",
                                 "Thought: x\nAction: click(point='<point>1 2</point>')", "no action"})
    EXPECT_EQ(restore_box_tokens(same), same);

  ScriptedModel model({"Thought: go\nAction: click(start_box='(100,200)')"});
  UITarsOptions options;
  options.style = PromptStyle::kComputerV1;
  UITarsPolicy policy(model, options);
  policy.reset("x");
  std::string error;
  for (int i = 0; i < 2; ++i) {
    StepDecision d;
    ASSERT_TRUE(policy.step(screen(static_cast<uint8_t>(i)), &d, &error));
  }
  const auto& history = model.requests.back().messages;
  EXPECT_EQ(history[history.size() - 2].role, "assistant");  // before the last step's screenshot turn: answer 1
  bool restored = false;
  for (const auto& t : history)
    if (t.role == "assistant") restored = t.content[0].text.find("<|box_start|>(100,200)<|box_end|>") != std::string::npos;
  EXPECT_TRUE(restored);
}

}  // namespace
}  // namespace deskpilot::policies
