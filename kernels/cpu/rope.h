// Multimodal rotary position embedding (M-RoPE) of Qwen2-VL's decoder.
//
// Each token has three positions (temporal, height, width; equal for text).
// The head_dim / 2 frequencies inv_freq[i] = theta^(-2i / head_dim) are
// split by mrope_section into three runs, run s rotated by position stream
// s. As in transformers, angles are FP32 products pos * inv_freq and the
// rotation is the rotate-half form: x' = x * cos + rotate_half(x) * sin,
// rotate_half(x) = [-x2, x1].
#pragma once

#include <cstdint>

namespace deskpilot::kernels {

// The head_dim / 2 inverse frequencies (FP32, as torch computes them) and
// the position stream (0 temporal, 1 height, 2 width) that rotates each;
// shared with the CUDA kernel so both paths use the same numbers.
void mrope_frequencies(int64_t head_dim, double theta, const int64_t section[3], float* inv_freq, int32_t* stream);

// positions: (3, len) row-major; cos, sin: (len, head_dim).
void mrope_cos_sin(const int64_t* positions, int64_t len, int64_t head_dim, double theta, const int64_t section[3],
                   float* cos, float* sin);

// x: (len, heads, head_dim) rotated in place by cos, sin (len, head_dim).
void rope_apply(float* x, int64_t len, int64_t heads, int64_t head_dim, const float* cos, const float* sin);

}  // namespace deskpilot::kernels
