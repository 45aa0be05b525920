// Finding a template image on the screen (OpenCV normalised cross-correlation),
// for scenario targets and checks.
#pragma once

#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "vision/capture.h"

namespace deskpilot::vision {

struct TemplateMatch {
  Rect box;          // where the best match is, in frame pixels
  double score = 0;  // TM_CCOEFF_NORMED, 1 = identical
};

// The best match of `templ` in `frame` (both BGR), or nullopt when the
// template is larger than the frame. The caller compares score to its threshold.
std::optional<TemplateMatch> find_template(const cv::Mat& frame, const cv::Mat& templ);

}  // namespace deskpilot::vision
