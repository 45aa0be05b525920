#include "kernels/cpu/layernorm.h"

#include <cmath>

namespace deskpilot::kernels {

void layernorm_f32(const float* x, const float* weight, const float* bias, float* out, int64_t rows, int64_t dim,
                   float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;  // (dim)
    float* o = out + r * dim;       // (dim)
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum += xr[i];
    const double mean = sum / static_cast<double>(dim);
    double var = 0.0;
    for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) o[i] = static_cast<float>((xr[i] - mean) * inv * weight[i] + bias[i]);
  }
}

}  // namespace deskpilot::kernels
