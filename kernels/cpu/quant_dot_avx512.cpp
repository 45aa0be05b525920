#include "kernels/cpu/quant_dot_avx512.h"

#ifdef DESKPILOT_QUANT_AVX512

#include <immintrin.h>

#include "kernels/cpu/avx512_warnings.h"
#include "kernels/cpu/quant_simd.h"
#include "kernels/quant.h"

namespace deskpilot::kernels {

namespace {

using quant_simd::half;
using quant_simd::hsum256;
using quant_simd::k4_scales_and_mins;
using quant_simd::load256;
using quant_simd::prefetch;

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

// Two 256-bit halves as one vector: `low` in lanes 0-7 (of 32 bits), `high` in 8-15.
inline __m512i halves(__m256i low, __m256i high) { return _mm512_inserti64x4(_mm512_zextsi256_si512(low), high, 1); }
inline __m512i halves32(int low, int high) { return halves(_mm256_set1_epi32(low), _mm256_set1_epi32(high)); }
inline __m512i halves16(int low, int high) {
  return halves(_mm256_set1_epi16(static_cast<short>(low)), _mm256_set1_epi16(static_cast<short>(high)));
}
inline __m512i halves8(int low, int high) {
  return halves(_mm256_set1_epi8(static_cast<char>(low)), _mm256_set1_epi8(static_cast<char>(high)));
}

// acc + Σ w·a per 4 bytes for signed w: |w| (unsigned; -128 reads as 128) times a with w's sign.
inline __m512i dot_signed(__m512i acc, __m512i w, __m512i a) {
  const __mmask64 negative = _mm512_movepi8_mask(w);
  return _mm512_dpbusd_epi32(acc, _mm512_abs_epi8(w), _mm512_mask_sub_epi8(a, negative, _mm512_setzero_si512(), a));
}

// The last block of an odd count, 32 bytes: 8 int32 lanes.
inline __m256i dot_signed256(__m256i w, __m256i a) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
}

// Per block scale factors in lanes: block i's in 0-7, block i + 1's in 8-15.
inline __m512 two_scales(float s0, float s1) { return _mm512_insertf32x8(_mm512_set1_ps(s0), _mm256_set1_ps(s1), 1); }

// The sum over pairs of blocks (i, i + 1) of pair(i, acc), in two sums that
// take turns so that the FMA latency does not bound the stream (each its own
// variable: indexed acc[(i / 2) & 1], GCC kept them in memory and every step
// waited on the store of the one before last). *taken: the blocks summed.
template <typename Pair>
float sum_pairs(int64_t blocks, Pair pair, int64_t* taken) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= blocks; i += 4) {
    acc0 = pair(i, acc0);
    acc1 = pair(i + 2, acc1);
  }
  if (i + 2 <= blocks) {
    acc0 = pair(i, acc0);
    i += 2;
  }
  *taken = i;
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// The last block of an odd count: its 8 int32 sums s, times its scale.
inline float last_block(__m256i s, float scale) {
  return hsum256(_mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(scale)));
}

// Q8_0: two blocks per step.
float dot_q8_0(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ8_0*>(row);
  const auto pair = [&](int64_t i, __m512 acc) {  // blocks i, i + 1
    prefetch(w + i, 2);
    const __m512i q = halves(load256(w[i].qs), load256(w[i + 1].qs));  // (64)
    const __m512i s = dot_signed(_mm512_setzero_si512(), q, load512(a.q + 32 * i));
    const __m512 scale = two_scales(half(w[i].d) * a.d[i], half(w[i + 1].d) * a.d[i + 1]);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc);
  };
  int64_t i = 0;
  float total = sum_pairs(blocks, pair, &i);
  if (i < blocks) total += last_block(dot_signed256(load256(w[i].qs), load256(a.q + 32 * i)), half(w[i].d) * a.d[i]);
  return total;
}

// Q4_0: the 16 bytes of each of two blocks twice (low nibbles: weights 0-15,
// high: 16-31), minus 8.
float dot_q4_0(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ4_0*>(row);
  const __m512i low4 = _mm512_set1_epi8(0xF), eight = _mm512_set1_epi8(8);
  // Per 128-bit lane: shift 0, 4, 0, 4 (16-bit lanes; the mask keeps each byte's own nibble).
  const __m512i shift = _mm512_set_epi64(0x0004000400040004LL, 0x0004000400040004LL, 0, 0, 0x0004000400040004LL,
                                         0x0004000400040004LL, 0, 0);
  const auto pair = [&](int64_t i, __m512 acc) {  // blocks i, i + 1
    if (i % 4 == 0) prefetch(w + i, 2);
    const __m128i b0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].qs));
    const __m128i b1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i + 1].qs));
    __m512i v = _mm512_zextsi128_si512(b0);
    v = _mm512_inserti32x4(v, b0, 1);
    v = _mm512_inserti32x4(v, b1, 2);
    v = _mm512_inserti32x4(v, b1, 3);
    const __m512i q = _mm512_sub_epi8(_mm512_and_si512(_mm512_srlv_epi16(v, shift), low4), eight);
    const __m512i s = dot_signed(_mm512_setzero_si512(), q, load512(a.q + 32 * i));
    const __m512 scale = two_scales(half(w[i].d) * a.d[i], half(w[i + 1].d) * a.d[i + 1]);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc);
  };
  int64_t i = 0;
  float total = sum_pairs(blocks, pair, &i);
  if (i < blocks) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
    const __m256i q = _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0xF)), _mm256_set1_epi8(8));
    total += last_block(dot_signed256(q, load256(a.q + 32 * i)), half(w[i].d) * a.d[i]);
  }
  return total;
}

// Q4_K / Q5_K: per 32 bytes of quants (64 weights), the low nibbles (group
// 2c) in the low half and the high nibbles (group 2c + 1) in the high half,
// against 64 consecutive activations.
template <bool kFifthBit, typename Block>
float dot_k4(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const Block*>(row);
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  __m256 mins = _mm256_setzero_ps();
  const __m512i low4 = _mm512_set1_epi8(0xF), sixteen = _mm512_set1_epi8(16);
  const __m512i shift = halves16(0, 4);
  __m512i pick[4], fifth[4];  // float lanes 0-7 take group 2c's scale, 8-15 group 2c + 1's; their fifth bits
  for (int c = 0; c < 4; ++c) {
    pick[c] = halves32(2 * c, 2 * c + 1);
    fifth[c] = halves8(1 << (2 * c), 2 << (2 * c));
  }
  for (int64_t i = 0; i < blocks; ++i) {
    prefetch(w + i, 3);
    const __m128i sm = k4_scales_and_mins(w[i].scales);
    const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm));
    const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8)));
    const __m256 ad = _mm256_loadu_ps(a.d + 8 * i);  // the eight groups' activation scales
    // Per group: d * sc_j * d_g, and dmin * m_j * (d_g * sum_g).
    const __m512 scale = _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(half(w[i].d)), sc), ad));
    const __m256 ds = _mm256_mul_ps(ad, _mm256_cvtepi32_ps(load256(a.sum + 8 * i)));
    mins = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(half(w[i].dmin)), mn), ds, mins);
    __m512i high = _mm512_setzero_si512();
    if constexpr (kFifthBit) high = _mm512_broadcast_i64x4(load256(w[i].qh));
    for (int c = 0; c < 4; ++c) {
      const __m512i bytes = _mm512_broadcast_i64x4(load256(w[i].qs + 32 * c));
      __m512i q = _mm512_and_si512(_mm512_srlv_epi16(bytes, shift), low4);
      if constexpr (kFifthBit) q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(high, fifth[c]), q, sixteen);
      const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, load512(a.q + 32 * (8 * i + 2 * c)));
      acc[c & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(pick[c], scale), acc[c & 1]);
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1])) - hsum256(mins);
}

// Q6_K: per half block (64 bytes of ql, 32 of qh), two pairs of groups: the
// low nibbles of ql (groups 0, 1 of the half) and the high ones (2, 3), each
// with its two bits of qh; the 16-value sub-scales enter through vpmaddwd.
float dot_q6_k(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  const __m512i low4 = _mm512_set1_epi8(0xF), three = _mm512_set1_epi8(3), bias = _mm512_set1_epi8(32);
  const __m512i qh_shift[2] = {halves16(0, 2), halves16(4, 6)};
  __m512i pick[4], sc_pick[4];  // pair p: groups 2p, 2p + 1 of the block; their scales 4p .. 4p + 3
  for (int p = 0; p < 4; ++p) {
    pick[p] = halves32(2 * p, 2 * p + 1);
    alignas(64) int16_t idx[32];
    for (int l = 0; l < 32; ++l) idx[l] = static_cast<int16_t>(4 * p + l / 8);
    sc_pick[p] = _mm512_load_si512(idx);
  }
  for (int64_t i = 0; i < blocks; ++i) {
    prefetch(w + i, 4);
    const __m512 scale =
        _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_set1_ps(half(w[i].d)), _mm256_loadu_ps(a.d + 8 * i)));
    const __m512i sc16 =
        _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].scales))));
    for (int n = 0; n < 2; ++n) {
      const __m512i ql = load512(w[i].ql + 64 * n);
      const __m512i qh = _mm512_broadcast_i64x4(load256(w[i].qh + 32 * n));
      for (int h = 0; h < 2; ++h) {
        const int p = 2 * n + h;
        const __m512i lows = _mm512_and_si512(h == 0 ? ql : _mm512_srli_epi16(ql, 4), low4);
        const __m512i highs = _mm512_and_si512(_mm512_srlv_epi16(qh, qh_shift[h]), three);
        const __m512i q = _mm512_sub_epi8(_mm512_or_si512(lows, _mm512_slli_epi16(highs, 4)), bias);
        const __m512i a8 = load512(a.q + 32 * (8 * i + 2 * p));
        const __m512i signed_a = _mm512_mask_sub_epi8(a8, _mm512_movepi8_mask(q), _mm512_setzero_si512(), a8);
        const __m512i p16 = _mm512_maddubs_epi16(_mm512_abs_epi8(q), signed_a);
        const __m512i s = _mm512_madd_epi16(p16, _mm512_permutexvar_epi16(sc_pick[p], sc16));
        acc[h] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(pick[p], scale), acc[h]);
      }
    }
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
}

}  // namespace

const QuantDotKernels kQuantDotAvx512 = {dot_q8_0, dot_q4_0, dot_k4<false, BlockQ4_K>, dot_k4<true, BlockQ5_K>,
                                         dot_q6_k};

}  // namespace deskpilot::kernels

#endif  // DESKPILOT_QUANT_AVX512
