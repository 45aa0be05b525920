// The observe-think-act loop without a display: a screen that changes when
// acted on, scripted policies, a recording executor, a real trajectory on
// disk. Exit statuses, call_user, wait, safety refusals, stop requests, and
// one flushed line per step.
#include "agent/agent_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "actions/executor.h"
#include "actions/safety.h"
#include "policies/scripted_policy.h"

namespace deskpilot::agent {
namespace {

namespace fs = std::filesystem;

// A 64x48 screen whose shade is the number of frames grabbed: every step sees a new frame.
class CountingScreen : public vision::ScreenSource {
 public:
  bool grab(cv::Mat* bgr, std::string*) override {
    *bgr = cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(static_cast<double>(++grabs_ % 256)));
    return true;
  }
  vision::Rect area() const override { return {0, 0, 64, 48}; }
  std::string method() const override { return "test"; }
  int grabs_ = 0;
};

class BrokenScreen : public vision::ScreenSource {
 public:
  bool grab(cv::Mat*, std::string* error) override {
    *error = "display gone";
    return false;
  }
  vision::Rect area() const override { return {0, 0, 64, 48}; }
  std::string method() const override { return "test"; }
};

std::unique_ptr<policies::ScriptedPolicy> scripted(const std::vector<std::string>& steps) {
  std::string error;
  auto p = policies::ScriptedPolicy::create(steps, &error);
  EXPECT_NE(p, nullptr) << error;
  return p;
}

std::vector<nlohmann::json> lines(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/trajectory.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class AgentLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "deskpilot_agent_loop_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    std::string error;
    trajectory_ = TrajectoryWriter::open(dir_, &error);
    ASSERT_NE(trajectory_, nullptr) << error;
    options_.settle.timeout_ms = 0;  // the counting screen never settles
    options_.settle.interval_ms = 1;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<TrajectoryWriter> trajectory_;
  AgentOptions options_;
  CountingScreen screen_;
  actions::RecordingExecutor recorder_{actions::InputPlanOptions{{64, 48}, 2}};
};

TEST_F(AgentLoop, FinishesAndWritesOneLinePerStep) {
  auto policy = scripted({"click(start_box='(10,20)')", "type(content='hi')\n\nhotkey(key='ctrl s')",
                          "finished(content='saved')"});
  std::vector<int> seen;
  options_.on_step = [&](const AgentStep& s) { seen.push_back(s.step); };
  const AgentResult r = run_agent("save it", *policy, screen_, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kFinished) << r.error;
  EXPECT_EQ(agent_exit_code(r.status), 0);
  EXPECT_EQ(r.content, "saved");
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  const auto l = lines(dir_);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0]["actions"][0]["type"], "click");
  EXPECT_EQ(l[0]["policy"], "scripted");
  EXPECT_EQ(l[1]["actions"].size(), 2u);
  EXPECT_EQ(l[2]["actions"][0]["type"], "finished");
  for (const auto& line : l) {
    EXPECT_EQ(line["result"], "ok");
    EXPECT_TRUE(fs::exists(dir_ + "/" + line["screenshot"].get<std::string>()));
    EXPECT_TRUE(line["latency_ms"].contains("think"));
  }
  // Events reached the executor in order: the click, the text, the chord.
  ASSERT_FALSE(recorder_.events().empty());
}

TEST_F(AgentLoop, StepLimitStopsARunThatNeverFinishes) {
  auto policy = scripted({"click(start_box='(1,1)')", "click(start_box='(2,2)')", "click(start_box='(3,3)')",
                          "click(start_box='(4,4)')"});
  options_.max_steps = 2;
  const AgentResult r = run_agent("go", *policy, screen_, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kStepLimit);
  EXPECT_EQ(agent_exit_code(r.status), 3);
  EXPECT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(lines(dir_).size(), 2u);
}

TEST_F(AgentLoop, CallUserFailsUnattendedAndWaitsForThePersonOtherwise) {
  auto policy = scripted({"call_user(content='log in for me')", "finished()"});
  AgentResult r = run_agent("go", *policy, screen_, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kFailed);
  EXPECT_NE(r.error.find("call_user in an unattended run: log in for me"), std::string::npos) << r.error;

  std::string asked;
  options_.call_user = [&](const std::string& m) {
    asked = m;
    return true;
  };
  r = run_agent("go", *policy, screen_, recorder_, nullptr, options_);
  EXPECT_EQ(r.status, AgentStatus::kFinished) << r.error;
  EXPECT_EQ(asked, "log in for me");
  options_.call_user = [](const std::string&) { return false; };
  r = run_agent("go", *policy, screen_, recorder_, nullptr, options_);
  EXPECT_EQ(r.status, AgentStatus::kFailed);
}

TEST_F(AgentLoop, WaitIsCappedAndSendsNothing) {
  auto policy = scripted({"wait()", "finished()"});
  options_.max_wait_s = 0.05;  // the model's default is 5 s
  const AgentResult r = run_agent("go", *policy, screen_, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kFinished);
  EXPECT_TRUE(recorder_.events().empty());
  EXPECT_LT(r.seconds, 2.0);
  EXPECT_EQ(lines(dir_)[0]["events"][0].get<std::string>().rfind("wait 0.05", 0), 0u);
}

TEST_F(AgentLoop, ARefusedActionFailsTheRunAndIsRecorded) {
  auto policy = scripted({"type(content='rm -rf / \\n')", "finished()"});
  actions::GuardedExecutor guarded(recorder_, actions::default_safety_rules());
  const AgentResult r = run_agent("clean up", *policy, screen_, guarded, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kFailed);
  EXPECT_TRUE(recorder_.events().empty());
  const auto l = lines(dir_);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["result"], "error");
  EXPECT_NE(l[0]["error"].get<std::string>().find("rm -rf"), std::string::npos) << l[0]["error"];
}

TEST_F(AgentLoop, StopRequestAndBrokenScreenEndTheRun) {
  auto policy = scripted({"click(start_box='(1,1)')", "finished()"});
  std::atomic<bool> stop{true};
  options_.stop = &stop;
  AgentResult r = run_agent("go", *policy, screen_, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kStopped);
  EXPECT_EQ(agent_exit_code(r.status), 130);
  EXPECT_TRUE(r.steps.empty());
  options_.stop = nullptr;
  BrokenScreen broken;
  r = run_agent("go", *policy, broken, recorder_, trajectory_.get(), options_);
  EXPECT_EQ(r.status, AgentStatus::kFailed);
  EXPECT_NE(r.error.find("cannot capture the screen: display gone"), std::string::npos) << r.error;
  EXPECT_EQ(lines(dir_).size(), 1u);  // the failed step is in the trajectory too
}

TEST(ScriptedPolicy, BadStepsAreRefusedWithTheirIndex) {
  std::string error;
  EXPECT_EQ(policies::ScriptedPolicy::create({"click(start_box='(1,1)')", "clack()"}, &error), nullptr);
  EXPECT_EQ(error.rfind("steps[1]: ", 0), 0u) << error;
}

}  // namespace
}  // namespace deskpilot::agent
