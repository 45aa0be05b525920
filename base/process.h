// Shell commands (scenario setup, checks and teardown, launched apps): through
// /bin/sh -c in their own process group (so that everything they started
// can be stopped), with extra environment variables.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

namespace deskpilot::base {

using Environment = std::map<std::string, std::string>;

struct CommandResult {
  bool started = false;
  bool timed_out = false;
  int exit_status = -1;  // 128 + signal when killed
  std::string output;    // stdout and stderr together (foreground commands)
  std::string error;     // why it could not be started
};

// Runs `command` to completion (or kills its group after timeout_ms).
CommandResult run_command(const std::string& command, const Environment& env, int timeout_ms,
                          const std::string& cwd = "");

// Starts `command` in the background; its output goes to `log_path`.
// Returns the process group id, or -1 and *error.
pid_t spawn_command(const std::string& command, const Environment& env, const std::string& log_path,
                    std::string* error, const std::string& cwd = "");

// SIGTERM to the group, SIGKILL after grace_ms if still alive; reaps the leader.
void stop_process_group(pid_t pgid, int grace_ms = 1000);

}  // namespace deskpilot::base
