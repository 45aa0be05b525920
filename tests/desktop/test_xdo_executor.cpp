// The libxdo executor on a private Xvfb, checked by a real X client
// (tests/tools/x_event_recorder.cpp) that logs the events it receives.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "actions/executor_xdo.h"
#include "actions/parser.h"
#include "actions/text_util.h"
#include "display_fixture.h"

using namespace deskpilot::actions;

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Keysym -> Unicode, for the characters these tests type: Latin-1 keysyms
// are their code points, Unicode keysyms are 0x01000000 + the code point.
uint32_t keysym_codepoint(unsigned long sym) {
  if (sym >= 0x20 && sym <= 0xff) return static_cast<uint32_t>(sym);
  if (sym >= 0x01000100 && sym <= 0x0110ffff) return static_cast<uint32_t>(sym - 0x01000000);
  return 0;
}

}  // namespace

class XdoExecutorTest : public deskpilot::testing::DisplayTest {
 protected:
  static void SetUpTestSuite() { start_display(800, 600); }

  void SetUp() override {
    log_ = ::testing::TempDir() + "deskpilot_events_" + std::to_string(getpid()) + ".log";
    std::remove(log_.c_str());
    recorder_ = fork();
    if (recorder_ == 0) {
      execl(DESKPILOT_X_RECORDER_BIN, DESKPILOT_X_RECORDER_BIN, display().c_str(), log_.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      auto lines = read_lines(log_);
      if (!lines.empty() && lines[0] == "ready") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "x_event_recorder did not start";
  }

  void TearDown() override {
    kill(recorder_, SIGTERM);
    waitpid(recorder_, nullptr, 0);
    std::remove(log_.c_str());
  }

  std::unique_ptr<XdoExecutor> executor() {
    XdoOptions o;
    o.display = display();
    o.plan.screen = {800, 600};
    // The default key delay: characters outside the keymap (CJK, emoji) are
    // typed by rebinding a spare keycode, and a client must read each event
    // before the next rebinding; 2 ms lost the emoji under load.
    o.motion_delay_us = 2000;
    std::string error;
    auto exec = XdoExecutor::open(o, &error);
    EXPECT_TRUE(exec) << error;
    return exec;
  }

  void run(const std::string& calls) {
    ParseResult r = parse_action_calls(calls);
    ASSERT_TRUE(r.ok()) << r.error->message();
    auto exec = executor();
    ASSERT_TRUE(exec);
    for (const auto& a : r.response.actions) {
      ExecutionResult res = exec->execute(a);
      ASSERT_TRUE(res.ok) << res.error;
    }
  }

  // The recorded lines without motion and the "ready" line, once `count` arrived.
  std::vector<std::string> events(size_t count) {
    std::vector<std::string> out;
    for (int i = 0; i < 300; ++i) {
      out.clear();
      for (const auto& l : read_lines(log_)) {
        if (l != "ready" && l.rfind("motion", 0) != 0) out.push_back(l);
      }
      if (out.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out;
  }

  std::string log_;
  pid_t recorder_ = -1;
};

TEST_F(XdoExecutorTest, ClickPutsThePointerInPlaceFirst) {
  run("click(start_box='(100,200)')\n\nright_single(start_box='(300.4,400.6)')");
  EXPECT_EQ(events(4), (std::vector<std::string>{"press 1 100 200", "release 1 100 200", "press 3 300 401",
                                                 "release 3 300 401"}));
}

TEST_F(XdoExecutorTest, DoubleClickDragAndScroll) {
  run("left_double(start_box='(10,20)')\n\ndrag(start_box='(50,60)', end_box='(250,160)')\n\n"
      "scroll(start_box='(400,300)', direction='down', amount='2')");
  EXPECT_EQ(events(10), (std::vector<std::string>{"press 1 10 20", "release 1 10 20", "press 1 10 20",
                                                  "release 1 10 20", "press 1 50 60", "release 1 250 160",
                                                  "press 5 400 300", "release 5 400 300", "press 5 400 300",
                                                  "release 5 400 300"}));
  // The drag moved through intermediate points while the button was down.
  const auto all = read_lines(log_);
  auto down = std::find(all.begin(), all.end(), "press 1 50 60");
  auto up = std::find(all.begin(), all.end(), "release 1 250 160");
  ASSERT_TRUE(down != all.end() && up != all.end());
  EXPECT_GE(std::count_if(down, up, [](const std::string& l) { return l.rfind("motion", 0) == 0; }), 5);
}

TEST_F(XdoExecutorTest, HotkeyDownInOrderUpInReverse) {
  run("hotkey(key='ctrl shift t')");
  EXPECT_EQ(events(6), (std::vector<std::string>{"key_down ffe3 Control_L", "key_down ffe1 Shift_L",
                                                 "key_down 54 T", "key_up 54 T", "key_up ffe1 Shift_L",
                                                 "key_up ffe3 Control_L"}));
}

TEST_F(XdoExecutorTest, TypesUnicodeTextAndSubmits) {
  const std::string text = "Hi, 中文 é! 😀";
  run("type(content='" + text + "\\n')");
  // Rebuild the text from the keys that went down (modifiers carry no text).
  std::string typed;
  bool saw_return = false;
  for (int attempt = 0; attempt < 200 && !saw_return; ++attempt) {
    typed.clear();
    for (const auto& l : events(0)) {
      std::istringstream in(l);
      std::string kind, hex, name;
      in >> kind >> hex >> name;
      if (kind != "key_down") continue;
      const unsigned long sym = std::stoul(hex, nullptr, 16);
      if (sym == 0xff0d) saw_return = true;
      if (uint32_t cp = keysym_codepoint(sym)) append_utf8(typed, cp);
    }
    if (!saw_return) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(typed, text);
  EXPECT_TRUE(saw_return);
}

// Found by the Mousepad demo: libxdo typed "a\nb" as "ab".
TEST_F(XdoExecutorTest, RegressionNewlinesAndTabsInTextArePressed) {
  run("type(content='a\\nb\\tc')");
  std::vector<std::string> downs;
  for (const auto& l : events(12)) {
    if (l.rfind("key_down", 0) == 0) downs.push_back(l.substr(l.rfind(' ') + 1));
  }
  EXPECT_EQ(downs, (std::vector<std::string>{"a", "Return", "b", "Tab", "c"}));
}

TEST_F(XdoExecutorTest, RefusesPointsOutsideTheScreenAndMobileActions) {
  auto exec = executor();
  ASSERT_TRUE(exec);
  Action click;
  click.type = ActionType::kClick;
  click.start = Point{800, 10};
  ExecutionResult r = exec->execute(click);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("outside the 800x600 screen"), std::string::npos);
  Action home;
  home.type = ActionType::kPressHome;
  EXPECT_FALSE(exec->execute(home).ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(events(0).empty());  // nothing was sent
}
