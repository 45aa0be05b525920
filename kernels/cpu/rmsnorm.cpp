#include "kernels/cpu/rmsnorm.h"

#include <cmath>

namespace deskpilot::kernels {

void rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * dim;  // (dim)
    float* outr = out + r * dim;    // (dim)
    double sum_sq = 0.0;
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const double inv_rms = 1.0 / std::sqrt(sum_sq / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) {
      outr[i] = static_cast<float>(static_cast<double>(xr[i]) * inv_rms * weight[i]);
    }
  }
}

}  // namespace deskpilot::kernels
