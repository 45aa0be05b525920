// The deny list through the real libxdo executor into a real xterm (issue
// 18's table of bypasses): the xterm runs `cat > FILE`, so every line that
// reached it with an Enter ends up in FILE. Refused actions send nothing;
// allowed ones arrive; a command split over two actions and a chord built
// from press() steps are refused too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <thread>

#include "agent/desktop_session.h"
#include "base/clock.h"
#include "tests/actions/action_util.h"

using namespace deskpilot;
using deskpilot::testing::one;
using deskpilot::testing::typed;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What got past the old literal deny list into an xterm.
const char* const kBypasses[] = {
    "rm -r -f /",         "rm -rf --no-preserve-root /", "r''m -rf /",         "r\\m -rf /",
    "\"rm\" -rf /",       "rm${IFS}-rf${IFS}/",          "rm -rf $HOME",       "find / -delete",
    "shred -u /dev/sda",  "dd of=/dev/sda if=/dev/zero", "s\\hutdown -h now",  "init 0",
    "chmod 777 -R /",     "f(){ f|f& };f",               "echo x>/dev/sda",    "echo cm0gLXJmIC8K | base64 -d | sh",
};

}  // namespace

TEST(DenyListXterm, BypassesAreRefusedBeforeAKeyReachesTheTerminal) {
  const std::string dir = ::testing::TempDir() + "deskpilot_deny_xterm_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/typed.txt";
  std::string error;
  agent::DesktopOptions o;
  o.width = 800;
  o.height = 600;
  auto session = agent::DesktopSession::open(o, &error);
  ASSERT_TRUE(session) << error;
  ASSERT_GT(session->launch("exec xterm -T denytest -geometry 80x10+0+0 -e sh -c 'exec cat > " + file + "'", {},
                            dir + "/xterm.log", &error),
            0)
      << error;
  ASSERT_TRUE(session->wait_for_window(std::regex("^denytest$"), 20, true, &error)) << error;
  actions::Executor& exec = session->executor();

  ASSERT_TRUE(exec.execute(typed("echo safe", true)).ok);
  for (const char* line : kBypasses) {
    const actions::ExecutionResult r = exec.execute(typed(line, true));
    EXPECT_FALSE(r.ok) << "reached the xterm: " << line;
    EXPECT_NE(r.error.find("blocked by the deny list"), std::string::npos) << line << ": " << r.error;
    EXPECT_TRUE(r.events.empty()) << line;
  }
  // Split over two actions: the first half is typed, the second refused.
  EXPECT_TRUE(exec.execute(typed("rm -rf", false)).ok);
  EXPECT_FALSE(exec.execute(typed(" /", true)).ok);
  EXPECT_TRUE(exec.execute(one("hotkey(key='ctrl u')")).ok);  // the terminal's line kill
  // Chords: with an extra modifier, and assembled from presses.
  EXPECT_FALSE(exec.execute(one("hotkey(key='ctrl alt shift backspace')")).ok);
  EXPECT_TRUE(exec.execute(one("press(key='ctrl')")).ok);
  EXPECT_TRUE(exec.execute(one("press(key='alt')")).ok);
  EXPECT_FALSE(exec.execute(one("press(key='backspace')")).ok);
  EXPECT_TRUE(exec.execute(one("release(key='alt')")).ok);
  EXPECT_TRUE(exec.execute(one("release(key='ctrl')")).ok);
  // An allowed line after all that, then the end of cat's input.
  ASSERT_TRUE(exec.execute(typed("echo done", true)).ok);
  ASSERT_TRUE(exec.execute(one("hotkey(key='ctrl d')")).ok);

  std::string text;
  base::poll_until({10}, [&] {
    text = slurp(file);
    return text.find("echo done\n") != std::string::npos;
  });
  EXPECT_EQ(text, "echo safe\necho done\n");
  session.reset();
  std::filesystem::remove_all(dir);
}
