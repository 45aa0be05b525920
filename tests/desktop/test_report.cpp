// HTML reports: built from a real trajectory by `deskpilot report`, opened
// in headless Chromium, every step shown with its screenshot and markers.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "agent/report.h"
#include "scenario/runner.h"

using namespace deskpilot::agent;
using namespace deskpilot::scenario;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST(Report, EveryStepIsShownInChromium) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "deskpilot_report_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::ofstream(dir + "/s.json") << R"J({
    "name": "report-demo", "screen": {"width": 640, "height": 480},
    "steps": ["click(start_box='(100,100)')", "drag(start_box='(10,10)', end_box='(200,150)')",
              "scroll(direction='down', amount='2')", "type(content='héllo <b>\\n')", "hotkey(key='ctrl s')"]
  })J";
  std::string error;
  auto s = load_scenario(dir + "/s.json", &error);
  ASSERT_TRUE(s) << error;
  RunOptions o;
  o.out_dir = dir + "/out";
  ScenarioResult r = run_scenario(*s, o);
  ASSERT_TRUE(r.passed) << r.error;

  const std::string html = dir + "/report.html";
  const std::string cmd = std::string(DESKPILOT_BIN) + " report " + r.out_dir + "/trajectory --out " + html +
                          " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const std::string page = slurp(html);
  EXPECT_EQ(count(page, "data:image/png;base64,"), 5u);  // self-contained
  EXPECT_NE(page.find("héllo &lt;b&gt;"), std::string::npos);  // escaped, not markup

  // What a browser shows: the DOM after Chromium has loaded the page.
  const std::string dom_file = dir + "/dom.html";
  const std::string chromium = "chromium --headless --no-sandbox --disable-gpu --dump-dom file://" + html + " > " +
                               dom_file + " 2>/dev/null";
  ASSERT_EQ(std::system(chromium.c_str()), 0) << "headless Chromium failed";
  const std::string dom = slurp(dom_file);
  for (int step = 1; step <= 5; ++step) {
    EXPECT_NE(dom.find("id=\"run-1-step-" + std::to_string(step) + "\""), std::string::npos) << "step " << step;
  }
  EXPECT_EQ(count(dom, "<img"), 5u);
  EXPECT_GE(count(dom, "class=\"click\""), 2u);   // the click and the drag's start
  EXPECT_EQ(count(dom, "class=\"drag\""), 1u);
  EXPECT_EQ(count(dom, "class=\"scroll\""), 1u);
  EXPECT_NE(dom.find("type \"héllo &lt;b&gt;\" ⏎"), std::string::npos);
  EXPECT_NE(dom.find("hotkey ctrl+s"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Report, ACutShortTrajectoryStillRenders) {
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir() + "deskpilot_cut_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::ofstream(dir + "/trajectory.jsonl")
      << R"J({"step": 1, "screenshot": "missing.png", "actions": [{"type": "wait"}], "result": "ok"})J" << "\n"
      << R"J({"step": 2, "scre)J";  // the process died mid-write
  const std::string page = render_report("cut", {{"cut run", "failed", "killed", dir}});
  EXPECT_NE(page.find("id=\"run-1-step-1\""), std::string::npos);
  EXPECT_NE(page.find("line 2: not JSON (cut short?)"), std::string::npos);
  EXPECT_NE(page.find("missing.png: cannot read the screenshot"), std::string::npos);
  fs::remove_all(dir);
}

