// Block-quantized weights (GGUF's types, kernels/quant.h) on the GPU, kept
// in their blocks: a dequantizing GEMV for decode (one warp per output row,
// each lane a 32-weight group at a time decoded to FP32 by decode_group, the
// same code as the CPU's reference, times BF16 activations, FP32 sums, a
// warp reduction) and, for prefill, the weights dequantized to BF16 for
// cuBLAS. tests/kernels/quant_gemv_emulation.h computes the GEMV's exact
// arithmetic on the CPU.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels::cuda {

// Activation rows one GEMV launch takes (decode, batched decode).
constexpr int64_t kQuantGemvRows = 8;

// y (n, rows) = x (n, k) wᵀ, or y += with `accumulate`; w: (rows, k) of
// `type` (k a multiple of 32); x: BF16 bits; n <= kQuantGemvRows.
cudaError_t quant_gemv(DType type, const void* w, int64_t rows, int64_t k, const uint16_t* x, int64_t n, float* y,
                       bool accumulate, cudaStream_t stream);

// out (rows, k) BF16 bits = w dequantized (as kernels::dequantize, rounded to nearest even).
cudaError_t dequantize_to_bf16(DType type, const void* w, int64_t rows, int64_t k, uint16_t* out, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
