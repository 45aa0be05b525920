// `deskpilot run` end to end, through the binaries as users run them, each
// run on its own Xvfb:
//   - UI-TARS over `deskpilot serve` on loopback and over the in-process
//     engine with the same tiny random checkpoint. A random model acts at
//     random, so this asserts the protocol, parsing, retry and trajectory,
//     and that both paths give the model the very same conversation (same
//     answer text), not success.
//   - the OCR policy (no weights) answering a zenity dialog on a display of
//     the test's own;
//   - bad input: clear errors and exit statuses.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "agent/xvfb.h"
#include "tests/cli_runner.h"
#include "tests/serve_process.h"

namespace {

namespace fs = std::filesystem;
using deskpilot::testing::run_cli;
using deskpilot::testing::ServeProcess;

const std::string kModel = std::string(DESKPILOT_SOURCE_DIR) + "/tests/golden/models/qwen25vl-untied";

std::vector<nlohmann::json> trajectory(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/trajectory/trajectory.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string temp(const std::string& name) {
  return ::testing::TempDir() + "deskpilot_agent_run_" + std::to_string(getpid()) + "_" + name;
}

TEST(AgentRun, EndpointAndInProcessGiveTheModelTheSameConversation) {
  ServeProcess serve(kModel);
  ASSERT_GT(serve.port(), 0);
  const std::string a = temp("endpoint"), b = temp("inprocess");
  const std::string common = " --xvfb 640x480 --max-steps 3 --max-tokens 24 --unattended --json";
  auto r = run_cli("run \"Open the terminal\" --endpoint http://127.0.0.1:" + std::to_string(serve.port()) +
                   "/v1 --model-name " + serve.name() + " --out " + a + " --report " + a + "/report.html" + common);
  EXPECT_EQ(r.status, 1) << r.out;  // a random model's answer does not parse: the run fails, cleanly
  EXPECT_NE(r.out.find("\"status\":\"failed\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 1 | capture"), std::string::npos) << r.out;  // the latency split, live
  const auto ta = trajectory(a);
  ASSERT_EQ(ta.size(), 1u) << r.out;
  EXPECT_EQ(ta[0]["policy"], "uitars(" + serve.name() + ")");
  EXPECT_EQ(ta[0]["attempts"], 2);  // asked again with sampling
  EXPECT_GT(ta[0]["tokens"]["prompt"].get<int>(), 100);  // the prompt and a screenshot
  EXPECT_FALSE(ta[0]["model_text"].get<std::string>().empty());
  EXPECT_NE(ta[0]["error"].get<std::string>().find("cannot parse the model's answer"), std::string::npos);
  EXPECT_TRUE(fs::exists(a + "/trajectory/step_001.png"));
  EXPECT_TRUE(fs::exists(a + "/report.html"));

  r = run_cli("run \"Open the terminal\" --model " + kModel + " --out " + b + common);
  EXPECT_EQ(r.status, 1) << r.out;
  const auto tb = trajectory(b);
  ASSERT_EQ(tb.size(), 1u) << r.out;
  EXPECT_EQ(tb[0]["model_text"], ta[0]["model_text"]);
  EXPECT_EQ(tb[0]["tokens"], ta[0]["tokens"]);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(AgentRun, OcrPolicyAnswersADialogFromPlainWords) {
  // The display is the test's, not the run's, and the dialog is not the
  // run's either: the run stops everything it started when the agent
  // finishes (its process group and, through DESKPILOT_SESSION, what left
  // the group), which may be before zenity, clicked, has exited and its
  // status is written. Started outside the session (its own process group,
  // without the session's tag), zenity outlives the run and reports what
  // the click did. (CI saw that race twice: status "", once when the dialog
  // shared the run's group, once when only setsid kept it apart.)
  std::string error;
  deskpilot::agent::XvfbOptions xo;
  xo.width = 800;
  xo.height = 600;
  auto xvfb = deskpilot::agent::XvfbServer::start(xo, &error);
  ASSERT_TRUE(xvfb) << error;
  const std::string out = temp("ocr");
  fs::create_directories(out);
  const std::string status_file = out + "/status.txt";
  std::ofstream(out + "/dialog.sh") << "zenity --question --title agent-q --text 'Delete the file?'\n"
                                    << "echo $? > '" << status_file << "'\n";
  auto r = run_cli("run \"click Yes\" --display " + xvfb->display() + " --unattended --out " + out +
                   " --launch 'env -u DESKPILOT_SESSION setsid sh " + out + "/dialog.sh' --wait-window '^agent-q$'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("finished after 2 steps"), std::string::npos) << r.out;
  std::string status;
  for (int i = 0; i < 100 && status.empty(); ++i) {
    std::ifstream(status_file) >> status;
    if (status.empty()) usleep(100000);
  }
  EXPECT_EQ(status, "0") << r.out;  // zenity exits 0 for Yes (1 for No, 5 on its time-out; nothing: never answered)
  const auto t = trajectory(out);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["policy"], "ocr");
  EXPECT_EQ(t[0]["actions"][0]["type"], "click");
  xvfb.reset();  // a dialog still open goes with its display
  fs::remove_all(out);
}

TEST(AgentRun, BadInputIsAClearError) {
  auto r = run_cli("run \"frobnicate the widget\" --xvfb 320x240 --unattended --out " + temp("bad"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("cannot read the instruction: clause 1 ('frobnicate the widget')"), std::string::npos) << r.out;
  r = run_cli("run go --policy magic --xvfb 320x240");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--policy 'magic': expected uitars or ocr"), std::string::npos) << r.out;
  r = run_cli("run go --endpoint ftp://x --model-name m --xvfb 320x240");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("expected http://"), std::string::npos) << r.out;
  r = run_cli("run go --endpoint http://127.0.0.1:1/v1 --xvfb 320x240");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--model-name"), std::string::npos) << r.out;
  r = run_cli("run go --model /nonexistent --xvfb 320x240");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("/nonexistent"), std::string::npos) << r.out;
  r = run_cli("run go --display :1 --xvfb 320x240");
  EXPECT_EQ(r.status, 2);
  fs::remove_all(temp("bad"));
}

}  // namespace
