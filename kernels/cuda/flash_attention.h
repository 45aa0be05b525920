// Attention on tensor cores (FlashAttention-2 style), for prefill and the
// vision tower: BF16 mma.sync (m16n8k16, sm_80 and later), FP32 online
// softmax and accumulation.
//
// One block of 4 warps per (64 rows, KV head). A row is one (query token,
// query head of the KV group) pair, so all query heads of a group share
// each K/V tile the block stages in shared memory; each warp owns 16 rows
// and keeps its queries, scores and output in registers. Keys pass 64 at a
// time; each row sees its own key range (causal after a prefix, or its
// segment), tiles outside a warp's rows are skipped.
//
// Arithmetic, which tests/kernels/flash_attention_emulation.h replays on the CPU
// to set the parity bound: Q, K and V rounded to BF16 (the scale is applied
// to the FP32 scores), scores and the softmax's max and sum in FP32, the
// probabilities rounded to BF16 for the P V product, FP32 accumulation.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// Whether flash_attention runs this head_dim (a multiple of 16, at most 128)
// on the current device (compute capability 8.0 or later).
bool flash_attention_supported(int64_t head_dim);

// How K and V are stored.
enum class KvStorage { kF32, kBf16 };

// q: (len, q_heads, head_dim) FP32; k, v: (keys, kv_heads, head_dim) as
// `storage` says; out: (len, q_heads, head_dim) FP32, or out_bf16 the same
// as BF16 bits. Scale 1/sqrt(head_dim).
// Row t's keys: with `starts` null, causal after a prefix: 0..past + t, past
// from *past_at when that is set (read when the kernel runs) else `past`;
// with `starts` (segments + 1 device values, starts[0] = 0, the last = len),
// the keys of t's segment (q_heads == kv_heads then).
struct FlashAttentionArgs {
  const float* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  KvStorage storage = KvStorage::kF32;
  float* out = nullptr;
  uint16_t* out_bf16 = nullptr;  // instead of out: BF16 bits (the next projection's input)
  int64_t len = 0, past = 0;
  const int64_t* past_at = nullptr;
  const int64_t* starts = nullptr;
  int64_t segments = 0;
  int64_t q_heads = 0, kv_heads = 0, head_dim = 0;
};
cudaError_t flash_attention(const FlashAttentionArgs& args, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
