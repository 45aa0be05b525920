// Token choice on the GPU, so that a decode step needs no logits copy:
// argmax per row (greedy; the lowest id wins ties, as on the CPU) and a
// numerically safe row softmax.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// logits: (rows, vocab); ids: (rows) device.
cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* ids, cudaStream_t stream);
// x: (rows, n) replaced by softmax(x * scale) per row (max subtracted first).
cudaError_t softmax_rows(float* x, int64_t rows, int64_t n, float scale, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
