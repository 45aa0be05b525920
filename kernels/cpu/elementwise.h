// Element-wise ops of the decoder, FP32.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

// SwiGLU: out[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(-x)). out may alias gate or up.
void silu_mul(const float* gate, const float* up, float* out, int64_t n);

// GELU, exact (erf) form as torch.nn.GELU(): x * (1 + erf(x / sqrt(2))) / 2. In place.
void gelu_erf(float* x, int64_t n);

// QuickGELU of CLIP / Qwen2-VL's vision MLP: x * sigmoid(1.702 x). In place.
void quick_gelu(float* x, int64_t n);

// x[i] += y[i]
void add_inplace(float* x, const float* y, int64_t n);

// Embedding lookup: out (count, dim) = table[ids[r], :], table (rows, dim) of `type`.
// Ids outside [0, rows) give zero rows (callers check ids first).
void embedding_gather(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids, int64_t count,
                      float* out);

}  // namespace deskpilot::kernels
