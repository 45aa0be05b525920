#include "kernels/cpu/rope.h"

#include <cmath>
#include <vector>

namespace deskpilot::kernels {

void mrope_frequencies(int64_t head_dim, double theta, const int64_t section[3], float* inv_freq, int32_t* stream) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // FP32 like torch: base ** (arange(0, dim, 2).float() / dim), then 1 / that.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq[i] = 1.0f / std::pow(static_cast<float>(theta), exponent);
    int s = 0;  // frequency i lies in section s: [section[0] + ... + section[s-1], ... + section[s])
    int64_t end = section[0];
    while (s < 2 && i >= end) end += section[++s];
    stream[i] = s;
  }
}

void mrope_cos_sin(const int64_t* positions, int64_t len, int64_t head_dim, double theta, const int64_t section[3],
                   float* cos, float* sin) {
  const int64_t half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(half));  // (head_dim / 2)
  std::vector<int32_t> stream(static_cast<size_t>(half));  // which position stream rotates frequency i
  mrope_frequencies(head_dim, theta, section, inv_freq.data(), stream.data());
  for (int64_t t = 0; t < len; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(positions[stream[i] * len + t]) * inv_freq[i];
      const float c = std::cos(angle), s = std::sin(angle);
      cos[t * head_dim + i] = cos[t * head_dim + i + half] = c;
      sin[t * head_dim + i] = sin[t * head_dim + i + half] = s;
    }
  }
}

void rope_apply(float* x, int64_t len, int64_t heads, int64_t head_dim, const float* cos, const float* sin) {
  const int64_t half = head_dim / 2;
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t t = 0; t < len; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim;
      const float* c = cos + t * head_dim;
      const float* s = sin + t * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c[i] - x2 * s[i];
        v[i + half] = x2 * c[i + half] + x1 * s[i + half];
      }
    }
  }
}

}  // namespace deskpilot::kernels
