// RMSNorm on the GPU: one block per row, FP32 accumulation. Launcher returns
// the launch status; raw device pointers in, no framework types.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// x, out: (rows, dim) row-major device buffers; weight: (dim).
cudaError_t rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim,
                        float eps, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
