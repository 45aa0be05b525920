#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

namespace deskpilot::base {
namespace {

// In the child: own process group, die with the parent, env, cwd, then sh -c.
[[noreturn]] void exec_shell(const std::string& command, const Environment& env, const std::string& cwd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
  execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

bool reaped(pid_t pid, int* status) {
  const pid_t r = waitpid(pid, status, WNOHANG);
  return r == pid || r < 0;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

CommandResult run_command(const std::string& command, const Environment& env, int timeout_ms,
                          const std::string& cwd) {
  CommandResult r;
  int fds[2];
  if (pipe(fds) != 0) {
    r.error = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    exec_shell(command, env, cwd);
  }
  setpgid(pid, pid);  // also in the parent: no race with the child's own call
  close(fds[1]);
  r.started = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  bool open_pipe = true;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    if (open_pipe) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 50))) > 0) {
        char buf[4096];
        const ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
          if (r.output.size() < (1 << 20)) r.output.append(buf, static_cast<size_t>(n));
          continue;
        }
        open_pipe = false;  // EOF (background children may still hold it: then we wait below)
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reaped(pid, &status)) {
      // Drain what is left without blocking.
      fcntl(fds[0], F_SETFL, O_NONBLOCK);
      char buf[4096];
      ssize_t n;
      while ((n = read(fds[0], buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
      close(fds[0]);
      r.exit_status = exit_code(status);
      return r;
    }
  }
  close(fds[0]);
  stop_process_group(pid, 200);
  r.exit_status = -1;
  return r;
}

pid_t spawn_command(const std::string& command, const Environment& env, const std::string& log_path,
                    std::string* error, const std::string& cwd) {
  const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    *error = log_path + ": " + std::strerror(errno);
    return -1;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(log);
    return -1;
  }
  if (pid == 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    exec_shell(command, env, cwd);
  }
  setpgid(pid, pid);
  close(log);
  return pid;
}

void stop_process_group(pid_t pgid, int grace_ms) {
  if (pgid <= 0) return;
  kill(-pgid, SIGTERM);
  int status = 0;
  for (int waited = 0; waited < grace_ms; waited += 10) {
    if (reaped(pgid, &status) && kill(-pgid, 0) != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pgid, SIGKILL);
  waitpid(pgid, &status, 0);
}

bool process_alive(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return false;
  // A zombie has ended; it only waits for a parent to reap it.
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');  // "PID (name) STATE ...", the name may hold spaces
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'Z';
}

std::string new_session_tag() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(getpid()) + "." + std::to_string(++counter) + "." + std::to_string(rd() % 1000000);
}

namespace {

// Every process of ours whose start-up environment has DESKPILOT_SESSION=
// a value that `wanted` accepts.
template <typename Wanted>
std::vector<pid_t> processes_tagged(Wanted&& wanted) {
  std::vector<pid_t> out;
  const std::string key = std::string(kSessionTagVariable) + "=";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == getpid()) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);  // unreadable: not ours
    if (!in) continue;
    const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t at = 0; at < env.size();) {
      const size_t end = std::min(env.find('\0', at), env.size());
      if (env.compare(at, key.size(), key) == 0 && wanted(env.substr(at + key.size(), end - at - key.size()))) {
        out.push_back(pid);
        break;
      }
      at = end + 1;
    }
  }
  return out;
}

int stop_all(const std::vector<pid_t>& pids, int grace_ms) {
  for (pid_t p : pids) kill(p, SIGTERM);
  for (int waited = 0; waited < grace_ms; waited += 10) {
    bool any = false;
    for (pid_t p : pids) {
      int status;
      waitpid(p, &status, WNOHANG);  // our own children: reaped; others: ECHILD
      any = any || process_alive(p);
    }
    if (!any) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (pid_t p : pids) {
    if (kill(p, SIGKILL) == 0) {
      int status;
      waitpid(p, &status, WNOHANG);
    }
  }
  return static_cast<int>(pids.size());
}

}  // namespace

std::vector<pid_t> tagged_processes(const std::string& tag) {
  return processes_tagged([&](const std::string& value) { return value == tag; });
}

int stop_tagged_processes(const std::string& tag, int grace_ms) {
  if (tag.empty()) return 0;
  return stop_all(tagged_processes(tag), grace_ms);
}

int stop_orphaned_sessions(int grace_ms) {
  return stop_all(processes_tagged([](const std::string& value) {
                    const size_t dot = value.find('.');
                    if (dot == 0 || dot == std::string::npos || value.find_first_not_of("0123456789") != dot) return false;
                    const long owner = std::stol(value.substr(0, dot));
                    return owner != getpid() && !process_alive(static_cast<pid_t>(owner));
                  }),
                  grace_ms);
}

}  // namespace deskpilot::base
