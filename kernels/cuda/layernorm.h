// LayerNorm on the GPU (the Qwen2-VL vision blocks): one block per row,
// mean then variance in FP32. Mirrors kernels/cpu/layernorm.h.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// x, out: (rows, dim); weight, bias: (dim).
cudaError_t layernorm_f32(const float* x, const float* weight, const float* bias, float* out, int64_t rows,
                          int64_t dim, float eps, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
