// Processes that leave their group (setsid, nohup, a double fork) are still
// found by their session tag and stopped; what a killed deskpilot left
// (tagged processes, scratch folders) is cleaned up by the next one.
#include "base/process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/clock.h"
#include "base/files.h"

namespace deskpilot::base {
namespace {

bool running(pid_t pid) { return process_alive(pid); }

pid_t read_pid(const std::string& file) {
  pid_t pid = 0;
  poll_until({5}, [&] {
    std::ifstream in(file);
    return static_cast<bool>(in >> pid);
  });
  return pid;
}

// A PID that no longer runs.
pid_t dead_pid() {
  const pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST(Process, DaemonizedProcessesAreFoundByTheirTagAndStopped) {
  const std::string dir = ::testing::TempDir() + "deskpilot_tag_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string tag = new_session_tag();
  std::string error;
  // A background app that starts two processes outside its group: one in a
  // new session under a shell that exits, one forked by setsid -f under nohup.
  const pid_t group = spawn_command("setsid sh -c 'sleep 777 & echo $! > " + dir + "/a'; "
                                    "nohup setsid -f sh -c 'echo $$ > " + dir + "/b; exec sleep 778' >/dev/null 2>&1",
                                    {{kSessionTagVariable, tag}}, dir + "/log", &error);
  ASSERT_GT(group, 0) << error;
  const pid_t a = read_pid(dir + "/a"), b = read_pid(dir + "/b");
  ASSERT_TRUE(running(a) && running(b));
  stop_process_group(group, 200);
  EXPECT_TRUE(running(a) && running(b));  // the group alone does not reach them
  EXPECT_EQ(tagged_processes("other-tag"), std::vector<pid_t>{});
  EXPECT_GE(stop_tagged_processes(tag, 500), 2);
  poll_until({3}, [&] { return !running(a) && !running(b); });
  EXPECT_FALSE(running(a));
  EXPECT_FALSE(running(b));
  std::filesystem::remove_all(dir);
}

TEST(Process, WhatAKilledSessionLeftIsStoppedAndRemovedNextTime) {
  const pid_t dead = dead_pid();
  std::string error;
  const pid_t left = spawn_command("exec sleep 779", {{kSessionTagVariable, std::to_string(dead) + ".1.1"}},
                                   "/dev/null", &error);
  ASSERT_GT(left, 0) << error;
  const pid_t mine = spawn_command("exec sleep 780", {{kSessionTagVariable, std::to_string(getpid()) + ".9.9"}},
                                   "/dev/null", &error);
  poll_until({3}, [&] { return !tagged_processes(std::to_string(dead) + ".1.1").empty(); });
  EXPECT_GE(stop_orphaned_sessions(500), 1);
  EXPECT_FALSE(running(left));
  EXPECT_TRUE(running(mine));  // a live owner's processes stay
  stop_process_group(mine, 200);

  // Scratch folders: a dead owner's go, a live one's stay.
  const std::string tmp = std::filesystem::temp_directory_path().string();
  const std::string orphan = tmp + "/deskpilot-proctest-" + std::to_string(dead) + "-abcdef";
  const std::string alive = tmp + "/deskpilot-proctest-" + std::to_string(getppid()) + "-abcdef";
  std::filesystem::create_directories(orphan + "/inside");
  std::filesystem::create_directories(alive);
  const std::string fresh = make_scratch_dir("deskpilot-proctest", &error);
  ASSERT_FALSE(fresh.empty()) << error;
  EXPECT_NE(fresh.find("deskpilot-proctest-" + std::to_string(getpid()) + "-"), std::string::npos) << fresh;
  EXPECT_FALSE(std::filesystem::exists(orphan));
  EXPECT_TRUE(std::filesystem::exists(alive));
  std::filesystem::remove_all(fresh);
  std::filesystem::remove_all(alive);
}

TEST(Files, NotARegularReadableFileIsSaidPlainly) {
  std::string out, error;
  EXPECT_FALSE(read_file("/tmp", &out, &error));
  EXPECT_EQ(error, "/tmp: cannot open: it is a directory, not a file");
  EXPECT_FALSE(read_file("/nonexistent/x", &out, &error));
  EXPECT_EQ(error, "/nonexistent/x: cannot open: no such file");
  EXPECT_FALSE(read_file("/dev/null/x", &out, &error));
  EXPECT_NE(error.find("/dev/null/x: cannot open: "), std::string::npos);
  EXPECT_EQ(unreadable_file_reason("/proc/self/status"), "");
  EXPECT_EQ(unreadable_file_reason("/dev/null"), "/dev/null: cannot open: not a regular file");
}

}  // namespace
}  // namespace deskpilot::base
