#include "agent/desktop_session.h"

#include <filesystem>
#include <mutex>

#include <opencv2/imgcodecs.hpp>

#include "base/clock.h"
#include "base/files.h"

namespace deskpilot::agent {

std::unique_ptr<DesktopSession> DesktopSession::open(const DesktopOptions& options, std::string* error) {
  // What a deskpilot killed before its teardown left running: looked for
  // once per process (it reads every process's environment), not per session.
  static std::once_flag swept;
  std::call_once(swept, [] { base::stop_orphaned_sessions(); });
  std::unique_ptr<DesktopSession> s(new DesktopSession());
  s->tag_ = base::new_session_tag();
  s->display_ = options.display;
  if (s->display_.empty()) {
    XvfbOptions x;
    x.width = options.width;
    x.height = options.height;
    s->xvfb_ = XvfbServer::start(x, error);
    if (!s->xvfb_) {
      *error = "cannot start the display: " + *error;
      return nullptr;
    }
    s->display_ = s->xvfb_->display();
  }
  if (!options.scratch_prefix.empty()) {
    s->scratch_ = base::make_scratch_dir(options.scratch_prefix, error);
    if (s->scratch_.empty()) return nullptr;
  }
  if (!options.trajectory_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(options.trajectory_dir, ec);
    s->trajectory_ = TrajectoryWriter::open(options.trajectory_dir, error);
    if (!s->trajectory_) return nullptr;
  }
  s->capture_ = vision::open_x11_capture({s->display_, {}, {}, true}, error);
  if (!s->capture_) return nullptr;
  actions::XdoOptions xo;
  xo.display = s->display_;
  xo.plan.screen = {s->capture_->area().width, s->capture_->area().height};
  s->xdo_ = actions::XdoExecutor::open(xo, error);
  if (!s->xdo_) return nullptr;
  actions::XdoExecutor* xdo = s->xdo_.get();
  s->guarded_ = std::make_unique<actions::GuardedExecutor>(*s->xdo_, options.safety, options.confirm,
                                                           [xdo] { return xdo->focused_window(); });
  return s;
}

DesktopSession::~DesktopSession() {
  for (pid_t p : launched_) base::stop_process_group(p);
  // What they daemonized (setsid, nohup, a double fork) left their groups
  // but kept the session's tag.
  base::stop_tagged_processes(tag_);
  // X clients close before their server goes.
  guarded_.reset();
  xdo_.reset();
  capture_.reset();
  xvfb_.reset();
  std::error_code ec;
  if (!scratch_.empty()) std::filesystem::remove_all(scratch_, ec);
}

pid_t DesktopSession::launch(const std::string& command, const base::Environment& env, const std::string& log_path,
                             std::string* error, const std::string& cwd) {
  base::Environment full = env;
  full["DISPLAY"] = display_;
  full[base::kSessionTagVariable] = tag_;
  if (!scratch_.empty()) full["TMPDIR"] = scratch_;
  const pid_t pid = base::spawn_command(command, full, log_path, error, cwd);
  if (pid > 0) launched_.push_back(pid);
  return pid;
}

std::optional<vision::WindowInfo> DesktopSession::wait_for_window(const std::regex& title, double timeout_s,
                                                                  bool activate, std::string* error) {
  std::optional<vision::WindowInfo> found;
  base::poll_until({timeout_s}, [&] {
    std::vector<vision::WindowInfo> windows;
    if (!vision::list_windows(display_, &windows, error)) return false;
    for (const auto& w : windows) {
      if (!std::regex_search(w.title, title)) continue;
      if (activate && !vision::activate_window(display_, w.id, error)) return false;
      found = w;
      return true;
    }
    *error = "no window matched within " + std::to_string(timeout_s) + " s (" + std::to_string(windows.size()) +
             " titled windows)";
    return false;
  });
  return found;
}

void DesktopSession::save_final_frame() {
  if (!trajectory_) return;
  cv::Mat frame;
  std::string error;
  if (capture_->grab(&frame, &error)) cv::imwrite(trajectory_->dir() + "/final.png", frame);
}

}  // namespace deskpilot::agent
