// Top-level windows of an X display and their titles, for scenario setup
// ("wait for a window whose title matches") and checks.
#pragma once

#include <string>
#include <vector>

#include "vision/capture.h"

namespace deskpilot::vision {

struct WindowInfo {
  unsigned long id = 0;
  std::string title;  // _NET_WM_NAME (UTF-8), else WM_NAME
  Rect geometry;      // on the root window
  bool viewable = false;
};

// Mapped top-level windows with a title (the window manager's client list
// when there is one, else the root's children and their children), in
// stacking order. False and *error when the display cannot be opened.
bool list_windows(const std::string& display, std::vector<WindowInfo>* out, std::string* error);

// Raises the window and gives it the keyboard focus (there may be no window
// manager to do it on a private display).
bool activate_window(const std::string& display, unsigned long id, std::string* error);

}  // namespace deskpilot::vision
