#include "kernels/cpu/gemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512BF16__)
#define DESKPILOT_BF16_GEMM 1
#include <immintrin.h>

#include "kernels/cpu/avx512_warnings.h"
#endif

namespace deskpilot::kernels {

#ifdef DESKPILOT_BF16_GEMM

namespace {

constexpr int64_t kRows = 4;        // rows of x, and weight rows, a tile takes
constexpr int64_t kMaxBlock = 64;   // weight rows a task takes at most

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh&>(v); }

// x (k) FP32 -> hi, lo (kp) BF16 with x ≈ hi + lo, zero from k to kp; lo
// nullptr: hi alone, x rounded.
void split_row(const float* x, int64_t k, int64_t kp, uint16_t* hi, uint16_t* lo) {
  for (int64_t t = 0; t < kp; t += 16) {
    const __mmask16 mask = t + 16 <= k ? __mmask16(0xFFFF) : t < k ? __mmask16((1u << (k - t)) - 1) : __mmask16(0);
    const __m512 v = _mm512_maskz_loadu_ps(mask, x + t);
    __m256bh h = _mm512_cvtneps_pbh(v);
    const __m256i h16 = reinterpret_cast<__m256i&>(h);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + t), h16);
    if (lo == nullptr) continue;
    const __m512 back = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h16), 16));
    __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, back));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + t), reinterpret_cast<__m256i&>(l));
  }
}

// The 512 -> 256-bit halves of v, added.
inline __m256 fold(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// The sums of the lanes of a, b, c, d, in lanes 0-3.
inline __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 ab = _mm256_hadd_ps(fold(a), fold(b));  // a01 a23 b01 b23 | a45 a67 b45 b67 (of the folded lanes)
  const __m256 cd = _mm256_hadd_ps(fold(c), fold(d));
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// sums (MR, NR) = Σ over `len` columns of (hi + lo) rows of x times weight
// rows (kSplit; else hi alone, xl unread: streamed rows only, the many-row
// kernel for hi alone is tile_rounded). xh, xl: MR rows of stride ldx,
// zero-padded to a multiple of 32 past len; w: NR rows of stride ldw, only `len` columns read. kStream (few rows
// of x, weights read once from memory; NR = 1: one stream per thread, which
// the hardware prefetcher follows best, measured 1.2x four): 64 columns a
// step into two sets of sums. Streaming or with one row of x, hi and lo
// products go to sums of their own. Either way no sum waits on the
// instruction's latency (6 cycles on Zen 4) more than once per step; and a
// streamed row of x sums the same way whatever MR is, so that a batch of
// decodes gives each sequence what it would get alone.
template <int MR, int NR, bool kStream, bool kSplit>
void tile(const uint16_t* xh, const uint16_t* xl, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t len,
          float* sums) {
  constexpr int U = kStream ? 2 : 1;
  constexpr int S = kSplit && (MR == 1 || kStream) ? 2 : 1;
  __m512 acc[U][S][MR][NR];
  for (int u = 0; u < U; ++u)
    for (int s = 0; s < S; ++s)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[u][s][i][j] = _mm512_setzero_ps();
  // Columns t .. t + 32 (those of `mask`) into set u.
  const auto step = [&](int64_t t, __mmask32 mask, auto full, auto set) {
    constexpr bool kFull = decltype(full)::value;
    constexpr int u = decltype(set)::value;
    __m512i wv[NR];
    for (int j = 0; j < NR; ++j)
      wv[j] = kFull ? _mm512_loadu_si512(w + j * ldw + t) : _mm512_maskz_loadu_epi16(mask, w + j * ldw + t);
    for (int i = 0; i < MR; ++i) {
      const __m512bh h = as_bh(_mm512_loadu_si512(xh + i * ldx + t));
      for (int j = 0; j < NR; ++j) acc[u][0][i][j] = _mm512_dpbf16_ps(acc[u][0][i][j], as_bh(wv[j]), h);
      if constexpr (kSplit) {
        const __m512bh l = as_bh(_mm512_loadu_si512(xl + i * ldx + t));
        for (int j = 0; j < NR; ++j) acc[u][S - 1][i][j] = _mm512_dpbf16_ps(acc[u][S - 1][i][j], as_bh(wv[j]), l);
      }
    }
  };
  using First = std::integral_constant<int, 0>;
  using Second = std::integral_constant<int, U - 1>;
  constexpr __mmask32 kAll = ~__mmask32(0);
  int64_t t = 0;
  if constexpr (U == 2) {
    for (; t + 64 <= len; t += 64) {
      step(t, kAll, std::true_type{}, First{});
      step(t + 32, kAll, std::true_type{}, Second{});
    }
  }
  for (; t + 32 <= len; t += 32) step(t, kAll, std::true_type{}, First{});
  if (t < len) step(t, static_cast<__mmask32>((1ull << (len - t)) - 1), std::false_type{}, First{});
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      if constexpr (S == 2) acc[0][0][i][j] = _mm512_add_ps(acc[0][0][i][j], acc[0][1][i][j]);
      if constexpr (U == 2) {
        acc[0][0][i][j] = _mm512_add_ps(acc[0][0][i][j], acc[1][0][i][j]);
        if constexpr (S == 2) acc[0][0][i][j] = _mm512_add_ps(acc[0][0][i][j], acc[1][1][i][j]);
      }
    }
    if constexpr (NR == 4) {
      _mm_storeu_ps(sums + i * NR, reduce4(acc[0][0][i][0], acc[0][0][i][1], acc[0][0][i][2], acc[0][0][i][3]));
    } else {
      for (int j = 0; j < NR; ++j) sums[i * NR + j] = _mm512_reduce_add_ps(acc[0][0][i][j]);
    }
  }
}

// tile<MR, NR, false, false> written out without tile's step lambda: with
// it, GCC 12 kept the 16-24 sums in memory outside the loop (zeroed and
// reloaded on entry, stored and reloaded for the sums: 17% of the tile's
// time at k = 896). The many-row kernel of the default arithmetic.
template <int MR, int NR>
void tile_rounded(const uint16_t* xh, const uint16_t*, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t len,
                  float* sums) {
  __m512 acc[MR][NR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t t = 0;
  for (; t + 32 <= len; t += 32) {
    __m512i wv[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_loadu_si512(w + j * ldw + t);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh h = as_bh(_mm512_loadu_si512(xh + i * ldx + t));
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], as_bh(wv[j]), h);
    }
  }
  if (t < len) {
    const auto mask = static_cast<__mmask32>((1ull << (len - t)) - 1);
    __m512i wv[NR];
#pragma GCC unroll 4
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_maskz_loadu_epi16(mask, w + j * ldw + t);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m512bh h = as_bh(_mm512_loadu_si512(xh + i * ldx + t));
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], as_bh(wv[j]), h);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    if constexpr (NR == 4) {
      _mm_storeu_ps(sums + i * NR, reduce4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
    } else {
#pragma GCC unroll 4
      for (int j = 0; j < NR; ++j) sums[i * NR + j] = _mm512_reduce_add_ps(acc[i][j]);
    }
  }
}

using Tile = void (*)(const uint16_t*, const uint16_t*, int64_t, const uint16_t*, int64_t, int64_t, float*);

template <int MR, bool kSplit>
constexpr Tile tile_for(int64_t nr) {
  if constexpr (kSplit) {
    return nr == 1   ? tile<MR, 1, false, true>
           : nr == 2 ? tile<MR, 2, false, true>
           : nr == 3 ? tile<MR, 3, false, true>
                     : tile<MR, 4, false, true>;
  } else {
    return nr == 1   ? tile_rounded<MR, 1>
           : nr == 2 ? tile_rounded<MR, 2>
           : nr == 3 ? tile_rounded<MR, 3>
                     : tile_rounded<MR, 4>;
  }
}

template <bool kSplit>
Tile tile_for(int64_t mr, int64_t nr) {
  return mr == 1   ? tile_for<1, kSplit>(nr)
         : mr == 2 ? tile_for<2, kSplit>(nr)
         : mr == 3 ? tile_for<3, kSplit>(nr)
                   : tile_for<4, kSplit>(nr);
}

template <bool kSplit>
Tile stream_tile_for(int64_t mr) {
  return mr == 1   ? tile<1, 1, true, kSplit>
         : mr == 2 ? tile<2, 1, true, kSplit>
         : mr == 3 ? tile<3, 1, true, kSplit>
                   : tile<4, 1, true, kSplit>;
}

// The tile for mr rows of x and nr weight rows; streaming: nr is 1.
Tile tile_for(int64_t mr, int64_t nr, bool stream, bool split) {
  if (stream) return split ? stream_tile_for<true>(mr) : stream_tile_for<false>(mr);
  return split ? tile_for<true>(mr, nr) : tile_for<false>(mr, nr);
}

// Weight rows j0 .. j0 + nb of y (m, ldy). Few rows of x: row by row, each
// against every group of x rows; many: chunk by chunk of k, every group of
// x rows against every group of weight rows.
void run_block(const uint16_t* hi, const uint16_t* lo, int64_t m, int64_t k, int64_t kp, const uint16_t* w,
               int64_t j0, int64_t nb, const float* bias, float* y, int64_t ldy) {
  const bool stream = m <= kStreamRows;
  const int64_t chunk = stream ? k : kBf16Chunk, wstep = stream ? 1 : kRows;
  for (int64_t k0 = 0; k0 < k; k0 += chunk) {
    const int64_t len = std::min(chunk, k - k0);
    const auto product = [&](int64_t i0, int64_t jj) {  // x rows i0.., weight rows j0 + jj..
      const int64_t mr = std::min(kRows, m - i0), nr = std::min(wstep, nb - jj), j = j0 + jj;
      float sums[kRows * kRows];  // (mr, nr)
      const uint16_t* xl = lo ? lo + i0 * kp + k0 : nullptr;
      tile_for(mr, nr, stream, lo != nullptr)(hi + i0 * kp + k0, xl, kp, w + j * k + k0, k, len, sums);
      for (int64_t i = 0; i < mr; ++i) {
        float* out = y + (i0 + i) * ldy + j;
        for (int64_t c = 0; c < nr; ++c) out[c] = (k0 == 0 ? (bias ? bias[j + c] : 0.0f) : out[c]) + sums[i * nr + c];
      }
    };
    if (stream) {
      for (int64_t jj = 0; jj < nb; ++jj)
        for (int64_t i0 = 0; i0 < m; i0 += kRows) product(i0, jj);
    } else {
      for (int64_t i0 = 0; i0 < m; i0 += kRows)
        for (int64_t jj = 0; jj < nb; jj += kRows) product(i0, jj);
    }
  }
}

}  // namespace

bool has_bf16_gemm() { return true; }

bool bf16_gemm(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias, float* y,
               int64_t ldy, Bf16Input input) {
  if (m <= 0 || n <= 0) return true;
  const bool split = input == Bf16Input::kSplit;
  const int64_t kp = (k + 31) / 32 * 32;
  // The calling thread's buffers, kept between calls (plain pointers below:
  // inside the parallel region a thread_local name is each worker's own).
  thread_local std::vector<uint16_t> hi_buffer, lo_buffer;
  uint16_t* hi = aligned_scratch(hi_buffer, m * kp);  // (m, kp)
  uint16_t* lo = split ? aligned_scratch(lo_buffer, m * kp) : nullptr;  // (m, kp), or none
  const int64_t threads = omp_get_max_threads();
  // Blocks of up to 64 rows, enough of them for every thread.
  const int64_t per_thread = (n + threads - 1) / threads;
  const int64_t block = m <= kStreamRows ? (per_thread + kRows - 1) / kRows * kRows
                                         : std::clamp<int64_t>((per_thread + kRows - 1) / kRows * kRows, kRows, kMaxBlock);
  const int64_t tasks = (n + block - 1) / block;
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < m; ++i) split_row(x + i * k, k, kp, hi + i * kp, lo ? lo + i * kp : nullptr);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t j0 = task * block;
      run_block(hi, lo, m, k, kp, w, j0, std::min(block, n - j0), bias, y, ldy);
    }
  }
  return true;
}

#else

bool has_bf16_gemm() { return false; }
bool bf16_gemm(const float*, int64_t, int64_t, const uint16_t*, int64_t, const float*, float*, int64_t, Bf16Input) {
  return false;
}

#endif

}  // namespace deskpilot::kernels
