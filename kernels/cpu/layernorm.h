// LayerNorm on the CPU (the Qwen2-VL vision blocks and merger), FP32 with
// double accumulation of the mean and the biased variance:
//   out[r, i] = (x[r, i] - mean_r) / sqrt(var_r + eps) * weight[i] + bias[i]
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

// x, out: (rows, dim); weight, bias: (dim). out may alias x.
void layernorm_f32(const float* x, const float* weight, const float* bias, float* out, int64_t rows, int64_t dim,
                   float eps);

}  // namespace deskpilot::kernels
