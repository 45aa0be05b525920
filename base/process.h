// Shell commands (scenario setup, checks and teardown, launched apps): through
// /bin/sh -c in their own process group (so that everything they started
// can be stopped), with extra environment variables.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

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

// Tags: what a process group cannot hold. A program that daemonizes
// (setsid, nohup ..., a double fork) leaves its group but keeps its
// environment, so every command a desktop session starts carries
// DESKPILOT_SESSION=TAG, and the session's end stops every process whose
// environment (/proc/PID/environ, as it was at exec) has it. A program that
// starts its children with an emptied environment escapes this.
inline constexpr const char* kSessionTagVariable = "DESKPILOT_SESSION";

// A new tag, unique on this machine: "PID.N.RANDOM" (PID: this process).
std::string new_session_tag();

// The processes (this one excluded) started with DESKPILOT_SESSION=tag.
std::vector<pid_t> tagged_processes(const std::string& tag);

// SIGTERM to every process tagged `tag`, SIGKILL after grace_ms to those
// still there. How many there were.
int stop_tagged_processes(const std::string& tag, int grace_ms = 1000);

// Processes left by a deskpilot that was killed (SIGKILL, a crash): tagged
// with the PID of a process that no longer runs. Stopped as above; how many.
int stop_orphaned_sessions(int grace_ms = 1000);

// True while a process with this PID runs (a zombie does not).
bool process_alive(pid_t pid);

}  // namespace deskpilot::base
