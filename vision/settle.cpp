#include "vision/settle.h"

#include <chrono>
#include <thread>

#include <opencv2/core.hpp>

namespace deskpilot::vision {

double changed_fraction(const cv::Mat& a, const cv::Mat& b, int pixel_threshold) {
  if (a.size() != b.size() || a.type() != b.type()) return 1.0;
  if (a.empty()) return 0.0;
  cv::Mat diff;
  cv::absdiff(a, b, diff);  // (rows, cols, 3)
  cv::Mat max_channel = diff.reshape(1, static_cast<int>(diff.total()));  // (pixels, 3)
  cv::reduce(max_channel, max_channel, 1, cv::REDUCE_MAX);                 // (pixels, 1)
  const int changed = cv::countNonZero(max_channel > pixel_threshold);
  return static_cast<double>(changed) / static_cast<double>(a.total());
}

SettleResult wait_for_settle(ScreenSource& source, const SettleOptions& o) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto elapsed_ms = [&] {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count());
  };
  SettleResult r;
  cv::Mat previous;
  int stable = 0;
  while (true) {
    cv::Mat frame;
    if (!source.grab(&frame, &r.error)) break;
    ++r.frames;
    if (!previous.empty()) {
      r.last_change = changed_fraction(previous, frame, o.pixel_threshold);
      stable = r.last_change < o.changed_fraction ? stable + 1 : 0;
    }
    previous = frame;
    if (stable >= o.stable_frames) {
      r.settled = true;
      break;
    }
    if (elapsed_ms() + o.interval_ms > o.timeout_ms) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
  }
  r.waited_ms = elapsed_ms();
  return r;
}

}  // namespace deskpilot::vision
