// Runs the deskpilot binary (DESKPILOT_BIN) as users do: arguments, standard
// input, exit status and the output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace deskpilot::testing {

struct CliRun {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs the binary with `args`, feeding `input` on stdin.
inline CliRun run_cli(const std::string& args, const std::string& input = "") {
  // One input file per test process: ctest runs tests in parallel.
  const std::string in_path = ::testing::TempDir() + "deskpilot_cli_input_" + std::to_string(getpid()) + ".txt";
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = std::string(DESKPILOT_BIN) + " " + args + " < " + in_path + " 2>&1";
  CliRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  int st = pclose(pipe);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct InterruptedRun {
  int status = -1;      // exit status; -1 when the binary did not exit by itself
  double seconds = 0;   // from the start to its exit
  std::string out;      // stdout and stderr together
};

// Runs the binary with `args` (no shell), presses Ctrl-C (SIGINT) after
// `after_ms` and waits for it to end.
inline InterruptedRun run_cli_interrupted(const std::vector<std::string>& args, int after_ms) {
  const std::string log = ::testing::TempDir() + "deskpilot_cli_interrupted_" + std::to_string(getpid()) + ".log";
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(log.c_str(), "w", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(127);
    std::vector<char*> argv{const_cast<char*>(DESKPILOT_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(DESKPILOT_BIN, argv.data());
    _exit(127);
  }
  InterruptedRun r;
  if (pid < 0) return r;
  std::this_thread::sleep_for(std::chrono::milliseconds(after_ms));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(log, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  r.out = text.str();
  return r;
}

}  // namespace deskpilot::testing
