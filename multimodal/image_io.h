// Images as the model preprocessing takes them: 8-bit RGB, from OpenCV's
// BGR frames (captures) or from PNG/JPEG files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "multimodal/preprocess.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::multimodal {

// An 8-bit BGR (3-channel) frame as RGB.
RgbImage rgb_from_bgr(const cv::Mat& bgr);

// A PNG or JPEG file as RGB; nullopt and *error naming the file.
std::optional<RgbImage> read_rgb_image(const std::string& path, std::string* error);

// The width and height a PNG or JPEG says it has, read from its header
// without decoding (to refuse huge images before allocating them); nullopt
// for anything else.
std::optional<Size> image_header_size(std::string_view bytes);

// A PNG or JPEG in memory as RGB, refused (nullopt, *error) when it is
// neither, claims more than max_pixels, or does not decode.
std::optional<RgbImage> decode_rgb_image(std::string_view bytes, int64_t max_pixels, std::string* error);

}  // namespace deskpilot::multimodal
