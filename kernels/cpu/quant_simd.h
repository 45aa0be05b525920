// Helpers shared by the AVX2 (quant_dot.cpp) and AVX-512 (quant_dot_avx512.cpp)
// integer dot products. Internal to kernels/cpu; include only where
// __AVX2__ and __F16C__ are defined.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace deskpilot::kernels::quant_simd {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline float hsum256(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// Weights stream from memory once per token: ask for them ahead of use (the
// hardware prefetcher alone leaves a core short of its share of bandwidth).
constexpr int kPrefetchBytes = 2048;
inline void prefetch(const void* p, int lines) {
  for (int l = 0; l < lines; ++l) _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes + 64 * l, _MM_HINT_T0);
}

// The eight 6-bit scales (bytes 0-7 of the result) and mins (bytes 8-15) of
// a Q4_K / Q5_K block, unpacked with 32-bit word operations.
inline __m128i k4_scales_and_mins(const uint8_t* scales) {
  uint32_t u[4];
  std::memcpy(u, scales, 12);
  constexpr uint32_t kMask1 = 0x3f3f3f3f, kMask2 = 0x0f0f0f0f, kMask3 = 0x03030303;
  u[3] = ((u[2] >> 4) & kMask2) | (((u[1] >> 6) & kMask3) << 4);
  const uint32_t mins_low = u[1] & kMask1;
  u[1] = (u[2] & kMask2) | (((u[0] >> 6) & kMask3) << 4);
  u[2] = mins_low;
  u[0] &= kMask1;
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(u));
}

}  // namespace deskpilot::kernels::quant_simd
