// Screen-settle detection: after an action, wait until consecutive frames
// stop changing rather than sleeping a fixed time, and say how long it took.
#pragma once

#include <string>

#include "vision/capture.h"

namespace deskpilot::vision {

struct SettleOptions {
  double changed_fraction = 0.001;  // a frame is "the same" below this share of changed pixels
  int pixel_threshold = 8;          // per-channel difference that counts as a change (noise, cursor blink)
  int stable_frames = 2;            // consecutive unchanged comparisons that mean settled
  int interval_ms = 50;             // between grabs
  int timeout_ms = 3000;            // give up (settled = false) after this
};

struct SettleResult {
  bool settled = false;   // false: timed out while the screen kept changing, or a grab failed
  int waited_ms = 0;      // from the call to the decision
  int frames = 0;         // grabs taken
  double last_change = 0; // changed fraction in the last comparison
  std::string error;      // set when a grab failed
};

SettleResult wait_for_settle(ScreenSource& source, const SettleOptions& options = {});

// Share of pixels whose largest channel difference exceeds `pixel_threshold`.
double changed_fraction(const cv::Mat& a, const cv::Mat& b, int pixel_threshold);

}  // namespace deskpilot::vision
