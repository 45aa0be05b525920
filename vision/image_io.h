// Images as the model preprocessing takes them: 8-bit RGB, from OpenCV's
// BGR frames (captures) or from PNG/JPEG files.
#pragma once

#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "vision/preprocess.h"

namespace deskpilot::vision {

// An 8-bit BGR (3-channel) frame as RGB.
RgbImage rgb_from_bgr(const cv::Mat& bgr);

// A PNG or JPEG file as RGB; nullopt and *error naming the file.
std::optional<RgbImage> read_rgb_image(const std::string& path, std::string* error);

}  // namespace deskpilot::vision
