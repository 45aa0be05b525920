// Runs the deskpilot binary (DESKPILOT_BIN) as users do: arguments, standard
// input, exit status and the output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

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

}  // namespace deskpilot::testing
