#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace deskpilot::kernels {

void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void gelu_erf(float* x, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752440f));
}

void quick_gelu(float* x, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
}

// Below e^-64 (1.6e-28) of the largest, a softmax weight is 0: its share of
// any FP32 sum is 2^-70 below the largest term's, and normalised by a sum of
// up to 10^9 it would still be a normal float, never a subnormal.
constexpr float kExpCutoff = -64.0f;

float exp_shifted_sum(float* x, int64_t n, float max) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    const float t = x[i] - max;  // <= 0
    // e^t = 2^k e^r, k = round(t / ln 2), |r| <= ln 2 / 2 (Cody-Waite: ln 2 in two parts), e^r by Cephes's
    // degree-6 polynomial; 2^k built in the exponent bits.
    const float kf = (t * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest (2^23 + 2^22)
    const float r = (t - kf * 0.693359375f) + kf * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * r * r + r + 1.0f;
    const int32_t k = static_cast<int32_t>(kf);
    const float two_k = std::bit_cast<float>(static_cast<int32_t>((std::max(k, -126) + 127) << 23));
    // (A select on the product, not a branch: GCC 12 leaves an AVX2 loop with the branch scalar.)
    const float e = std::bit_cast<float>(std::bit_cast<int32_t>(er * two_k) & -static_cast<int32_t>(t >= kExpCutoff));
    x[i] = e;
    sum += e;
  }
  return sum;
}

void add_inplace(float* x, const float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void embedding_gather(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids, int64_t count,
                      float* out) {
  const size_t row_bytes = static_cast<size_t>(dtype_bytes(type, dim));
  for (int64_t r = 0; r < count; ++r) {
    float* dst = out + r * dim;
    if (ids[r] < 0 || ids[r] >= rows) {
      std::memset(dst, 0, sizeof(float) * dim);
      continue;
    }
    convert_to_f32(type, static_cast<const uint8_t*>(table) + ids[r] * row_bytes, dst, static_cast<size_t>(dim));
  }
}

}  // namespace deskpilot::kernels
