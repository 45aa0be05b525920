#include "kernels/cpu/elementwise.h"

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
