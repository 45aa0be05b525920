// One desktop to act on, brought up and torn down in one place for
// `deskpilot run`, scenarios (and through them eval tasks) and eval miniwob:
// a private Xvfb or a display named explicitly, a scratch folder for the
// applications' temporary files, the applications launched on it, waiting
// for a window, screen capture, the libxdo executor behind the safety guard,
// and the trajectory. The destructor stops what was launched and every
// process carrying the session's tag (base/process.h: what the applications
// daemonized), closes the X clients, then the display (Xlib exits on a lost
// connection), and removes the scratch folder. The first session a process
// opens stops what a killed deskpilot left running.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "actions/executor_xdo.h"
#include "actions/safety.h"
#include "agent/trajectory.h"
#include "agent/xvfb.h"
#include "base/process.h"
#include "vision/capture.h"
#include "vision/x11_windows.h"

namespace deskpilot::agent {

struct DesktopOptions {
  std::string display;            // an existing display (":1"); empty: a private Xvfb of this size
  int width = 1280, height = 800;
  std::string scratch_prefix;     // non-empty: make a scratch folder PREFIX-PID-XXXXXX in $TMPDIR
  std::string trajectory_dir;     // non-empty: a fresh trajectory there (the folder is emptied first)
  actions::SafetyRules safety = actions::default_safety_rules();
  std::function<bool(const actions::Action&)> confirm;  // asked before each action; empty: no questions
};

class DesktopSession {
 public:
  // Brings the desktop up; nullptr and *error (what failed) when it cannot.
  static std::unique_ptr<DesktopSession> open(const DesktopOptions& options, std::string* error);
  ~DesktopSession();

  DesktopSession(const DesktopSession&) = delete;
  DesktopSession& operator=(const DesktopSession&) = delete;

  const std::string& display() const { return display_; }
  const std::string& scratch_dir() const { return scratch_; }  // "" without scratch_prefix
  // DESKPILOT_SESSION=tag() goes to every command the session starts; give
  // it to commands started otherwise (scenario setup and checks) too.
  const std::string& tag() const { return tag_; }
  int width() const { return capture_->area().width; }
  int height() const { return capture_->area().height; }

  // Starts `command` through /bin/sh in the background with DISPLAY (and
  // TMPDIR, with a scratch folder) set over `env`, its output in `log_path`;
  // stopped when the session ends, and so is what it daemonizes. The
  // process group, or -1 and *error.
  pid_t launch(const std::string& command, const base::Environment& env, const std::string& log_path,
               std::string* error, const std::string& cwd = "");

  // Polls (every 100 ms, up to timeout_s) for a window whose title matches;
  // with `activate` it must also take the focus (a private display has no
  // window manager to give it). The window, or nullopt and *error.
  std::optional<vision::WindowInfo> wait_for_window(const std::regex& title, double timeout_s, bool activate,
                                                    std::string* error);

  vision::ScreenSource& screen() { return *capture_; }
  actions::Executor& executor() { return *guarded_; }  // through the safety guard
  TrajectoryWriter* trajectory() { return trajectory_.get(); }  // null without trajectory_dir

  // The screen as it is now, as TRAJECTORY/final.png (nothing without a trajectory).
  void save_final_frame();

 private:
  DesktopSession() = default;

  std::unique_ptr<XvfbServer> xvfb_;
  std::string display_;
  std::string scratch_;
  std::string tag_;
  std::vector<pid_t> launched_;
  std::unique_ptr<vision::ScreenSource> capture_;
  std::unique_ptr<actions::XdoExecutor> xdo_;
  std::unique_ptr<actions::GuardedExecutor> guarded_;
  std::unique_ptr<TrajectoryWriter> trajectory_;
};

}  // namespace deskpilot::agent
