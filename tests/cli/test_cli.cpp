// The deskpilot binary as users run it: output, exit status and messages.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli_runner.h"

using deskpilot::testing::CliRun;
using deskpilot::testing::run_cli;

TEST(Cli, ParsePrintsOneJsonObjectInScreenPixels) {
  CliRun r = run_cli("parse --model-type qwen25vl --screen 1522x1022 -",
              "Thought: Click the centre.\nAction: click(start_box='(756,504)')");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["thought"], "Click the centre.");
  EXPECT_TRUE(j["reflection"].is_null());
  EXPECT_TRUE(j["reasoning"].is_null());
  ASSERT_EQ(j["actions"].size(), 1u);
  EXPECT_EQ(j["actions"][0]["type"], "click");
  EXPECT_DOUBLE_EQ(j["actions"][0]["x"].get<double>(), 761.0);
  EXPECT_DOUBLE_EQ(j["actions"][0]["y"].get<double>(), 511.0);
}

TEST(Cli, ParseFieldsOfEveryKind) {
  CliRun r = run_cli("parse --model-type qwen2vl --screen 2000x1000",
              "<think>hmm</think>\nThought: many\nAction: drag(start_box='(100,100)', end_box='(500,500)')\n\n"
              "type(content='hi\\n')\n\nhotkey(key='ctrl s')\n\nscroll(direction='down')\n\n"
              "finished(content='done')");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["reasoning"], "hmm");
  const auto& a = j["actions"];
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0]["end_x"], 1000.0);
  EXPECT_EQ(a[0]["end_y"], 500.0);
  EXPECT_EQ(a[1]["text"], "hi");
  EXPECT_EQ(a[1]["submit"], true);
  EXPECT_EQ(a[2]["keys"], nlohmann::json({"ctrl", "s"}));
  EXPECT_EQ(a[3]["direction"], "down");
  EXPECT_EQ(a[3]["amount"], 5);
  EXPECT_EQ(a[4]["content"], "done");
}

TEST(Cli, HiDpiScreenshotOption) {
  CliRun r = run_cli("parse --model-type qwen25vl --screenshot 1920x1080 --screen 3840x2160 -",
              "Action: click(start_box='(966,546)')");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["actions"][0]["x"].get<double>(), 1920.0);
}

TEST(Cli, MaxPixelsChangesTheMapping) {
  // With max_pixels 1280*28*28 a 3840x2160 capture is resized to 1316x728.
  CliRun r = run_cli("parse --model-type qwen25vl --screen 3840x2160 --max-pixels 1003520 -",
              "Action: click(start_box='(658,364)')");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["actions"][0]["x"].get<double>(), 1920.0);
  EXPECT_DOUBLE_EQ(j["actions"][0]["y"].get<double>(), 1080.0);
}

TEST(Cli, UnparseableOutputExitsTwoWithOneLine) {
  CliRun r = run_cli("parse --screen 1920x1080 -", "Thought: no action here");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cannot parse model output: position 0: no 'Action:'"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
}

TEST(Cli, BadArgumentsAreNamed) {
  CliRun size = run_cli("parse --screen 1920by1080 -", "Action: wait()");
  EXPECT_EQ(size.status, 2);
  EXPECT_NE(size.out.find("--screen"), std::string::npos);
  CliRun type = run_cli("parse --model-type gpt -", "Action: wait()");
  EXPECT_EQ(type.status, 2);
  EXPECT_NE(type.out.find("model-type"), std::string::npos);
  CliRun missing = run_cli("parse /nonexistent/model_output.txt");
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("/nonexistent/model_output.txt"), std::string::npos);
}

TEST(Cli, HelpAndVersion) {
  CliRun v = run_cli("--version");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("deskpilot ", 0), 0u) << v.out;
  // OpenBLAS, which the program links through OpenCV, runs the kernels this CPU can run
  // (0.3.21 alone reads CPUs newer than itself as a Pentium 4, "Prescott").
  EXPECT_NE(v.out.find("prefill SGEMM: "), std::string::npos) << v.out;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(v.out.find("Prescott"), std::string::npos) << v.out;
  }
  CliRun h = run_cli("--help");
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("parse"), std::string::npos);
  EXPECT_NE(h.out.find("plan"), std::string::npos);
  CliRun none = run_cli("");
  EXPECT_NE(none.status, 0);
}

TEST(Cli, PlanPrintsTheDryRun) {
  CliRun r = run_cli("plan --model-type qwen2vl --screen 1920x1080 -",
              "Thought: open the menu\nAction: click(start_box='(500,500)')\n\nlong_press(start_box='(1,1)')");
  EXPECT_EQ(r.status, 2);  // the mobile action is refused
  EXPECT_NE(r.out.find("move 960 540"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused: long_press is a mobile action"), std::string::npos) << r.out;
}

TEST(Cli, PlanShowsWhatTheDenyListWouldRefuse) {
  // The line is followed across actions and files: the second half is refused.
  CliRun r = run_cli("plan --model-type screen -", "type(content='sudo rm -r')\n\ntype(content='f /\\n')\n\n"
                     "hotkey(key='ctrl u')\n\npress(key='ctrl')\n\npress(key='alt')\n\npress(key='backspace')");
  EXPECT_EQ(r.status, 3) << r.out;
  EXPECT_NE(r.out.find("type(content='f /\\n')\n  refused: blocked by the deny list"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("press(key='backspace')\n  refused: blocked by the deny list: the hotkey 'ctrl alt backspace'"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(run_cli("plan --model-type screen -", "type(content='ls -la\\n')").status, 0);
  r = run_cli("plan --deny-list /tmp --model-type screen -", "wait()");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--deny-list: /tmp: cannot open: it is a directory"), std::string::npos) << r.out;
}

TEST(Cli, InputsThatAreNotReadableFilesAreNamed) {
  // Found by a probe: a folder aborted with an uncaught std::ios_failure.
  for (const std::string cmd : {"parse /tmp", "plan /tmp", "parse /nonexistent/x.txt", "plan /dev/null/x"}) {
    CliRun r = run_cli(cmd);
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("cannot open"), std::string::npos) << cmd << ": " << r.out;
  }
  EXPECT_NE(run_cli("parse /tmp").out.find("deskpilot: /tmp: cannot open: it is a directory, not a file"),
            std::string::npos);
}
