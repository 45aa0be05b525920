// Screen sources: where screenshots come from. The live one reads an X11
// display (MIT-SHM into a reused segment, XGetImage where SHM is missing);
// the file one replays PNG/JPEG files for offline runs and tests. Both give
// 8-bit BGR cv::Mat frames. X11 headers stay inside capture_x11.cpp: their
// macros (Status, None, Bool...) break OpenCV and the standard library.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

namespace deskpilot::vision {

struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const Rect&, const Rect&) = default;
};

class ScreenSource {
 public:
  virtual ~ScreenSource() = default;
  // One frame, BGR, CV_8UC3, of size area(). False and *error on failure.
  virtual bool grab(cv::Mat* bgr, std::string* error) = 0;
  // What this source captures, in screen coordinates.
  virtual Rect area() const = 0;
  // "x11-shm", "x11-getimage", "file".
  virtual std::string method() const = 0;
};

struct X11CaptureOptions {
  std::string display;         // ":1"; empty means $DISPLAY
  std::optional<int> monitor;  // XRandR monitor index (0-based), or the whole screen
  std::optional<Rect> region;  // a region of the screen (exclusive with monitor)
  bool use_shm = true;         // false forces XGetImage (benchmarks, tests)
};

// nullptr and *error (naming the display, monitor or region) on failure.
std::unique_ptr<ScreenSource> open_x11_capture(const X11CaptureOptions& options, std::string* error);

// A PNG/JPEG file (every grab returns it) or a folder (its images in name
// order, one per grab, the last one repeated).
std::unique_ptr<ScreenSource> open_file_source(const std::string& path, std::string* error);

// "X,Y,W,H" -> Rect; nullopt for anything else or a non-positive size.
std::optional<Rect> parse_rect(const std::string& text);

}  // namespace deskpilot::vision
