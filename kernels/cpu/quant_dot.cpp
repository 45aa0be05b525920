#include "kernels/cpu/quant_dot.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__AVX2__) && defined(__F16C__)
#define DESKPILOT_QUANT_AVX2 1
#include "kernels/cpu/quant_simd.h"
#endif

#include "kernels/cpu/quant_dot_avx512.h"

#include "kernels/quant.h"

namespace deskpilot::kernels {

namespace {

// x (n) -> q (n) = x / scale to nearest, with scale = max|x| / 127 (returned).
float quantize_with_one_scale(const float* x, int n, int8_t* q) {
  float amax = 0.0f;
  for (int l = 0; l < n; ++l) amax = std::max(amax, std::fabs(x[l]));
  const float scale = amax / 127.0f;
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int l = 0; l < n; ++l) q[l] = static_cast<int8_t>(static_cast<int>(std::nearbyint(x[l] * inv)));
  return scale;
}

int32_t sum_of(const int8_t* q, int n) {
  int32_t s = 0;
  for (int l = 0; l < n; ++l) s += q[l];
  return s;
}

}  // namespace

void quantize_activations(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum) {
  for (int64_t g = 0; g < k / 32; ++g) {
    d[g] = quantize_with_one_scale(x + 32 * g, 32, q + 32 * g);
    sum[g] = sum_of(q + 32 * g, 32);
  }
}

void quantize_activations_superblock(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum,
                                     int16_t* sum16) {
  for (int64_t b = 0; b < k / 256; ++b) {
    const float scale = quantize_with_one_scale(x + 256 * b, 256, q + 256 * b);
    for (int64_t h = 16 * b; h < 16 * b + 16; ++h) sum16[h] = static_cast<int16_t>(sum_of(q + 16 * h, 16));
    for (int64_t g = 8 * b; g < 8 * b + 8; ++g) {
      d[g] = scale;
      sum[g] = sum16[2 * g] + sum16[2 * g + 1];
    }
  }
}

bool takes_superblock_activations(DType type) {
  return type == DType::kQ4_K || type == DType::kQ5_K || type == DType::kQ6_K;
}

bool linear_quantizes_per_superblock(DType type) {
#if defined(DESKPILOT_QUANT_AVX2) && !defined(DESKPILOT_QUANT_AVX512)
  return takes_superblock_activations(type);
#else
  (void)type;
  return false;
#endif
}

bool has_quant_dot(DType type) { return is_quantized(type); }

namespace {

// ---- the plain versions ----

float dot_q8_0_ref(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ8_0*>(row);
  float acc = 0.0f;
  for (int64_t i = 0; i < blocks; ++i) {
    int32_t s = 0;
    for (int l = 0; l < 32; ++l) s += w[i].qs[l] * a.q[32 * i + l];
    acc += f16_to_f32(w[i].d) * a.d[i] * static_cast<float>(s);
  }
  return acc;
}

float dot_q4_0_ref(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ4_0*>(row);
  float acc = 0.0f;
  for (int64_t i = 0; i < blocks; ++i) {
    const int8_t* q = a.q + 32 * i;
    int32_t s = 0;
    for (int l = 0; l < 16; ++l) s += ((w[i].qs[l] & 0xF) - 8) * q[l] + ((w[i].qs[l] >> 4) - 8) * q[l + 16];
    acc += f16_to_f32(w[i].d) * a.d[i] * static_cast<float>(s);
  }
  return acc;
}

// Q4_K and Q5_K: sum over sub-blocks of d*sc_j * d_g * Σ q·a  -  dmin*m_j * d_g
// * Σ a.
template <bool kFifthBit, typename Block>
float dot_k4_ref(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const Block*>(row);
  float acc = 0.0f;
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = f16_to_f32(w[i].d), dmin = f16_to_f32(w[i].dmin);
    for (int j = 0; j < 8; ++j) {
      const int64_t g = 8 * i + j;
      const uint8_t* bytes = w[i].qs + 32 * (j / 2);
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (j % 2 == 0) ? (bytes[l] & 0xF) : (bytes[l] >> 4);
        if constexpr (kFifthBit) q += ((w[i].qh[l] >> j) & 1) << 4;
        s += q * a.q[32 * g + l];
      }
      uint8_t sc, m;
      k4_scale_min(w[i].scales, j, &sc, &m);
      acc += d * static_cast<float>(sc) * a.d[g] * static_cast<float>(s) -
             dmin * static_cast<float>(m) * a.d[g] * static_cast<float>(a.sum[g]);
    }
  }
  return acc;
}

float dot_q6_k_ref(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  float acc = 0.0f;
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = f16_to_f32(w[i].d);
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = w[i].ql + 64 * n;
      const uint8_t* qh = w[i].qh + 32 * n;
      for (int t = 0; t < 4; ++t) {  // group of 32: low/high nibbles of ql[0:32]
                                     // or ql[32:64], qh bits 2t
        const int64_t g = 8 * i + 4 * n + t;
        const uint8_t* lo = ql + 32 * (t % 2);
        int32_t s = 0;
        for (int l = 0; l < 32; ++l) {
          const int q = (((t < 2) ? (lo[l] & 0xF) : (lo[l] >> 4)) | (((qh[l] >> (2 * t)) & 3) << 4)) - 32;
          s += w[i].scales[8 * n + 2 * t + l / 16] * q * a.q[32 * g + l];
        }
        acc += d * a.d[g] * static_cast<float>(s);
      }
    }
  }
  return acc;
}

#ifdef DESKPILOT_QUANT_AVX2

using quant_simd::half;
using quant_simd::hsum256;
using quant_simd::k4_scales_and_mins;
using quant_simd::load256;
using quant_simd::prefetch;

// Σ w·a over 32 signed bytes, as 8 int32 lanes: |w| (unsigned) times a with w's
// sign.
inline __m256i dot_signed(__m256i w, __m256i a) {
  const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
  return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// The sum over blocks i of block(i, acc) in two sums, even and odd blocks,
// so that the FMA latency does not bound the stream; each its own variable:
// indexed as acc[i & 1], GCC kept them in memory, and every block waited on
// the store of the one before last.
template <typename Block>
float sum_even_odd(int64_t blocks, Block block) {
  __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= blocks; i += 2) {
    even = block(i, even);
    odd = block(i + 1, odd);
  }
  if (i < blocks) even = block(i, even);
  return hsum256(_mm256_add_ps(even, odd));
}

float dot_q8_0(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ8_0*>(row);
  return sum_even_odd(blocks, [&](int64_t i, __m256 acc) {
    if (i % 2 == 0) prefetch(w + i, 2);
    const __m256i s = dot_signed(load256(w[i].qs), load256(a.q + 32 * i));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(w[i].d) * a.d[i]), acc);
  });
}

float dot_q4_0(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ4_0*>(row);
  const __m256i low4 = _mm256_set1_epi8(0xF), eight = _mm256_set1_epi8(8);
  return sum_even_odd(blocks, [&](int64_t i, __m256 acc) {
    if (i % 4 == 0) prefetch(w + i, 2);
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4),
                                          bytes);  // low nibbles: weights 0..15
    const __m256i q = _mm256_sub_epi8(_mm256_and_si256(both, low4), eight);
    const __m256i s = dot_signed(q, load256(a.q + 32 * i));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(half(w[i].d) * a.d[i]), acc);
  });
}

// Superblock activations: one activation scale d_a per 256 values, so a
// block's whole sum stays in integers, its sub-scales multiplied in by
// vpmaddwd, and is converted once.

// For vpshufb on a vector of eight int16 scales (in both 128-bit lanes):
// scale j in every int16 of both lanes.
inline __m256i broadcast16_control(int j) { return _mm256_set1_epi16(static_cast<int16_t>((2 * j + 1) << 8 | 2 * j)); }

// Q4_K and Q5_K: d_a * (d * Σ_j sc_j Σ q·a  -  dmin * Σ_j m_j sum_j).
template <bool kFifthBit, typename Block>
float dot_k4(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const Block*>(row);
  __m256 acc = _mm256_setzero_ps(), mins = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0xF);
  // Bytes 8-15 of k4_scales_and_mins (the mins), each twice: m_j for both halves of group j.
  const __m128i mins_twice = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  for (int64_t i = 0; i < blocks; ++i) {
    prefetch(w + i, 3);
    const __m128i sm = k4_scales_and_mins(w[i].scales);
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));  // (8) int16 scales, both lanes
    const __m256i m = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, mins_twice));  // (16) m_{h / 2}
    const __m256i msum = _mm256_madd_epi16(m, load256(a.sum16 + 16 * i));   // (8) m_j sum_j
    __m256i high = _mm256_setzero_si256();
    if constexpr (kFifthBit) high = load256(w[i].qh);
    const int8_t* q8 = a.q + 256 * i;
    __m256i sum = _mm256_setzero_si256();  // (8) partial Σ_j sc_j Σ q·a
    for (int c = 0; c < 4; ++c) {
      const __m256i bytes = load256(w[i].qs + 32 * c);
      __m256i q0 = _mm256_and_si256(bytes, low4);
      __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
      if constexpr (kFifthBit) {
        const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
        const __m256i b1 = _mm256_set1_epi8(static_cast<char>(2 << (2 * c)));
        const __m256i sixteen = _mm256_set1_epi8(16);
        q0 = _mm256_or_si256(q0, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, b0), b0), sixteen));
        q1 = _mm256_or_si256(q1, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, b1), b1), sixteen));
      }
      // |q·a pair| <= 31 * 127 * 2: no saturation in vpmaddubsw.
      const __m256i p0 = _mm256_maddubs_epi16(q0, load256(q8 + 64 * c));
      const __m256i p1 = _mm256_maddubs_epi16(q1, load256(q8 + 64 * c + 32));
      const __m256i s0 = _mm256_madd_epi16(p0, _mm256_shuffle_epi8(sc, broadcast16_control(2 * c)));
      const __m256i s1 = _mm256_madd_epi16(p1, _mm256_shuffle_epi8(sc, broadcast16_control(2 * c + 1)));
      sum = _mm256_add_epi32(sum, _mm256_add_epi32(s0, s1));
    }
    const float da = a.d[8 * i];
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(half(w[i].d) * da), acc);
    mins = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(half(w[i].dmin) * da), mins);
  }
  return hsum256(_mm256_sub_ps(acc, mins));
}

// Q6_K: d_a * d * (Σ_h sc_h Σ q·a  -  32 Σ_h sc_h sum16_h) over the sixteen
// 16-value parts h, q in 0..63 (unsigned, so no sign trick).
float dot_q6_k(const void* row, const QuantizedActivations& a, int64_t blocks) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  __m256 acc = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0xF), top2 = _mm256_set1_epi8(0x30);
  // Group t's two scales: sc_{2t} in the low 128-bit lane, sc_{2t+1} in the high one.
  __m256i control[4];
  for (int t = 0; t < 4; ++t)
    control[t] = _mm256_setr_m128i(_mm_set1_epi16(static_cast<int16_t>((4 * t + 1) << 8 | 4 * t)),
                                   _mm_set1_epi16(static_cast<int16_t>((4 * t + 3) << 8 | (4 * t + 2))));
  for (int64_t i = 0; i < blocks; ++i) {
    prefetch(w + i, 4);
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i].scales)));  // (16)
    const __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(sc, load256(a.sum16 + 16 * i)), 5);  // (8) 32 sc·sum16
    const int8_t* q8 = a.q + 256 * i;
    // Each half-block's eight scales in both lanes: sc_{0..7}, sc_{8..15}.
    const __m256i halves[2] = {_mm256_permute2x128_si256(sc, sc, 0x00), _mm256_permute2x128_si256(sc, sc, 0x11)};
    __m256i sum = _mm256_setzero_si256();  // (8) partial Σ_h sc_h Σ q·a
    for (int n = 0; n < 2; ++n) {
      const __m256i scn = halves[n];
      const __m256i l0 = load256(w[i].ql + 64 * n), l1 = load256(w[i].ql + 64 * n + 32);
      const __m256i hb = load256(w[i].qh + 32 * n);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), top2)),
          _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(hb, top2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                          _mm256_and_si256(_mm256_srli_epi16(hb, 2), top2))};
      for (int t = 0; t < 4; ++t) {
        // |q·a pair| <= 63 * 127 * 2: no saturation in vpmaddubsw.
        const __m256i p = _mm256_maddubs_epi16(q[t], load256(q8 + 128 * n + 32 * t));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(scn, control[t])));
      }
    }
    const __m256 scale = _mm256_set1_ps(half(w[i].d) * a.d[8 * i]);
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sum, bias)), scale, acc);
  }
  return hsum256(acc);
}

// 32 unsigned (or, with `is_signed`, signed) bytes times a per-16 scale, to FP32.
inline void bytes_to_floats(__m256i v, bool is_signed, float s0, float s1, float* out) {
  alignas(32) uint8_t tmp[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
  for (int part = 0; part < 4; ++part) {
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(tmp + 8 * part));
    const __m256i i32 = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    _mm256_storeu_ps(out + 8 * part, _mm256_mul_ps(_mm256_set1_ps(part < 2 ? s0 : s1), _mm256_cvtepi32_ps(i32)));
  }
}

// (scale * q) - offset for 32 unsigned q: two roundings, as the reference.
inline void affine_to_floats(__m256i v, float scale, float offset, float* out) {
  alignas(32) uint8_t tmp[32];
  _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), v);
  for (int part = 0; part < 4; ++part) {
    const __m256i i32 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(tmp + 8 * part)));
    const __m256 p = _mm256_mul_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(i32));
    _mm256_storeu_ps(out + 8 * part, _mm256_sub_ps(p, _mm256_set1_ps(offset)));
  }
}

void dequantize_avx2(DType type, const void* src, float* y, int64_t n) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  switch (type) {
    case DType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(src);
      for (int64_t i = 0; i < n / 32; ++i, y += 32) {
        const float d = half(b[i].d);
        bytes_to_floats(load256(b[i].qs), true, d, d, y);
      }
      return;
    }
    case DType::kQ4_0: {
      const auto* b = static_cast<const BlockQ4_0*>(src);
      for (int64_t i = 0; i < n / 32; ++i, y += 32) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
        const __m256i both = _mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes);
        const __m256i q = _mm256_sub_epi8(_mm256_and_si256(both, low4), _mm256_set1_epi8(8));
        const float d = half(b[i].d);
        bytes_to_floats(q, true, d, d, y);
      }
      return;
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool five = type == DType::kQ5_K;
      for (int64_t i = 0; i < n / 256; ++i) {
        const uint8_t *scales, *qs;
        uint16_t dh, dminh;
        __m256i high = _mm256_setzero_si256();
        if (five) {
          const auto* b = static_cast<const BlockQ5_K*>(src) + i;
          dh = b->d, dminh = b->dmin, scales = b->scales, qs = b->qs, high = load256(b->qh);
        } else {
          const auto* b = static_cast<const BlockQ4_K*>(src) + i;
          dh = b->d, dminh = b->dmin, scales = b->scales, qs = b->qs;
        }
        const float d = half(dh), dmin = half(dminh);
        for (int c = 0; c < 4; ++c) {
          const __m256i bytes = load256(qs + 32 * c);
          __m256i q[2] = {_mm256_and_si256(bytes, low4), _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4)};
          for (int h = 0; h < 2; ++h) {
            const int j = 2 * c + h;
            if (five) {
              const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << j));
              q[h] = _mm256_or_si256(q[h], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, bit), bit),
                                                            _mm256_set1_epi8(16)));
            }
            uint8_t sc, m;
            k4_scale_min(scales, j, &sc, &m);
            affine_to_floats(q[h], d * static_cast<float>(sc), dmin * static_cast<float>(m), y);
            y += 32;
          }
        }
      }
      return;
    }
    case DType::kQ6_K: {
      const auto* b = static_cast<const BlockQ6_K*>(src);
      const __m256i three = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
      for (int64_t i = 0; i < n / 256; ++i) {
        const float d = half(b[i].d);
        for (int half_block = 0; half_block < 2; ++half_block) {
          const __m256i l0 = load256(b[i].ql + 64 * half_block), l1 = load256(b[i].ql + 64 * half_block + 32);
          const __m256i hb = load256(b[i].qh + 32 * half_block);
          const __m256i lows[4] = {_mm256_and_si256(l0, low4), _mm256_and_si256(l1, low4),
                                   _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                                   _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4)};
          for (int t = 0; t < 4; ++t) {
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * t), three);
            const __m256i q = _mm256_sub_epi8(_mm256_or_si256(lows[t], _mm256_slli_epi16(hi, 4)), bias);
            const int8_t* sc = b[i].scales + 8 * half_block + 2 * t;
            bytes_to_floats(q, true, d * static_cast<float>(sc[0]), d * static_cast<float>(sc[1]), y);
            y += 32;
          }
        }
      }
      return;
    }
    default: return dequantize(type, src, y, n);
  }
}

#endif  // DESKPILOT_QUANT_AVX2

const QuantDotKernels kQuantDotPlain = {dot_q8_0_ref, dot_q4_0_ref, dot_k4_ref<false, BlockQ4_K>,
                                        dot_k4_ref<true, BlockQ5_K>, dot_q6_k_ref};
#ifdef DESKPILOT_QUANT_AVX2
const QuantDotKernels kQuantDotAvx2 = {dot_q8_0, dot_q4_0, dot_k4<false, BlockQ4_K>, dot_k4<true, BlockQ5_K>,
                                       dot_q6_k};
#endif

// `path`'s own kernels, or nullptr where this build lacks them (kWidest is not one ISA).
const QuantDotKernels* own_kernels(QuantDotPath path) {
  switch (path) {
    case QuantDotPath::kPlain:
      return &kQuantDotPlain;
    case QuantDotPath::kAvx2:
#ifdef DESKPILOT_QUANT_AVX2
      return &kQuantDotAvx2;
#else
      return nullptr;
#endif
    case QuantDotPath::kAvx512:
#ifdef DESKPILOT_QUANT_AVX512
      return &kQuantDotAvx512;
#else
      return nullptr;
#endif
    case QuantDotPath::kWidest:
      return nullptr;
  }
  return nullptr;
}

// What quant_dot() runs for `path`: its own kernels, or the next narrower ones this build has.
const QuantDotKernels& kernels_for(QuantDotPath path) {
  constexpr QuantDotPath kWidestFirst[] = {QuantDotPath::kAvx512, QuantDotPath::kAvx2, QuantDotPath::kPlain};
  const int start = path == QuantDotPath::kAvx2 ? 1 : path == QuantDotPath::kPlain ? 2 : 0;
  for (int i = start; i < 3; ++i) {
    if (const QuantDotKernels* k = own_kernels(kWidestFirst[i])) return *k;
  }
  return kQuantDotPlain;
}

}  // namespace

void dequantize_fast(DType type, const void* src, float* dst, int64_t n) {
#ifdef DESKPILOT_QUANT_AVX2
  dequantize_avx2(type, src, dst, n);
#else
  dequantize(type, src, dst, n);
#endif
}

bool has_quant_dot_path(QuantDotPath path) { return path == QuantDotPath::kWidest || own_kernels(path) != nullptr; }

QuantDotFn quant_dot_kernel(DType type, bool superblock, QuantDotPath path) {
  const QuantDotKernels* kernels = &kernels_for(path);
#ifdef DESKPILOT_QUANT_AVX2
  // The AVX2 K-quant kernels read the superblock sums.
  if (kernels == &kQuantDotAvx2 && takes_superblock_activations(type) && !superblock) kernels = &kQuantDotPlain;
#else
  (void)superblock;
#endif
  switch (type) {
    case DType::kQ8_0:
      return kernels->q8_0;
    case DType::kQ4_0:
      return kernels->q4_0;
    case DType::kQ4_K:
      return kernels->q4_k;
    case DType::kQ5_K:
      return kernels->q5_k;
    case DType::kQ6_K:
      return kernels->q6_k;
    default:
      return nullptr;
  }
}

float quant_dot(DType type, const void* row, const QuantizedActivations& a, int64_t k, QuantDotPath path) {
  const QuantDotFn kernel = quant_dot_kernel(type, a.sum16 != nullptr, path);
  return kernel ? kernel(row, a, k / dtype_block(type)) : 0.0f;
}

const char* quant_dot_isa() {
#if defined(DESKPILOT_QUANT_AVX512)
  return "avx512-vnni";
#elif defined(DESKPILOT_QUANT_AVX2)
  return "avx2";
#else
  return "scalar";
#endif
}

}  // namespace deskpilot::kernels
