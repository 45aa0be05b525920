// Attention on the GPU, mirroring kernels/cpu/attention.h: causal grouped-
// query attention over the KV cache (prefill and decode) and bidirectional
// attention within segments (the vision tower's windows and images).
//
// One thread block per (query token, head) streams that query's keys and
// values once with an online (running max) softmax, warps splitting the keys
// and merging their partial states at the end: no (len x len) score buffer,
// whatever the length. head_dim up to 256.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

constexpr int64_t kMaxAttentionHeadDim = 256;

// q: (len, q_heads, head_dim); k, v: (past + len, kv_heads, head_dim);
// out: (len, q_heads, head_dim). Query i is token past + i and sees keys
// 0..past + i. Scale 1 / sqrt(head_dim).
cudaError_t attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                             int64_t q_heads, int64_t kv_heads, int64_t head_dim, cudaStream_t stream);

// The same with `past` read from device memory when the kernel runs, so that
// one captured decode graph serves every step; K/V as FP32 or as the BF16
// bits of the decoder's cache (widened to FP32 as they are read).
cudaError_t attention_causal_at(const float* q, const float* k, const float* v, float* out, int64_t len,
                                const int64_t* past, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                cudaStream_t stream);
cudaError_t attention_causal_at(const float* q, const uint16_t* k, const uint16_t* v, float* out, int64_t len,
                                const int64_t* past, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                cudaStream_t stream);

// One decode step over a long cache, the keys split across blocks
// (flash-decoding) so that the whole GPU streams them: q, out (q_heads,
// head_dim); k, v (capacity, kv_heads, head_dim), FP32 or BF16 bits, of
// which rows 0..*past are read (*past in device memory, < capacity). Up to
// 8 query heads per KV head and head_dim up to 128, one block serves the
// whole group (each key read once). workspace: floats from
// attention_decode_workspace(capacity, ...).
int64_t attention_decode_workspace(int64_t capacity, int64_t q_heads, int64_t head_dim);
cudaError_t attention_decode(const float* q, const float* k, const float* v, float* out, const int64_t* past,
                             int64_t capacity, int64_t q_heads, int64_t kv_heads, int64_t head_dim, float* workspace,
                             cudaStream_t stream);
cudaError_t attention_decode(const float* q, const uint16_t* k, const uint16_t* v, float* out, const int64_t* past,
                             int64_t capacity, int64_t q_heads, int64_t kv_heads, int64_t head_dim, float* workspace,
                             cudaStream_t stream);
// The same writing BF16 bits (the next projection's input): the FP32 result
// rounded as f32_to_bf16 rounds it.
cudaError_t attention_decode(const float* q, const uint16_t* k, const uint16_t* v, uint16_t* out,
                             const int64_t* past, int64_t capacity, int64_t q_heads, int64_t kv_heads,
                             int64_t head_dim, float* workspace, cudaStream_t stream);

// One decode step of b sequences at once, each with its own cache: row r's
// query q[r] (q: (b, q_heads, head_dim)), cache k[r], v[r] ((capacity_r,
// kv_heads, head_dim) BF16 bits; k, v: (b) device tables) of which rows
// 0..past[r] are read, out (b, q_heads, head_dim) BF16. `capacity`: the
// largest capacity_r (it sizes the key split); workspace:
// b * attention_decode_workspace(capacity, q_heads, head_dim) floats.
cudaError_t attention_decode_rows(const float* q, const uint16_t* const* k, const uint16_t* const* v, uint16_t* out,
                                  const int64_t* past, int64_t b, int64_t capacity, int64_t q_heads, int64_t kv_heads,
                                  int64_t head_dim, float* workspace, cudaStream_t stream);

// q, k, v, out: (n, heads, head_dim); starts: (segments + 1) device, with
// starts[0] = 0 and starts[segments] = n; token t attends to its segment.
cudaError_t attention_segments(const float* q, const float* k, const float* v, float* out, int64_t n, int64_t heads,
                               int64_t head_dim, const int64_t* starts, int64_t segments, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
