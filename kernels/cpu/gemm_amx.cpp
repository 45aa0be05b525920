#include "kernels/cpu/gemm_amx.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm_fused.h"
#include "kernels/cpu/scratch.h"

// (GCC spells the AMX macros __AMX_TILE__, clang 14 __AMXTILE__.)
#if (defined(__AMX_TILE__) || defined(__AMXTILE__)) && (defined(__AMX_BF16__) || defined(__AMXBF16__)) && \
    defined(__AVX512BF16__) && defined(__linux__)
#define DESKPILOT_AMX_GEMM 1
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace deskpilot::kernels {

namespace {

// v rounded to BF16 as the tile unit's conversion rounds it: nearest even,
// a subnormal input as a zero of its sign.
float round_bf16(float v) {
  if (std::fpclassify(v) == FP_SUBNORMAL) return std::copysign(0.0f, v);
  return bf16_to_f32(f32_to_bf16(v));
}

}  // namespace

void bf16_gemm_reference(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n,
                         const float* bias, float* y) {
  std::vector<float> xr(static_cast<size_t>(m * k)), row(static_cast<size_t>(k));  // (m, k), (k)
  for (int64_t i = 0; i < m * k; ++i) xr[i] = round_bf16(x[i]);
  for (int64_t j = 0; j < n; ++j) {
    convert_weight_slice(w, wtype, j, k, 0, k, row.data());
    for (float& v : row) v = round_bf16(v);
    for (int64_t i = 0; i < m; ++i) {
      double acc = 0.0;
      for (int64_t t = 0; t < k; ++t) acc += static_cast<double>(xr[i * k + t]) * row[t];
      y[i * n + j] = static_cast<float>(acc) + (bias ? bias[j] : 0.0f);
    }
  }
}

#ifdef DESKPILOT_AMX_GEMM

namespace {

constexpr int64_t kPanel = 16;  // x rows per B tile, weight rows per A tile
constexpr int64_t kStep = 32;   // BF16 columns per tile row (64 bytes)
constexpr int64_t kStepBytes = kStep * 2;
constexpr int64_t kAmxSliceColumns = 256;  // columns per pass over the panels: 16 KB of weight tiles

// The LDTILECFG operand: palette 1, eight tiles of 16 rows x 64 bytes. A
// constant in read-only data: GCC 12's _tile_loadconfig tells the compiler
// it reads 8 bytes, so the stores that build a config on the stack may be
// dropped (llama.cpp's AMX kernels crash on that, its PR 26954).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};
constexpr TileConfig make_tile_config() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = kStepBytes;
    config.rows[t] = kPanel;
  }
  return config;
}
constexpr TileConfig kTileConfig = make_tile_config();

// 32 FP32 values as 32 BF16, rounded to nearest even, in order.
inline __m512i to_bf16(const float* v) {
  return reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(v + 16), _mm512_loadu_ps(v)));
}

// x (m, k) into B tiles: (m_pad / 16, k / 2, 16) 32-bit pairs, the pair at
// [p][c][l] holding x[16 p + l][2 c .. 2 c + 1]; rows past m zero.
void pack_x(const float* x, int64_t m, int64_t k, int64_t m_pad, uint32_t* xv) {
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < m_pad / kPanel; ++p) {
    uint32_t* panel = xv + p * (k / 2) * kPanel;  // (k / 2, 16)
    alignas(64) uint32_t pairs[kPanel][kPanel];   // one step: (row, pair)
    for (int64_t c0 = 0; c0 < k; c0 += kStep) {
      for (int64_t l = 0; l < kPanel; ++l) {
        const int64_t i = p * kPanel + l;
        const __m512i v = i < m ? to_bf16(x + i * k + c0) : _mm512_setzero_si512();
        _mm512_store_si512(pairs[l], v);
      }
      uint32_t* dst = panel + (c0 / 2) * kPanel;  // (16 pairs, 16 rows)
      for (int64_t c = 0; c < kPanel; ++c)
        for (int64_t l = 0; l < kPanel; ++l) dst[c * kPanel + l] = pairs[l][c];
    }
  }
}

// Weight rows [j0, j0 + nb) of w as BF16 A tiles: block (k / 32, 32, 32),
// the step of columns [32 s, 32 s + 32) of all 32 rows at [s], so each
// 16-row tile is 1 KB in one piece; rows past nb zero.
void convert_block(const void* w, DType wtype, int64_t j0, int64_t nb, int64_t k, uint16_t* block) {
  alignas(64) float slice[kFusedDepth];  // one row's columns in FP32
  constexpr int64_t kStepValues = kAmxBlockRows * kStep;
  for (int64_t r = 0; r < kAmxBlockRows; ++r) {
    if (r >= nb) {
      for (int64_t c = 0; c < k; c += kStep) std::memset(block + c / kStep * kStepValues + r * kStep, 0, kStepBytes);
      continue;
    }
    for (int64_t k0 = 0; k0 < k; k0 += kFusedDepth) {
      const int64_t kc = std::min(kFusedDepth, k - k0);  // a multiple of 32
      convert_weight_slice(w, wtype, j0 + r, k, k0, kc, slice);
      for (int64_t c = 0; c < kc; c += kStep)
        _mm512_store_si512(block + (k0 + c) / kStep * kStepValues + r * kStep, to_bf16(slice + c));
    }
  }
}

// Tiles: 0-3 the sums C[a][b] (weight tile a, x panel b), 4-5 the weight
// tiles, 6-7 the x tiles.
void configure_tiles() { _tile_loadconfig(&kTileConfig); }

// Columns [c0, c1) of one block against x panels p and (if two) p + 1,
// added to their sums ct (panels, 2 weight tiles, 16 weight rows, 16 x
// rows), which start at zero where c0 is 0.
void block_times_panels(const uint16_t* block, int64_t c0, int64_t c1, int64_t k, const uint32_t* xv, int64_t p,
                        bool two, float* ct) {
  constexpr int64_t kTileFloats = kPanel * kPanel;
  constexpr int64_t kCStride = kPanel * 4;  // bytes per row of a sum tile
  float* c_p = ct + p * 2 * kTileFloats;    // panel p: weight tiles 0, 1
  float* c_q = c_p + 2 * kTileFloats;       // panel p + 1
  if (c0 == 0) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  } else {
    _tile_loadd(0, c_p, kCStride);
    _tile_loadd(2, c_p + kTileFloats, kCStride);
    if (two) {
      _tile_loadd(1, c_q, kCStride);
      _tile_loadd(3, c_q + kTileFloats, kCStride);
    }
  }
  const uint32_t* b0 = xv + p * (k / 2) * kPanel;  // (k / 2, 16) pairs
  const uint32_t* b1 = b0 + (k / 2) * kPanel;
  for (int64_t c = c0; c < c1; c += kStep) {
    const uint16_t* a = block + c / kStep * (kAmxBlockRows * kStep);  // (32, 32): two tiles
    _tile_loadd(4, a, kStepBytes);
    _tile_loadd(5, a + kPanel * kStep, kStepBytes);
    _tile_loadd(6, b0 + c / 2 * kPanel, kStepBytes);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if (two) {
      _tile_loadd(7, b1 + c / 2 * kPanel, kStepBytes);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, c_p, kCStride);
  _tile_stored(2, c_p + kTileFloats, kCStride);
  if (two) {
    _tile_stored(1, c_q, kCStride);
    _tile_stored(3, c_q + kTileFloats, kCStride);
  }
}

bool amx_permitted() {
  constexpr long kReqXcompPerm = 0x1023;  // arch_prctl: ask for an XSAVE feature
  constexpr long kXtileData = 18;         // the tile data state
  static const bool permitted = syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  return permitted;
}

}  // namespace

bool has_amx_gemm() { return amx_permitted(); }

bool amx_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
              float* y, int64_t ldy) {
  if (!amx_permitted() || k % kStep != 0 || k % dtype_block(wtype) != 0) return false;
  if (m <= 0 || n <= 0) return true;
  const int64_t m_pad = (m + kPanel - 1) / kPanel * kPanel;
  const int64_t panels = m_pad / kPanel;
  // x as B tiles, (m_pad / 16, k / 2, 16) pairs: the calling thread's buffer,
  // kept between calls up to kKeptPairs (a long prompt's is given back).
  constexpr int64_t kKeptPairs = int64_t{8} << 20;
  thread_local std::vector<uint32_t> kept;
  std::vector<uint32_t> once;
  uint32_t* xv = aligned_scratch(m_pad * k / 2 <= kKeptPairs ? kept : once, m_pad * k / 2);
  pack_x(x, m, k, m_pad, xv);
  const int64_t blocks = (n + kAmxBlockRows - 1) / kAmxBlockRows;
#pragma omp parallel
  {
    configure_tiles();
    // Each thread's (k / 32, 32, 32) BF16 weights, and the block's sums
    // (panels, 2, 16, 16) in FP32, kept between calls.
    thread_local std::vector<uint16_t> block_buffer;
    thread_local std::vector<float> sums_buffer;
    uint16_t* block = aligned_scratch(block_buffer, kAmxBlockRows * k);
    float* ct = aligned_scratch(sums_buffer, m_pad * kAmxBlockRows);
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t j0 = b * kAmxBlockRows, nb = std::min(kAmxBlockRows, n - j0);
      convert_block(w, wtype, j0, nb, k, block);
      // A slice of columns at a time, across all panels: its weight tiles stay in L1.
      for (int64_t c0 = 0; c0 < k; c0 += kAmxSliceColumns) {
        const int64_t c1 = std::min(k, c0 + kAmxSliceColumns);
        for (int64_t p = 0; p < panels; p += 2)
          block_times_panels(block, c0, c1, k, xv, p, p + 1 < panels, ct);
      }
      for (int64_t i = 0; i < m; ++i) {
        const float* ci = ct + (i / kPanel) * 2 * kPanel * kPanel + i % kPanel;  // [panel][0][0][l]
        float* yi = y + i * ldy + j0;
        for (int64_t r = 0; r < nb; ++r) yi[r] = ci[r * kPanel] + (bias ? bias[j0 + r] : 0.0f);
      }
    }
    _tile_release();
  }
  return true;
}

#else

bool has_amx_gemm() { return false; }
bool amx_gemm(const float*, int64_t, int64_t, const void*, DType, int64_t, const float*, float*, int64_t) {
  return false;
}

#endif

}  // namespace deskpilot::kernels
