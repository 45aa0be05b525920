// Rotary embeddings on the GPU, mirroring kernels/cpu/rope.h: M-RoPE cos/sin
// tables from device positions (so that a captured decode graph reads the
// position of the step from device memory), and the rotate-half rotation,
// which the vision tower's 2D RoPE uses with its own tables.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// positions: (3, len) device; inv_freq (head_dim / 2) and stream
// (head_dim / 2) from kernels::mrope_frequencies, uploaded; cos, sin:
// (len, head_dim).
cudaError_t mrope_cos_sin(const int64_t* positions, int64_t len, int64_t head_dim, const float* inv_freq,
                          const int32_t* stream, float* cos, float* sin, cudaStream_t cuda_stream);

// x: (len, heads, head_dim) rotated in place by cos, sin (len, head_dim).
cudaError_t rope_apply(float* x, int64_t len, int64_t heads, int64_t head_dim, const float* cos, const float* sin,
                       cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
