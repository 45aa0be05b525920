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
// a Q4_K / Q5_K block, unpacked in registers. With u0, u1, u2 the three
// 32-bit words of `scales`, the result's words are u0 & 0x3f.., (u2 & 0x0f..)
// | ((u0 >> 6) & 0x03..) << 4, u1 & 0x3f.., ((u2 >> 4) & 0x0f..) | ((u1 >> 6)
// & 0x03..) << 4. (Built in scalar words and reloaded as a vector, the
// stores could not forward to the load: a quarter of decode's time.)
// Reads 16 bytes: the block's first 4 bytes of quants follow its scales.
inline __m128i k4_scales_and_mins(const uint8_t* scales) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales));  // u0 u1 u2 (u3)
  const __m128i a = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));                // u0 u2 u1 u2
  const __m128i b = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));                // u0 u0 u1 u1
  const __m128i low = _mm_and_si128(_mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4)),
                                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i high = _mm_and_si128(_mm_slli_epi32(_mm_srli_epi32(b, 6), 4),
                                     _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(low, high);
}

}  // namespace deskpilot::kernels::quant_simd
