#include "multimodal/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace deskpilot::multimodal {

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

std::optional<Size> image_header_size(std::string_view b) {
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[i])); };
  if (b.size() >= 24 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8) && b.substr(12, 4) == "IHDR") {
    const uint32_t w = (byte(16) << 24) | (byte(17) << 16) | (byte(18) << 8) | byte(19);
    const uint32_t h = (byte(20) << 24) | (byte(21) << 16) | (byte(22) << 8) | byte(23);
    return Size{w, h};
  }
  if (b.size() >= 4 && byte(0) == 0xff && byte(1) == 0xd8) {
    size_t i = 2;
    while (i + 9 < b.size()) {
      if (byte(i) != 0xff) return std::nullopt;
      const uint32_t marker = byte(i + 1);
      if (marker == 0xff) {  // fill byte
        ++i;
        continue;
      }
      const uint32_t length = (byte(i + 2) << 8) | byte(i + 3);
      const bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
      if (sof) return Size{(byte(i + 7) << 8) | byte(i + 8), (byte(i + 5) << 8) | byte(i + 6)};
      if (length < 2) return std::nullopt;
      i += 2 + length;
    }
  }
  return std::nullopt;
}

std::optional<RgbImage> decode_rgb_image(std::string_view bytes, int64_t max_pixels, std::string* error) {
  const auto size = image_header_size(bytes);
  if (!size) {
    *error = "not a PNG or JPEG image";
    return std::nullopt;
  }
  if (size->width <= 0 || size->height <= 0 || size->width * size->height > max_pixels) {
    *error = "the image is " + std::to_string(size->width) + "x" + std::to_string(size->height) + ", over the limit of " +
             std::to_string(max_pixels) + " pixels";
    return std::nullopt;
  }
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  const cv::Mat bgr = cv::imdecode(raw, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    *error = "the image does not decode";
    return std::nullopt;
  }
  return rgb_from_bgr(bgr);
}

}  // namespace deskpilot::multimodal
