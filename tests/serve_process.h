// `deskpilot serve --port 0` in the background for a test (DESKPILOT_BIN):
// the port and model name from its first line; SIGTERM when it goes.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace deskpilot::testing {

class ServeProcess {
 public:
  explicit ServeProcess(const std::string& model) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      execl(DESKPILOT_BIN, DESKPILOT_BIN, "serve", "--model", model.c_str(), "--port", "0", "--quiet",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    std::string line;
    char c;
    while (read(fds[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(fds[0]);
    const size_t colon = line.rfind(':'), slash = line.rfind("/v1");
    if (colon != std::string::npos && slash != std::string::npos && slash > colon)
      port_ = std::stoi(line.substr(colon + 1, slash - colon - 1));
    const std::string head = "deskpilot serve: ";
    if (line.rfind(head, 0) == 0) name_ = line.substr(head.size(), line.find(" on ") - head.size());
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  int port() const { return port_; }
  const std::string& name() const { return name_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string name_;
};

}  // namespace deskpilot::testing
