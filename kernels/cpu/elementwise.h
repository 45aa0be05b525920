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

// Softmax's exponentials: x[i] = exp(x[i] - max), returning their sum, for
// max >= every x[i]. A polynomial the compiler vectorises (within 2 ulp of
// std::exp); a difference below -64 gives 0, so that neither the
// exponentials nor the weights they normalise to are subnormal floats (a
// subnormal costs the GEMM that reads it a microcode assist per use: 2.7x
// slower prefill of 2048 tokens, measured), and lose nothing an FP32 sum
// could hold.
float exp_shifted_sum(float* x, int64_t n, float max);

// x[i] += y[i]
void add_inplace(float* x, const float* y, int64_t n);

// Embedding lookup: out (count, dim) = table[ids[r], :], table (rows, dim) of `type`.
// Ids outside [0, rows) give zero rows (callers check ids first).
void embedding_gather(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids, int64_t count,
                      float* out);

}  // namespace deskpilot::kernels
