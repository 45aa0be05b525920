#include "agent/xvfb.h"

#include "base/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace deskpilot::agent {

std::unique_ptr<XvfbServer> XvfbServer::start(const XvfbOptions& o, std::string* error) {
  int fds[2];
  if (pipe(fds) != 0) {
    *error = std::string("Xvfb: pipe: ") + std::strerror(errno);
    return nullptr;
  }
  const std::string screen = std::to_string(o.width) + "x" + std::to_string(o.height) + "x" +
                             std::to_string(o.depth);
  const std::string fd_text = std::to_string(fds[1]);
  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("Xvfb: fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return nullptr;
  }
  if (pid == 0) {
    // Child: its own process group (stopped as one), no stray servers if
    // deskpilot dies, quiet.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    close(fds[0]);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, STDIN_FILENO);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    execlp("Xvfb", "Xvfb", "-displayfd", fd_text.c_str(), "-screen", "0", screen.c_str(), "-nolisten",
           "tcp", "-noreset", static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  close(fds[1]);
  // Xvfb writes "N\n" to the pipe once it accepts connections.
  std::string number;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.start_timeout_ms);
  bool done = false;
  while (!done) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[16];
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // EOF: Xvfb exited (or could not be run)
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') done = true;
      else if (buf[i] >= '0' && buf[i] <= '9') number.push_back(buf[i]);
    }
  }
  close(fds[0]);
  if (!done || number.empty()) {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      *error = "cannot run Xvfb: is it installed? (Debian: apt-get install xvfb)";
    } else {
      *error = "Xvfb " + screen + " did not start within " + std::to_string(o.start_timeout_ms) + " ms";
    }
    return nullptr;
  }
  return std::unique_ptr<XvfbServer>(new XvfbServer(pid, ":" + number));
}

XvfbServer::~XvfbServer() { base::stop_process_group(pid_); }

}  // namespace deskpilot::agent
