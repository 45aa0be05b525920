#include "kernels/cpu/gemm_vnni.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/quant_dot.h"
#include "kernels/cpu/scratch.h"
#include "kernels/quant.h"

#if defined(__AVX2__) && defined(__FMA__)
#define DESKPILOT_INT_GEMM 1  // the AVX2 tile, and what both tiles share
#include <immintrin.h>
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define DESKPILOT_VNNI_GEMM 1
#include "kernels/cpu/avx512_warnings.h"
#endif

namespace deskpilot::kernels {

#ifdef DESKPILOT_INT_GEMM

namespace {

// Weights per group (one a, c pair) of `type`; 0 where this GEMM does not take it.
int64_t group_size(DType type) {
  switch (type) {
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_K:
    case DType::kQ5_K:
      return 32;
    case DType::kQ6_K:
      return 16;
    default:
      return 0;
  }
}

// Q4_K / Q5_K: sub-block j of 32 weights in the low (j even) or high nibbles
// of 32 bytes, plus bit j of qh as the fifth bit.
template <bool kFifthBit, typename Block>
void unpack_k4(const Block* b, int64_t blocks, uint8_t* u, float* a, float* c) {
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      k4_scale_min(b[i].scales, j, &sc, &m);
      a[8 * i + j] = d * sc;
      c[8 * i + j] = -(dmin * m);
      const uint8_t* qs = b[i].qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        int q = j % 2 == 0 ? qs[l] & 0xF : qs[l] >> 4;
        if constexpr (kFifthBit) q |= ((b[i].qh[l] >> j) & 1) << 4;
        u[256 * i + 32 * j + l] = static_cast<uint8_t>(q);
      }
    }
  }
}

// One weight row, k values of `type`, as u (k) and the factors a, c (k / G).
void unpack_row(const void* row, DType type, int64_t k, uint8_t* u, float* a, float* c) {
  switch (type) {
    case DType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(row);
      for (int64_t i = 0; i < k / 32; ++i) {
        const float d = f16_to_f32(b[i].d);
        a[i] = d;
        c[i] = -128.0f * d;
        for (int l = 0; l < 32; ++l) u[32 * i + l] = static_cast<uint8_t>(b[i].qs[l] + 128);
      }
      return;
    }
    case DType::kQ4_0: {
      const auto* b = static_cast<const BlockQ4_0*>(row);
      for (int64_t i = 0; i < k / 32; ++i) {
        const float d = f16_to_f32(b[i].d);
        a[i] = d;
        c[i] = -8.0f * d;
        for (int l = 0; l < 16; ++l) {
          u[32 * i + l] = b[i].qs[l] & 0xF;
          u[32 * i + l + 16] = b[i].qs[l] >> 4;
        }
      }
      return;
    }
    case DType::kQ4_K:
      return unpack_k4<false>(static_cast<const BlockQ4_K*>(row), k / 256, u, a, c);
    case DType::kQ5_K:
      return unpack_k4<true>(static_cast<const BlockQ5_K*>(row), k / 256, u, a, c);
    case DType::kQ6_K: {
      const auto* b = static_cast<const BlockQ6_K*>(row);
      for (int64_t i = 0; i < k / 256; ++i) {
        const float d = f16_to_f32(b[i].d);
        for (int g = 0; g < 16; ++g) {
          a[16 * i + g] = d * b[i].scales[g];
          c[16 * i + g] = -32.0f * a[16 * i + g];
        }
        for (int n = 0; n < 2; ++n) {
          const uint8_t* ql = b[i].ql + 64 * n;
          const uint8_t* qh = b[i].qh + 32 * n;
          for (int t = 0; t < 4; ++t) {  // weights 128 n + 32 t + l: ql[0:32] or ql[32:64], qh bits 2t
            const uint8_t* lo = ql + 32 * (t % 2);
            for (int l = 0; l < 32; ++l) {
              const int q = (t < 2 ? lo[l] & 0xF : lo[l] >> 4) | (((qh[l] >> (2 * t)) & 3) << 4);
              u[256 * i + 128 * n + 32 * t + l] = static_cast<uint8_t>(q);
            }
          }
        }
      }
      return;
    }
    default:
      return;
  }
}

#ifdef DESKPILOT_VNNI_GEMM
// in (16, 16) 32-bit values, row stride `in_stride` bytes, transposed into
// out (16, 16), row stride `out_stride` bytes: unpacks of 32- then 64-bit
// pairs, then two rounds of 128-bit lane shuffles.
void transpose16x16(const uint8_t* in, int64_t in_stride, uint8_t* out, int64_t out_stride) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_si512(in + i * in_stride);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  // r[4b + j]: rows 4b..4b+3 of columns j, j + 4, j + 8, j + 12 (one 128-bit lane each).
  for (int j = 0; j < 4; ++j) {
    t[j] = _mm512_shuffle_i32x4(r[j], r[4 + j], _MM_SHUFFLE(2, 0, 2, 0));         // blocks 0, 1: columns j, j + 8
    t[4 + j] = _mm512_shuffle_i32x4(r[j], r[4 + j], _MM_SHUFFLE(3, 1, 3, 1));     // columns j + 4, j + 12
    t[8 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], _MM_SHUFFLE(2, 0, 2, 0)); // blocks 2, 3
    t[12 + j] = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], _MM_SHUFFLE(3, 1, 3, 1));
  }
  for (int j = 0; j < 4; ++j) {
    // columns j and j + 8 / j + 4 and j + 12, rows 0-15 in order.
    _mm512_storeu_si512(out + j * out_stride, _mm512_shuffle_i32x4(t[j], t[8 + j], _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_storeu_si512(out + (j + 8) * out_stride, _mm512_shuffle_i32x4(t[j], t[8 + j], _MM_SHUFFLE(3, 1, 3, 1)));
    _mm512_storeu_si512(out + (j + 4) * out_stride, _mm512_shuffle_i32x4(t[4 + j], t[12 + j], _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_storeu_si512(out + (j + 12) * out_stride,
                        _mm512_shuffle_i32x4(t[4 + j], t[12 + j], _MM_SHUFFLE(3, 1, 3, 1)));
  }
}

#endif

// Weight rows [j0, j0 + nb) as the micro-kernel reads them: u (k / 4, 32, 4)
// bytes, a and c (k / G, 32); rows past nb are zero (they give zero sums).
// rows_u (32, k), row_a, row_c (k / G): scratch.
void rewrite_block(const void* w, DType type, int64_t j0, int64_t nb, int64_t k, int64_t group, uint8_t* u, float* a,
                   float* c, uint8_t* rows_u, float* row_a, float* row_c) {
  const int64_t row_bytes = dtype_bytes(type, k), groups = k / group;
  for (int64_t j = 0; j < kVnniBlockRows; ++j) {
    uint8_t* ru = rows_u + j * k;
    if (j < nb) {
      unpack_row(static_cast<const uint8_t*>(w) + (j0 + j) * row_bytes, type, k, ru, row_a, row_c);
    } else {
      std::fill_n(ru, k, uint8_t{0});
      std::fill_n(row_a, groups, 0.0f);
      std::fill_n(row_c, groups, 0.0f);
    }
    for (int64_t g = 0; g < groups; ++g) {
      a[g * kVnniBlockRows + j] = row_a[g];
      c[g * kVnniBlockRows + j] = row_c[g];
    }
  }
  // (32, k) bytes -> (k / 4, 32, 4): 16 rows x 64 columns at a time, as 32-bit words.
  for (int64_t half = 0; half < 2; ++half) {
    int64_t t = 0;
#ifdef DESKPILOT_VNNI_GEMM
    for (; t + 64 <= k; t += 64)
      transpose16x16(rows_u + 16 * half * k + t, k, u + t * kVnniBlockRows + 64 * half, 4 * kVnniBlockRows);
#endif
    for (; t < k; t += 4)  // k's last 32 columns when k is not a multiple of 64 (all of k on AVX2 builds)
      for (int64_t j = 16 * half; j < 16 * half + 16; ++j) std::memcpy(u + t * kVnniBlockRows + 4 * j, rows_u + j * k + t, 4);
  }
}

constexpr int64_t kSliceColumns = 256;  // columns per pass over x: the slice's weights (8 KB) stay in L1

#ifdef DESKPILOT_VNNI_GEMM
// acc += u · x per 32-bit lane (vpdpbusd), in acc's own register: written
// as the intrinsic, GCC 12 copies each of the micro-kernel's eight sums to a
// new register and back at every column step (twice the instructions).
inline void dpbusd(__m512i& acc, __m512i u, __m512i x) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(x));
}

constexpr int64_t kTileRows = 4;  // x rows per VNNI micro-kernel call

// sums (4, 32) += rows r0..r0+3 of x times the block's 32 weight rows, over
// columns [c0, c1) (whole groups). xq (rows, k) int8; dx, ds (rows, k / G):
// each group's activation scale and that scale times the group's sum of q.
void tile_vnni(const int8_t* xq, const float* dx, const float* ds, int64_t r0, int64_t k, int64_t group, int64_t c0,
               int64_t c1, const uint8_t* u, const float* a, const float* c, float* sums) {
  const int64_t groups = k / group;
  __m512 acc[kTileRows][2];
  for (int64_t r = 0; r < kTileRows; ++r) {
    acc[r][0] = _mm512_loadu_ps(sums + r * kVnniBlockRows);
    acc[r][1] = _mm512_loadu_ps(sums + r * kVnniBlockRows + 16);
  }
  const int8_t* x0 = xq + r0 * k;
  for (int64_t g = c0 / group; g < c1 / group; ++g) {
    __m512i s[kTileRows][2];
    for (auto& row : s) row[0] = row[1] = _mm512_setzero_si512();
    for (int64_t t = g * group; t < (g + 1) * group; t += 4) {
      const __m512i w0 = _mm512_loadu_si512(u + t * kVnniBlockRows);       // rows 0-15, columns t..t+3
      const __m512i w1 = _mm512_loadu_si512(u + t * kVnniBlockRows + 64);  // rows 16-31
#pragma GCC unroll 4
      for (int64_t r = 0; r < kTileRows; ++r) {
        int32_t four;
        std::memcpy(&four, x0 + r * k + t, 4);
        const __m512i xb = _mm512_set1_epi32(four);
        dpbusd(s[r][0], w0, xb);
        dpbusd(s[r][1], w1, xb);
      }
    }
    const __m512 a0 = _mm512_loadu_ps(a + g * kVnniBlockRows), a1 = _mm512_loadu_ps(a + g * kVnniBlockRows + 16);
    const __m512 c0v = _mm512_loadu_ps(c + g * kVnniBlockRows), c1v = _mm512_loadu_ps(c + g * kVnniBlockRows + 16);
#pragma GCC unroll 4
    for (int64_t r = 0; r < kTileRows; ++r) {
      const __m512 d = _mm512_set1_ps(dx[(r0 + r) * groups + g]), dsum = _mm512_set1_ps(ds[(r0 + r) * groups + g]);
      acc[r][0] = _mm512_fmadd_ps(_mm512_mul_ps(a0, d), _mm512_cvtepi32_ps(s[r][0]), acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(_mm512_mul_ps(a1, d), _mm512_cvtepi32_ps(s[r][1]), acc[r][1]);
      acc[r][0] = _mm512_fmadd_ps(c0v, dsum, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(c1v, dsum, acc[r][1]);
    }
  }
  for (int64_t r = 0; r < kTileRows; ++r) {
    _mm512_storeu_ps(sums + r * kVnniBlockRows, acc[r][0]);
    _mm512_storeu_ps(sums + r * kVnniBlockRows + 16, acc[r][1]);
  }
}

#endif  // DESKPILOT_VNNI_GEMM

constexpr int64_t kAvx2TileRows = 2;  // x rows per AVX2 micro-kernel call (16 registers)

// The AVX2 tile: as tile_vnni, with vpmaddubsw (u · x in pairs, 16-bit
// sums, saturating) and vpmaddwd (pairs of those into 32-bit lanes) for
// vpdpbusd. Exact while u <= 63 (every type but Q8_0, whose u reaches
// 255): two column steps' 16-bit sums, each at most 2 · 63 · 127, are added
// before vpmaddwd and stay under 2^15. The FP32 steps are tile_vnni's, in
// its order: the same y, bit for bit.
void tile_avx2(const int8_t* xq, const float* dx, const float* ds, int64_t r0, int64_t k, int64_t group, int64_t c0,
               int64_t c1, const uint8_t* u, const float* a, const float* c, float* sums) {
  const int64_t groups = k / group;
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t* x0 = xq + r0 * k;
  for (int64_t g = c0 / group; g < c1 / group; ++g) {
    __m256i s[kAvx2TileRows][4];  // weight rows 8v..8v+7 per x row
    for (auto& row : s)
      for (auto& v : row) v = _mm256_setzero_si256();
    for (int64_t t = g * group; t < (g + 1) * group; t += 8) {
      __m256i xa[kAvx2TileRows], xb[kAvx2TileRows];  // x's columns t..t+3, t+4..t+7, in every lane
      for (int64_t r = 0; r < kAvx2TileRows; ++r) {
        int32_t four[2];
        std::memcpy(four, x0 + r * k + t, 8);
        xa[r] = _mm256_set1_epi32(four[0]);
        xb[r] = _mm256_set1_epi32(four[1]);
      }
#pragma GCC unroll 4
      for (int64_t v = 0; v < 4; ++v) {
        const __m256i wa = _mm256_load_si256(reinterpret_cast<const __m256i*>(u + t * kVnniBlockRows + 32 * v));
        const __m256i wb = _mm256_load_si256(reinterpret_cast<const __m256i*>(u + (t + 4) * kVnniBlockRows + 32 * v));
        for (int64_t r = 0; r < kAvx2TileRows; ++r) {
          const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(wa, xa[r]), _mm256_maddubs_epi16(wb, xb[r]));
          s[r][v] = _mm256_add_epi32(s[r][v], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
    for (int64_t r = 0; r < kAvx2TileRows; ++r) {
      const __m256 d = _mm256_set1_ps(dx[(r0 + r) * groups + g]), dsum = _mm256_set1_ps(ds[(r0 + r) * groups + g]);
      float* o = sums + r * kVnniBlockRows;
      for (int64_t v = 0; v < 4; ++v) {
        const __m256 av = _mm256_loadu_ps(a + g * kVnniBlockRows + 8 * v);
        const __m256 cv = _mm256_loadu_ps(c + g * kVnniBlockRows + 8 * v);
        __m256 acc = _mm256_loadu_ps(o + 8 * v);
        acc = _mm256_fmadd_ps(_mm256_mul_ps(av, d), _mm256_cvtepi32_ps(s[r][v]), acc);
        acc = _mm256_fmadd_ps(cv, dsum, acc);
        _mm256_storeu_ps(o + 8 * v, acc);
      }
    }
  }
}

using Tile = void (*)(const int8_t*, const float*, const float*, int64_t, int64_t, int64_t, int64_t, int64_t,
                      const uint8_t*, const float*, const float*, float*);

// y = x · wᵀ + bias through `tile`, which takes tile_rows rows of x at a time.
bool int_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
              float* y, int64_t ldy, Tile tile, int64_t tile_rows) {
  const int64_t group = group_size(wtype);
  if (group == 0 || k % dtype_block(wtype) != 0) return false;
  if (m <= 0 || n <= 0) return true;
  const int64_t m_pad = (m + tile_rows - 1) / tile_rows * tile_rows, groups = k / group;
  // x quantized as decode quantizes it; the padding rows are zero.
  std::vector<int8_t> xq(static_cast<size_t>(m_pad * k), 0);            // (m_pad, k)
  std::vector<float> dx(static_cast<size_t>(m_pad * groups), 0.0f);     // (m_pad, k / G)
  std::vector<float> ds(dx.size(), 0.0f);                               // (m_pad, k / G)
  const bool superblock = linear_quantizes_per_superblock(wtype);
#pragma omp parallel
  {
    std::vector<float> d(static_cast<size_t>(k / 32));       // (k / 32)
    std::vector<int32_t> sum(static_cast<size_t>(k / 32));    // (k / 32)
    std::vector<int16_t> sum16(superblock ? static_cast<size_t>(k / 16) : 0);  // (k / 16), superblock only
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      int8_t* q = xq.data() + i * k;
      if (superblock) {
        quantize_activations_superblock(x + i * k, k, q, d.data(), sum.data(), sum16.data());
      } else {
        quantize_activations(x + i * k, k, q, d.data(), sum.data());
      }
      for (int64_t g = 0; g < groups; ++g) {
        int32_t s = 0;
        for (int64_t t = g * group; t < (g + 1) * group; ++t) s += q[t];
        dx[i * groups + g] = d[g * group / 32];
        ds[i * groups + g] = d[g * group / 32] * static_cast<float>(s);
      }
    }
  }
  const int64_t blocks = (n + kVnniBlockRows - 1) / kVnniBlockRows;
#pragma omp parallel
  {
    // Each thread's block: u (k / 4, 32, 4), a and c (k / G, 32), its rows
    // unpacked (32, k) and one row's factors, and the block's sums (m_pad, 32); kept between calls.
    thread_local std::vector<uint8_t> u_buffer, rows_u_buffer;
    thread_local std::vector<float> factor_buffer, sums_buffer;
    uint8_t* u = aligned_scratch(u_buffer, kVnniBlockRows * k);
    uint8_t* rows_u = aligned_scratch(rows_u_buffer, kVnniBlockRows * k);
    float* factors = aligned_scratch(factor_buffer, 2 * groups * kVnniBlockRows + 3 * groups);
    float *a = factors, *c = a + groups * kVnniBlockRows, *row_a = c + groups * kVnniBlockRows,
          *row_c = row_a + groups;
    float* sums = aligned_scratch(sums_buffer, m_pad * kVnniBlockRows);
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t j0 = b * kVnniBlockRows, nb = std::min(kVnniBlockRows, n - j0);
      rewrite_block(w, wtype, j0, nb, k, group, u, a, c, rows_u, row_a, row_c);
      std::fill_n(sums, m_pad * kVnniBlockRows, 0.0f);
      // A slice of columns at a time, across all of x's rows: its weights stay in L1.
      for (int64_t c0 = 0; c0 < k; c0 += kSliceColumns) {
        const int64_t c1 = std::min(k, c0 + kSliceColumns);
        for (int64_t r0 = 0; r0 < m; r0 += tile_rows)
          tile(xq.data(), dx.data(), ds.data(), r0, k, group, c0, c1, u, a, c, sums + r0 * kVnniBlockRows);
      }
      for (int64_t r = 0; r < m; ++r) {
        float* yr = y + r * ldy + j0;
        const float* o = sums + r * kVnniBlockRows;
        for (int64_t j = 0; j < nb; ++j) yr[j] = o[j] + (bias ? bias[j0 + j] : 0.0f);
      }
    }
  }
  return true;
}

}  // namespace

bool has_vnni_gemm() {
#ifdef DESKPILOT_VNNI_GEMM
  return true;
#else
  return false;
#endif
}

bool vnni_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
               float* y, int64_t ldy) {
#ifdef DESKPILOT_VNNI_GEMM
  return int_gemm(x, m, k, w, wtype, n, bias, y, ldy, tile_vnni, kTileRows);
#else
  (void)x, (void)m, (void)k, (void)w, (void)wtype, (void)n, (void)bias, (void)y, (void)ldy;
  return false;
#endif
}

bool has_avx2_int_gemm() { return true; }

bool avx2_int_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                   float* y, int64_t ldy) {
  if (wtype == DType::kQ8_0) return false;  // u up to 255: vpmaddubsw would saturate
  return int_gemm(x, m, k, w, wtype, n, bias, y, ldy, tile_avx2, kAvx2TileRows);
}

#else

bool has_vnni_gemm() { return false; }
bool vnni_gemm(const float*, int64_t, int64_t, const void*, DType, int64_t, const float*, float*, int64_t) {
  return false;
}
bool has_avx2_int_gemm() { return false; }
bool avx2_int_gemm(const float*, int64_t, int64_t, const void*, DType, int64_t, const float*, float*, int64_t) {
  return false;
}

#endif

}  // namespace deskpilot::kernels
