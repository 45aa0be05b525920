// RMSNorm on the GPU: one block per row, FP32 accumulation. Launcher returns
// the launch status; raw device pointers in, no framework types.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// x, out: (rows, dim) row-major device buffers; weight: (dim).
cudaError_t rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim,
                        float eps, cudaStream_t stream);
// The same written as BF16 bits (the next projection's input), bit for bit
// rmsnorm_f32 then f32_to_bf16.
cudaError_t rmsnorm_bf16(const float* x, const float* weight, uint16_t* out, int64_t rows, int64_t dim, float eps,
                         cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
