// The CUDA dequantizing GEMV's arithmetic (kernels/cuda/quant.cu) on the
// CPU, operation for operation: lane l of a row's warp sums its groups
// l, l + 32, ... (decode_group's weights times the BF16 activations, one
// FMA each, in weight order), then warp_sum's butterfly (offsets 16, 8, 4,
// 2, 1) gives lane 0 the row's value. The GPU's result must equal this bit
// for bit; this must be within FP32 summation error of the exact product.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/dtype.h"
#include "kernels/quant.h"

namespace deskpilot::testing {

// y (n, rows) from w (rows, k) of `type` and x (n, k) BF16 bits.
inline std::vector<float> emulate_quant_gemv(kernels::DType type, const uint8_t* w, int64_t rows, int64_t k,
                                             const std::vector<uint16_t>& x, int64_t n) {
  const auto mul = [](float a, float b) { return a * b; };
  const auto sub = [](float a, float b) { return a - b; };
  const int64_t row_bytes = kernels::dtype_bytes(type, k);
  std::vector<float> y(static_cast<size_t>(n * rows));
  float wg[32];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) {
      float lanes[32];
      for (int lane = 0; lane < 32; ++lane) {
        float acc = 0.f;
        for (int64_t g = lane; g < k / 32; g += 32) {
          kernels::decode_group(type, w + r * row_bytes, g, wg, mul, sub);
          for (int l = 0; l < 32; ++l) acc = std::fma(wg[l], kernels::bf16_to_f32(x[i * k + 32 * g + l]), acc);
        }
        lanes[lane] = acc;
      }
      for (int offset = 16; offset > 0; offset /= 2) {
        float next[32];
        for (int lane = 0; lane < 32; ++lane) next[lane] = lanes[lane] + lanes[lane ^ offset];
        for (int lane = 0; lane < 32; ++lane) lanes[lane] = next[lane];
      }
      y[i * rows + r] = lanes[0];
    }
  }
  return y;
}

}  // namespace deskpilot::testing
