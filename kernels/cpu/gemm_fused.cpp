#include "kernels/cpu/gemm_fused.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/quant_dot.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define DESKPILOT_FUSED_GEMM 1
#endif

namespace deskpilot::kernels {

void convert_weight_slice(const void* w, DType t, int64_t row, int64_t k, int64_t k0, int64_t len, float* out) {
  switch (t) {
    case DType::kF32:
      std::memcpy(out, static_cast<const float*>(w) + row * k + k0, sizeof(float) * len);
      return;
    case DType::kBF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w) + row * k + k0;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) {
        const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
        float v;
        std::memcpy(&v, &bits, sizeof v);
        out[i] = v;
      }
      return;
    }
    case DType::kF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w) + row * k + k0;
      int64_t i = 0;
#ifdef __F16C__
      for (; i + 8 <= len; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
#endif
      for (; i < len; ++i) out[i] = f16_to_f32(src[i]);
      return;
    }
    default:
      dequantize_fast(t, static_cast<const uint8_t*>(w) + row * dtype_bytes(t, k) + dtype_bytes(t, k0), out, len);
      return;
  }
}

#ifdef DESKPILOT_FUSED_GEMM

namespace {

constexpr int64_t kPanel = 16;  // x rows per panel: two 8-lane vectors
constexpr int64_t kTile = 6;    // weight rows per micro-kernel tile

// ct[r * ldc + 0..15] (+)= Σ_kk xp[16 kk + 0..15] · w[r * ldw + kk] for the
// six weight rows r of a tile: xp is one x panel's slice (kc, 16), w the
// tile's rows of the converted slice.
inline void tile_16x6(const float* xp, const float* w, int64_t ldw, int64_t kc, float* ct, int64_t ldc,
                      bool accumulate) {
  __m256 acc[kTile][2];  // 12 accumulators, all in registers once the loops over r unroll
#pragma GCC unroll 6
  for (int64_t r = 0; r < kTile; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
  for (int64_t kk = 0; kk < kc; ++kk) {
    const __m256 x0 = _mm256_loadu_ps(xp + kPanel * kk), x1 = _mm256_loadu_ps(xp + kPanel * kk + 8);
#pragma GCC unroll 6
    for (int64_t r = 0; r < kTile; ++r) {
      const __m256 b = _mm256_broadcast_ss(w + r * ldw + kk);
      acc[r][0] = _mm256_fmadd_ps(x0, b, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x1, b, acc[r][1]);
    }
  }
#pragma GCC unroll 6
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
            convert_weight_slice(w, wtype, j0 + r, k, k0, kc, dst);
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
