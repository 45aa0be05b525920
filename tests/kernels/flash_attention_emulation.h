// kernels/cuda/flash_attention.cu's arithmetic replayed on the CPU: what sets
// the flash kernel's parity bound against the exact reference, and what the
// kernel itself is held to tightly on a GPU.
//
// Per (token, query head) row, as the kernel does it: Q, K, V rounded to
// BF16; keys in tiles of 64 starting where the row's block of 64 rows
// starts its keys; per tile FP32 scores (scaled, log2 units), the running
// max, p = exp2(s - max) summed in FP32, p rounded to BF16 for the P V
// product, FP32 accumulators rescaled at every new max. Only the order of
// FP32 sums inside a tile differs from the kernel.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/dtype.h"

namespace deskpilot::testing {

// The bound on |flash - exact| for the inputs of flash_cases() (uniform in
// [-2, 2]), set from the emulation (tests/kernels/test_flash_emulation.cpp
// prints the worst case).
constexpr float kFlashAttentionBound = 0.02f;  // worst seen 0.0092 (130 tokens, 7 heads per KV head, head_dim 128)

inline float bf16_round(float v) { return kernels::bf16_to_f32(kernels::f32_to_bf16(v)); }

struct KeySpan {
  int64_t lo, hi;
};

// The shapes both the CPU test of the emulation and the GPU test of the
// kernel run: causal after a prefix (decoder prefill, GQA groups of 1, 2 and
// 7 as in UI-TARS-7B's 28/4 heads) and segments (the vision tower's windows).
struct FlashCase {
  int64_t len, past, q_heads, kv_heads, head_dim;
  std::vector<int64_t> starts;  // empty: causal
};
inline std::vector<FlashCase> flash_cases() {
  return {
      {1, 0, 4, 2, 16, {}},         {19, 0, 4, 2, 16, {}},          {19, 33, 4, 4, 64, {}},
      {70, 100, 14, 2, 128, {}},    {130, 0, 7, 1, 128, {}},        {65, 300, 4, 2, 80, {}},
      {33, 17, 6, 3, 96, {}},       {40, 0, 2, 1, 32, {}},          {260, 0, 3, 3, 80, {0, 1, 34, 145, 149, 260}},
      {19, 0, 2, 2, 16, {0, 19}},   {200, 0, 2, 2, 64, {0, 64, 200}},
  };
}

// Row keys as the kernel sees them: causal after `past` (starts empty) or segments.
inline KeySpan emulated_keys(int64_t t, int64_t past, const std::vector<int64_t>& starts) {
  if (starts.empty()) return {0, past + t + 1};
  size_t s = 0;
  while (s + 2 < starts.size() && starts[s + 1] <= t) ++s;
  return {starts[s], starts[s + 1]};
}

// q: (len, q_heads, hd); k, v: (keys, kv_heads, hd); out: (len, q_heads, hd).
inline void flash_attention_emulated(const float* q, const float* k, const float* v, float* out, int64_t len,
                                     int64_t past, const std::vector<int64_t>& starts, int64_t q_heads,
                                     int64_t kv_heads, int64_t hd) {
  constexpr int64_t kBlockRows = 64, kBlockKeys = 64;
  const int64_t group = q_heads / kv_heads;
  const float scale_log2 = 1.4426950408889634f / std::sqrt(static_cast<float>(hd));
  std::vector<float> qr(static_cast<size_t>(hd)), o(static_cast<size_t>(hd)), s;
  // Row r of KV head kvh (the kernel's grid y) is token r / group, query
  // head kvh * group + r % group; blocks are 64 consecutive rows.
  for (int64_t kvh = 0; kvh < kv_heads; ++kvh) {
    for (int64_t r = 0; r < len * group; ++r) {
      const int64_t t = r / group, qh = kvh * group + r % group;
      const KeySpan mine = emulated_keys(t, past, starts);
      const int64_t first_row = (r / kBlockRows) * kBlockRows;
      const int64_t tile0 = emulated_keys(first_row / group, past, starts).lo;
      const float* qv = q + (t * q_heads + qh) * hd;
      for (int64_t d = 0; d < hd; ++d) qr[d] = bf16_round(qv[d]);
      float m = -INFINITY, l = 0.f;
      std::fill(o.begin(), o.end(), 0.f);
      for (int64_t kt = tile0; kt < mine.hi; kt += kBlockKeys) {
        const int64_t lo = std::max(kt, mine.lo), hi = std::min(kt + kBlockKeys, mine.hi);
        if (lo >= hi) continue;  // no key of this row in the tile: the kernel's step changes nothing
        s.assign(static_cast<size_t>(hi - lo), 0.f);
        float tile_max = -INFINITY;
        for (int64_t j = lo; j < hi; ++j) {
          const float* kj = k + (j * kv_heads + kvh) * hd;
          float dot = 0.f;
          for (int64_t d = 0; d < hd; ++d) dot += qr[d] * bf16_round(kj[d]);
          s[j - lo] = dot * scale_log2;
          tile_max = std::max(tile_max, s[j - lo]);
        }
        const float m_new = std::max(m, tile_max);
        const float correction = std::exp2(m - m_new);
        float sum = 0.f;
        for (float& p : s) {
          p = std::exp2(p - m_new);
          sum += p;
        }
        l = l * correction + sum;
        for (int64_t d = 0; d < hd; ++d) o[d] *= correction;
        for (int64_t j = lo; j < hi; ++j) {
          const float p = bf16_round(s[j - lo]);
          const float* vj = v + (j * kv_heads + kvh) * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] += p * bf16_round(vj[d]);
        }
        m = m_new;
      }
      float* ov = out + (t * q_heads + qh) * hd;
      for (int64_t d = 0; d < hd; ++d) ov[d] = l > 0.f ? o[d] / l : 0.f;
    }
  }
}

}  // namespace deskpilot::testing
