#include "kernels/cpu/gemm_fused.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/quant_dot.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define DESKPILOT_FUSED_GEMM 1
#include <immintrin.h>
#endif

namespace deskpilot::kernels {

#ifdef DESKPILOT_FUSED_GEMM

namespace {

constexpr int64_t kPanel = 16;  // x rows per panel: two 8-lane vectors
constexpr int64_t kTile = 6;    // weight rows per micro-kernel tile

// Columns [k0, k0 + len) of weight row `row` (k columns of `t`) as FP32.
// A block type's k0 and len are multiples of its block.
void convert_slice(const void* w, DType t, int64_t row, int64_t k, int64_t k0, int64_t len, float* out) {
  switch (t) {
    case DType::kF32:
      std::memcpy(out, static_cast<const float*>(w) + row * k + k0, sizeof(float) * len);
      return;
    case DType::kBF16:
    case DType::kF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w) + row * k + k0;
      int64_t i = 0;
      for (; i + 8 <= len; i += 8) {
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
        const __m256 v = t == DType::kBF16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16))
                                           : _mm256_cvtph_ps(raw);
        _mm256_storeu_ps(out + i, v);
      }
      for (; i < len; ++i) out[i] = t == DType::kBF16 ? bf16_to_f32(src[i]) : f16_to_f32(src[i]);
      return;
    }
    default: {
      const uint8_t* src = static_cast<const uint8_t*>(w) + row * dtype_bytes(t, k) + dtype_bytes(t, k0);
      dequantize_fast(t, src, out, len);
      return;
    }
  }
}

// ct[r * ldc + 0..15] (+)= Σ_kk xp[16 kk + 0..15] · w[r * ldw + kk] for the
// six weight rows r of a tile: xp is one x panel's slice (kc, 16), w the
// tile's rows of the converted slice.
inline void tile_16x6(const float* xp, const float* w, int64_t ldw, int64_t kc, float* ct, int64_t ldc,
                      bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw, *w4 = w + 4 * ldw, *w5 = w + 5 * ldw;
#pragma GCC unroll 4
  for (int64_t kk = 0; kk < kc; ++kk) {
    const __m256 x0 = _mm256_loadu_ps(xp + kPanel * kk), x1 = _mm256_loadu_ps(xp + kPanel * kk + 8);
    __m256 b = _mm256_broadcast_ss(w0 + kk);
    c00 = _mm256_fmadd_ps(x0, b, c00);
    c01 = _mm256_fmadd_ps(x1, b, c01);
    b = _mm256_broadcast_ss(w1 + kk);
    c10 = _mm256_fmadd_ps(x0, b, c10);
    c11 = _mm256_fmadd_ps(x1, b, c11);
    b = _mm256_broadcast_ss(w2 + kk);
    c20 = _mm256_fmadd_ps(x0, b, c20);
    c21 = _mm256_fmadd_ps(x1, b, c21);
    b = _mm256_broadcast_ss(w3 + kk);
    c30 = _mm256_fmadd_ps(x0, b, c30);
    c31 = _mm256_fmadd_ps(x1, b, c31);
    b = _mm256_broadcast_ss(w4 + kk);
    c40 = _mm256_fmadd_ps(x0, b, c40);
    c41 = _mm256_fmadd_ps(x1, b, c41);
    b = _mm256_broadcast_ss(w5 + kk);
    c50 = _mm256_fmadd_ps(x0, b, c50);
    c51 = _mm256_fmadd_ps(x1, b, c51);
  }
  const __m256 acc[kTile][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int64_t r = 0; r < kTile; ++r) {
    float* out = ct + r * ldc;
    for (int h = 0; h < 2; ++h) {
      const __m256 prior = accumulate ? _mm256_loadu_ps(out + 8 * h) : _mm256_setzero_ps();
      _mm256_storeu_ps(out + 8 * h, _mm256_add_ps(prior, acc[r][h]));
    }
  }
}

// x (m, k) into panels (m_pad / 16, k, 16), rows past m zero.
void pack_x(const float* x, int64_t m, int64_t k, int64_t m_pad, float* xp) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < m_pad / kPanel; ++p) {
    float* panel = xp + p * k * kPanel;  // (k, 16)
    for (int64_t l = 0; l < kPanel; ++l) {
      const int64_t i = p * kPanel + l;
      if (i < m) {
        const float* row = x + i * k;
        for (int64_t kk = 0; kk < k; ++kk) panel[kk * kPanel + l] = row[kk];
      } else {
        for (int64_t kk = 0; kk < k; ++kk) panel[kk * kPanel + l] = 0.0f;
      }
    }
  }
}

}  // namespace

bool has_fused_gemm() { return true; }

bool fused_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                float* y, int64_t ldy) {
  if (m <= 0 || n <= 0) return true;
  const int64_t m_pad = (m + kPanel - 1) / kPanel * kPanel;
  // x packed, (m_pad / 16, k, 16): the calling thread's buffer, kept between
  // calls up to kKeptFloats (a long prompt's is given back after its call).
  constexpr int64_t kKeptFloats = int64_t{16} << 20;
  thread_local std::vector<float> kept;
  std::vector<float> once;
  std::vector<float>& xp_buffer = m_pad * k <= kKeptFloats ? kept : once;
  xp_buffer.resize(static_cast<size_t>(m_pad * k));
  float* xp = xp_buffer.data();
  pack_x(x, m, k, m_pad, xp);
  const int64_t blocks = (n + kFusedBlockRows - 1) / kFusedBlockRows;
  const int64_t chunks = (m_pad + kFusedChunkRows - 1) / kFusedChunkRows;
#pragma omp parallel
  {
    std::vector<float> slice(static_cast<size_t>(kFusedBlockRows * kFusedDepth));  // (48, 256) converted weights
    std::vector<float> ct(static_cast<size_t>(kFusedBlockRows * kFusedChunkRows));  // (48, 256) the tile's sums
    // Chunk-major: the threads share one chunk of x (in L3) while they take its blocks.
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < chunks * blocks; ++task) {
      const int64_t c = task / blocks, b = task % blocks;
      const int64_t i0 = c * kFusedChunkRows, rows = std::min(kFusedChunkRows, m_pad - i0);  // rows: whole panels
      const int64_t j0 = b * kFusedBlockRows, nb = std::min(kFusedBlockRows, n - j0);
      const int64_t tiles = (nb + kTile - 1) / kTile;
      for (int64_t k0 = 0; k0 < k; k0 += kFusedDepth) {
        const int64_t kc = std::min(kFusedDepth, k - k0);
        for (int64_t r = 0; r < tiles * kTile; ++r) {
          float* dst = slice.data() + r * kc;  // rows at stride kc
          if (r < nb) {
            convert_slice(w, wtype, j0 + r, k, k0, kc, dst);
          } else {
            std::fill(dst, dst + kc, 0.0f);  // the last tile's rows past n
          }
        }
        for (int64_t p = 0; p < rows / kPanel; ++p) {
          const float* panel = xp + ((i0 / kPanel + p) * k + k0) * kPanel;  // (kc, 16)
          for (int64_t t = 0; t < tiles; ++t)
            tile_16x6(panel, slice.data() + t * kTile * kc, kc, kc,
                      ct.data() + t * kTile * kFusedChunkRows + p * kPanel, kFusedChunkRows, k0 > 0);
        }
      }
      for (int64_t i = i0; i < std::min(m, i0 + rows); ++i) {
        float* yi = y + i * ldy + j0;
        for (int64_t r = 0; r < nb; ++r)
          yi[r] = ct[static_cast<size_t>(r * kFusedChunkRows + i - i0)] + (bias ? bias[j0 + r] : 0.0f);
      }
    }
  }
  return true;
}

#else

bool has_fused_gemm() { return false; }
bool fused_gemm(const float*, int64_t, int64_t, const void*, DType, int64_t, const float*, float*, int64_t) {
  return false;
}

#endif

}  // namespace deskpilot::kernels
