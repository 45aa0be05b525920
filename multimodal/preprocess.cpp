#include "multimodal/preprocess.h"

#include <algorithm>
#include <cmath>

#include "multimodal/smart_resize.h"

namespace deskpilot::multimodal {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS

double bicubic(double x) {  // Keys' cubic convolution, a = -0.5
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// For each output index: the first input index and the fixed-point weights
// of the inputs it reads (Pillow's precompute_coeffs + normalize_coeffs_8bpc).
struct Coefficients {
  std::vector<int> first;                // (out)
  std::vector<std::vector<int32_t>> k;   // (out) x (taps)
};

Coefficients coefficients(int64_t in_size, int64_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2.0 * filter_scale;
  Coefficients c;
  c.first.resize(static_cast<size_t>(out_size));
  c.k.resize(static_cast<size_t>(out_size));
  for (int64_t o = 0; o < out_size; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const double ss = 1.0 / filter_scale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = static_cast<int>(in_size);
    xmax -= xmin;
    std::vector<double> w(static_cast<size_t>(std::max(xmax, 0)));
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    std::vector<int32_t>& k = c.k[o];
    k.resize(w.size());
    for (size_t x = 0; x < w.size(); ++x) {
      const double v = ww != 0.0 ? w[x] / ww : w[x];
      k[x] = v < 0 ? static_cast<int32_t>(-0.5 + v * (1 << kPrecisionBits))
                   : static_cast<int32_t>(0.5 + v * (1 << kPrecisionBits));
    }
    c.first[o] = xmin;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  const int32_t s = v >> kPrecisionBits;  // arithmetic shift: floor, as Pillow's lookup table indexes
  return static_cast<uint8_t>(s < 0 ? 0 : s > 255 ? 255 : s);
}

}  // namespace

RgbImage resize_bicubic_pillow(const RgbImage& in, int64_t width, int64_t height) {
  RgbImage cur = in;
  if (width != in.width) {  // horizontal pass
    const Coefficients c = coefficients(in.width, width);
    RgbImage out{width, cur.height, std::vector<uint8_t>(static_cast<size_t>(width * cur.height * 3))};
    for (int64_t y = 0; y < cur.height; ++y) {
      const uint8_t* row = cur.pixels.data() + y * cur.width * 3;
      for (int64_t x = 0; x < width; ++x) {
        int32_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
        const std::vector<int32_t>& k = c.k[x];
        for (size_t t = 0; t < k.size(); ++t) {
          const uint8_t* p = row + (c.first[x] + static_cast<int64_t>(t)) * 3;
          for (int ch = 0; ch < 3; ++ch) s[ch] += p[ch] * k[t];
        }
        uint8_t* o = out.pixels.data() + (y * width + x) * 3;
        for (int ch = 0; ch < 3; ++ch) o[ch] = clip8(s[ch]);
      }
    }
    cur = std::move(out);
  }
  if (height != in.height) {  // vertical pass
    const Coefficients c = coefficients(in.height, height);
    RgbImage out{cur.width, height, std::vector<uint8_t>(static_cast<size_t>(cur.width * height * 3))};
    for (int64_t y = 0; y < height; ++y) {
      const std::vector<int32_t>& k = c.k[y];
      for (int64_t x = 0; x < cur.width; ++x) {
        int32_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
        for (size_t t = 0; t < k.size(); ++t) {
          const uint8_t* p = cur.pixels.data() + ((c.first[y] + static_cast<int64_t>(t)) * cur.width + x) * 3;
          for (int ch = 0; ch < 3; ++ch) s[ch] += p[ch] * k[t];
        }
        uint8_t* o = out.pixels.data() + (y * cur.width + x) * 3;
        for (int ch = 0; ch < 3; ++ch) o[ch] = clip8(s[ch]);
      }
    }
    cur = std::move(out);
  }
  return cur;
}

std::optional<engine::ImagePatches> preprocess_image(const RgbImage& image, const engine::PreprocessorConfig& config,
                                                     std::string* error) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width * image.height * 3)) {
    if (error) *error = "empty or inconsistent image";
    return std::nullopt;
  }
  const int64_t patch = config.patch_size, merge = config.merge_size, frames = config.temporal_patch_size;
  SmartResizeParams params;
  params.factor = patch * merge;
  params.min_pixels = config.min_pixels;
  params.max_pixels = config.max_pixels;
  const SmartResizeResult size = smart_resize({image.width, image.height}, params);
  if (!size.size) {
    if (error) *error = size.error;
    return std::nullopt;
  }
  const int64_t w = size.size->width, h = size.size->height;
  const RgbImage resized = (w == image.width && h == image.height) ? image : resize_bicubic_pillow(image, w, h);

  // numpy: uint8 -> float64 * rescale -> float32, then (x - mean) / std in float32.
  float mean[3], std_[3];
  for (int c = 0; c < 3; ++c) mean[c] = static_cast<float>(config.image_mean[c]), std_[c] = static_cast<float>(config.image_std[c]);
  std::vector<float> norm(static_cast<size_t>(3 * h * w));  // (3, h, w)
  for (int64_t i = 0; i < h * w; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float x = static_cast<float>(static_cast<double>(resized.pixels[i * 3 + c]) * config.rescale_factor);
      norm[c * h * w + i] = (x - mean[c]) / std_[c];
    }
  }

  engine::ImagePatches out;
  out.grid_t = 1;  // one image: its frame repeated to fill the temporal patch
  out.grid_h = h / patch;
  out.grid_w = w / patch;
  const int64_t cols = 3 * frames * patch * patch;
  out.pixel_values.resize(static_cast<size_t>(out.patches() * cols));
  int64_t row = 0;
  for (int64_t bh = 0; bh < out.grid_h / merge; ++bh)
    for (int64_t bw = 0; bw < out.grid_w / merge; ++bw)
      for (int64_t mh = 0; mh < merge; ++mh)
        for (int64_t mw = 0; mw < merge; ++mw, ++row) {
          const int64_t py0 = (bh * merge + mh) * patch, px0 = (bw * merge + mw) * patch;
          float* dst = out.pixel_values.data() + row * cols;
          for (int64_t c = 0; c < 3; ++c)
            for (int64_t f = 0; f < frames; ++f)
              for (int64_t y = 0; y < patch; ++y)
                for (int64_t x = 0; x < patch; ++x)
                  *dst++ = norm[(c * h + py0 + y) * w + px0 + x];
        }
  return out;
}

}  // namespace deskpilot::multimodal
