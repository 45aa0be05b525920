// Token choice on the GPU, so that a decode step needs no logits copy:
// argmax per row (greedy; the lowest id wins ties, as on the CPU), nucleus
// (top-p) sampling with temperature, and a numerically safe row softmax.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// logits: (rows, vocab); ids: (rows) device.
cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* ids, cudaStream_t stream);
// One token per row from softmax(logits / temperature) cut to the nucleus:
// the tokens of probability >= t for the largest t whose tokens hold at least
// top_p of the mass (the CPU's sorted prefix, ties at the cut kept), drawn
// with uniform[row] in [0, 1) (from the host's seeded generator, so runs
// repeat). logits (rows, vocab) are overwritten with the unnormalised
// probabilities; ids (rows). temperature > 0, top_p in (0, 1].
cudaError_t sample_top_p(float* logits, int64_t rows, int64_t vocab, float temperature, float top_p,
                         const float* uniform, int32_t* ids, cudaStream_t stream);
// x: (rows, n) replaced by softmax(x * scale) per row (max subtracted first).
cudaError_t softmax_rows(float* x, int64_t rows, int64_t n, float scale, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
