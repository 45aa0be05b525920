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

// The decoder's step from the fused q/k/v projection to the cache, in one
// launch: qkv (len, q_heads + 2 kv_heads, head_dim) plus bias (the same
// shape without len, or null) is split into q (len, q_heads, head_dim),
// rotated; k, rotated, and v into cache rows [*past, *past + len) of
// k_cache and v_cache (capacity, kv_heads, head_dim) as BF16 bits, *past
// read when the kernel runs (a captured decode graph appends where the step
// is). Bit for bit the bias, split copies, rope_apply, copy_rows_at and
// f32_to_bf16 it replaces.
struct RopeSplitAppend {
  const float* qkv = nullptr;
  const float* bias = nullptr;
  int64_t len = 0, q_heads = 0, kv_heads = 0, head_dim = 0;
  const float* cos = nullptr;  // (len, head_dim)
  const float* sin = nullptr;
  float* q = nullptr;
  uint16_t* k_cache = nullptr;  // BF16 bits
  uint16_t* v_cache = nullptr;
  const int64_t* past = nullptr;  // (1) device; (len) with the tables below
  // A batch instead (one decode step of len sequences): token t is appended
  // to its own cache k_rows[t], v_rows[t] (device tables of len pointers) at
  // row past[t]; k_cache and v_cache are unused then.
  uint16_t* const* k_rows = nullptr;
  uint16_t* const* v_rows = nullptr;
};
cudaError_t rope_split_append(const RopeSplitAppend& a, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
