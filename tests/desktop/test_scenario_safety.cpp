// Safety around scenarios: the deny list, --confirm, Ctrl-C, and acting on an
// existing display only when it is named.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "base/process.h"
#include "scenario/runner.h"
#include "agent/xvfb.h"
#include "tests/cli_runner.h"

using namespace deskpilot::agent;
using namespace deskpilot::scenario;
namespace fs = std::filesystem;

namespace {

struct Dir {
  std::string path = ::testing::TempDir() + "deskpilot_safety_" + std::to_string(getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& body) const {
    std::ofstream(path + "/" + name) << body;
    return path + "/" + name;
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int run_cli(const std::string& args, const std::string& log, const std::string& stdin_text = "") {
  const std::string in = log + ".stdin";
  std::ofstream(in) << stdin_text;
  const int rc = std::system((std::string(DESKPILOT_BIN) + " " + args + " < " + in + " > " + log + " 2>&1").c_str());
  return WEXITSTATUS(rc);
}

}  // namespace

TEST(ScenarioSafety, DenyListBlocksTheStepAndSaysWhy) {
  Dir d;
  const std::string file = d.write("deny.json", R"J({"screen": {"width": 640, "height": 480},
    "steps": ["type(content='sudo rm -rf / --no-preserve-root\\n')"]})J");
  std::string error;
  auto s = load_scenario(file, &error);
  ASSERT_TRUE(s) << error;
  RunOptions o;
  o.out_dir = d.path + "/out";
  ScenarioResult r = run_scenario(*s, o);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.error.find("blocked by the deny list: the typed line contains 'rm -rf /'"), std::string::npos) << r.error;
  const std::string traj = slurp(r.out_dir + "/trajectory/trajectory.jsonl");
  EXPECT_NE(traj.find("\"result\":\"error\""), std::string::npos);
  EXPECT_NE(traj.find("\"events\":[]"), std::string::npos);  // nothing was sent
}

TEST(ScenarioSafety, ConfirmAsksBeforeEachAction) {
  Dir d;
  const std::string file = d.write("confirm.json", R"J({"screen": {"width": 640, "height": 480},
    "steps": ["click(start_box='(10,10)')", "click(start_box='(20,20)')"]})J");
  const std::string log = d.path + "/log";
  EXPECT_EQ(run_cli("scenario run --confirm --out " + d.path + "/out " + file, log, "y\nn\n"), 1);
  const std::string out = slurp(log);
  EXPECT_NE(out.find("click(start_box='(10,10)') ? [y/N]"), std::string::npos) << out;
  EXPECT_NE(out.find("$.steps[1]: click(start_box='(20,20)'): not confirmed"), std::string::npos) << out;
}

TEST(ScenarioSafety, CtrlCStopsAfterTheCurrentStepAndKeepsTheTrajectory) {
  Dir d;
  const std::string file = d.write("long.json", R"J({"name": "long", "screen": {"width": 640, "height": 480},
    "steps": ["wait(time='1')", "wait(time='1')", "wait(time='1')", "wait(time='1')", "wait(time='1')",
              "wait(time='1')", "wait(time='1')", "wait(time='1')"],
    "teardown": [{"run": "touch \"$WORK/teardown_ran\""}]})J");
  const auto r = deskpilot::testing::run_cli_interrupted({"scenario", "run", "--out", d.path + "/out", file}, 2500);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_LT(r.seconds, 6.0);  // not the full 8 s
  EXPECT_NE(r.out.find("stopped by the user (Ctrl-C)"), std::string::npos) << r.out;
  const std::string traj = slurp(d.path + "/out/long/trajectory/trajectory.jsonl");
  EXPECT_GE(std::count(traj.begin(), traj.end(), '\n'), 2);
  EXPECT_TRUE(fs::exists(d.path + "/out/long/work/teardown_ran"));
}

TEST(ScenarioSafety, AnExistingDisplayOnlyWhenNamed) {
  Dir d;
  XvfbOptions x;
  x.width = 800;
  x.height = 600;
  std::string error;
  auto server = XvfbServer::start(x, &error);
  ASSERT_TRUE(server) << error;
  const std::string file = d.write("existing.json", R"J({"name": "existing",
    "setup": [{"run": "echo \"$DISPLAY\" > \"$WORK/display.txt\""}],
    "steps": ["click(start_box='(790,590)')"],
    "checks": [{"file_exists": "$WORK/display.txt"}]})J");
  const std::string log = d.path + "/log";
  EXPECT_EQ(run_cli("scenario run --display " + server->display() + " --out " + d.path + "/out " + file, log), 0)
      << slurp(log);
  EXPECT_EQ(slurp(d.path + "/out/existing/work/display.txt"), server->display() + "\n");
  // Without --display the scenario gets a private display, not this one.
  EXPECT_EQ(run_cli("scenario run --out " + d.path + "/out2 " + file, log), 0) << slurp(log);
  EXPECT_NE(slurp(d.path + "/out2/existing/work/display.txt"), server->display() + "\n");
  EXPECT_EQ(run_cli("scenario run -j 2 --display " + server->display() + " " + file, log), 2);
  EXPECT_NE(slurp(log).find("--display runs scenarios one at a time"), std::string::npos);
}

TEST(ScenarioRun, ADisplayThatCannotStartIsNamed) {
  Dir d;
  const std::string file = d.write("nodisplay.json", R"J({"name": "nodisplay", "steps": ["wait()"]})J");
  const std::string log = d.path + "/log";
  // No Xvfb on the PATH: the scenario fails with the reason, the run goes on.
  const std::string cmd = "env PATH=/nonexistent " + std::string(DESKPILOT_BIN) + " scenario run --out " + d.path +
                          "/out " + file + " > " + log + " 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 1);
  EXPECT_NE(slurp(log).find("cannot start the display: cannot run Xvfb: is it installed?"), std::string::npos)
      << slurp(log);
}

namespace {

bool running(pid_t pid) { return deskpilot::base::process_alive(pid); }

pid_t pid_in(const std::string& file) {
  pid_t pid = 0;
  std::ifstream(file) >> pid;
  return pid;
}

}  // namespace

// Issue 18: a check's own timeout_s was ignored (30 s for every command),
// teardown had 30 s beyond the scenario's limit, and what an application
// daemonized outlived the scenario.
TEST(ScenarioLimits, ChecksAndTeardownKeepTheTimeAndNothingOutlivesTheScenario) {
  Dir d;
  const std::string file = d.write("limits.json", R"J({"screen": {"width": 640, "height": 480}, "timeout_s": 1.5,
    "setup": [{"run": "setsid sh -c 'sleep 777 & echo $! > $WORK/a'", "background": true},
              {"run": "nohup sleep 776 >/dev/null 2>&1 & echo $! > $WORK/b"},
              {"run": "setsid -f sh -c 'echo $$ > $WORK/c; exec sleep 775'"},
              {"run": "sleep 0.3"}],
    "checks": [{"command": "sleep 1000", "timeout_s": 0.5}],
    "teardown": [{"run": "sleep 1000"}]})J");
  std::string error;
  auto s = load_scenario(file, &error);
  ASSERT_TRUE(s) << error;
  RunOptions o;
  o.out_dir = d.path + "/out";
  const ScenarioResult r = run_scenario(*s, o);
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_LT(r.checks[0].seconds, 1.5);  // its own 0.5 s, not 30
  EXPECT_NE(r.checks[0].error.find("did not finish within"), std::string::npos) << r.checks[0].error;
  ASSERT_EQ(r.teardown.size(), 1u);
  EXPECT_NE(r.teardown[0].error.find("did not finish within"), std::string::npos) << r.teardown[0].error;
  EXPECT_LT(r.seconds, 1.5 + 5 + 3);  // the limit, the teardown grace, stopping the applications
  const std::string work = r.out_dir + "/work/";
  for (const char* name : {"a", "b", "c"}) {
    const pid_t pid = pid_in(work + name);
    EXPECT_GT(pid, 0) << name;
    EXPECT_FALSE(running(pid)) << name << " (pid " << pid << ") outlived the scenario";
  }
}
