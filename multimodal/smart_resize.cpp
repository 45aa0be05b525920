#include "multimodal/smart_resize.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace deskpilot::multimodal {
namespace {

// Python's round() on a float: round half to even. std::nearbyint follows the
// current rounding mode, which is round-to-nearest-even unless someone changed
// it; we do not rely on that and round explicitly.
int64_t round_half_even(double v) {
  double floor_v = std::floor(v);
  double diff = v - floor_v;
  if (diff > 0.5) return static_cast<int64_t>(floor_v) + 1;
  if (diff < 0.5) return static_cast<int64_t>(floor_v);
  int64_t f = static_cast<int64_t>(floor_v);
  return (f % 2 == 0) ? f : f + 1;
}

int64_t round_by_factor(int64_t number, int64_t factor) {
  return round_half_even(static_cast<double>(number) / static_cast<double>(factor)) * factor;
}
int64_t ceil_by_factor(double number, int64_t factor) {
  return static_cast<int64_t>(std::ceil(number / static_cast<double>(factor))) * factor;
}
int64_t floor_by_factor(double number, int64_t factor) {
  return static_cast<int64_t>(std::floor(number / static_cast<double>(factor))) * factor;
}

}  // namespace

SmartResizeResult smart_resize(Size image, const SmartResizeParams& p) {
  SmartResizeResult out;
  if (image.width <= 0 || image.height <= 0) {
    out.error = "image size must be positive, got " + std::to_string(image.width) + "x" +
                std::to_string(image.height);
    return out;
  }
  if (p.factor <= 0 || p.min_pixels < 0 || p.max_pixels <= 0 || p.min_pixels > p.max_pixels) {
    out.error = "invalid smart_resize parameters (factor " + std::to_string(p.factor) +
                ", min_pixels " + std::to_string(p.min_pixels) + ", max_pixels " +
                std::to_string(p.max_pixels) + ")";
    return out;
  }
  const double h = static_cast<double>(image.height);
  const double w = static_cast<double>(image.width);
  const double ratio = std::max(h, w) / std::min(h, w);
  if (ratio > p.max_aspect_ratio) {
    out.error = "absolute aspect ratio must be at most " + std::to_string(p.max_aspect_ratio) +
                ", got " + std::to_string(ratio) + " for " + std::to_string(image.width) + "x" +
                std::to_string(image.height);
    return out;
  }
  int64_t h_bar = std::max(p.factor, round_by_factor(image.height, p.factor));
  int64_t w_bar = std::max(p.factor, round_by_factor(image.width, p.factor));
  // The operation order below mirrors the reference so that every double is
  // bit-identical: beta = sqrt((h * w) / max_pixels), then h / beta.
  const double pixels = static_cast<double>(image.height * image.width);
  if (h_bar * w_bar > p.max_pixels) {
    const double beta = std::sqrt(pixels / static_cast<double>(p.max_pixels));
    // transformers clamps to at least one factor; ui-tars does not, but it
    // only differs where ui-tars would return a zero side.
    h_bar = std::max(p.factor, floor_by_factor(h / beta, p.factor));
    w_bar = std::max(p.factor, floor_by_factor(w / beta, p.factor));
  } else if (h_bar * w_bar < p.min_pixels) {
    const double beta = std::sqrt(static_cast<double>(p.min_pixels) / pixels);
    h_bar = ceil_by_factor(h * beta, p.factor);
    w_bar = ceil_by_factor(w * beta, p.factor);
  }
  out.size = Size{w_bar, h_bar};
  return out;
}

}  // namespace deskpilot::multimodal
