// A private X display: Xvfb started on a free display number and stopped
// with this object. deskpilot acts on one of these unless told --display.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace deskpilot::agent {

struct XvfbOptions {
  int width = 1920;
  int height = 1080;
  int depth = 24;
  int start_timeout_ms = 10000;  // Xvfb reports its display when ready
};

class XvfbServer {
 public:
  // Starts Xvfb with -displayfd, so the server itself picks a free display
  // number and says when it accepts connections. nullptr and *error on failure.
  static std::unique_ptr<XvfbServer> start(const XvfbOptions& options, std::string* error);
  ~XvfbServer();  // SIGTERM, then SIGKILL after a second (stop_process_group)

  XvfbServer(const XvfbServer&) = delete;
  XvfbServer& operator=(const XvfbServer&) = delete;

  const std::string& display() const { return display_; }  // ":N"
  pid_t pid() const { return pid_; }

 private:
  XvfbServer(pid_t pid, std::string display) : pid_(pid), display_(std::move(display)) {}
  pid_t pid_;
  std::string display_;
};

}  // namespace deskpilot::agent
