// RMSNorm on the CPU, the reference every backend is checked against:
//   out[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * weight[i]
// Accumulation in double so that the reference is more exact than any kernel.
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

// x, out: (rows, dim) row-major; weight: (dim). out may alias x.
void rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim, float eps);

}  // namespace deskpilot::kernels
