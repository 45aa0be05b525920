#include "vision/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace deskpilot::vision {

RgbImage rgb_from_bgr(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  return RgbImage{rgb.cols, rgb.rows, std::vector<uint8_t>(rgb.data, rgb.data + rgb.total() * 3)};
}

std::optional<RgbImage> read_rgb_image(const std::string& path, std::string* error) {
  const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    if (error) *error = path + ": cannot read the image (PNG or JPEG expected)";
    return std::nullopt;
  }
  return rgb_from_bgr(bgr);
}

}  // namespace deskpilot::vision
