#include "kernels/cpu/gemm.h"

#include <omp.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__) && defined(__F16C__))
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/blas_setup.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_vnni.h"
#include "kernels/cpu/gemm_fused.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/quant.h"


namespace deskpilot::kernels {

namespace {

std::atomic<QuantArithmetic> g_quant_arithmetic{QuantArithmetic::kInt8};

// m <= kStreamRows rows of x against block-quantized weights in integers:
// x quantized once (a scale per 32 values, or per 256 where
// linear_quantizes_per_superblock), then one pass over the weight rows.
void linear_quant_stream(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n,
                         const float* bias, float* y, int64_t ldy, bool reference) {
  // The calling thread's buffers, kept between calls (decode makes several per layer per token).
  // (plain pointers below: inside the parallel region a thread_local name is each worker's own).
  thread_local std::vector<int8_t> q_buffer;     // (m, k)
  thread_local std::vector<float> d_buffer;      // (m, k / 32)
  thread_local std::vector<int32_t> sum_buffer;  // (m, k / 32)
  thread_local std::vector<int16_t> sum16_buffer;  // (m, k / 16), K-quants only
  const bool superblock = linear_quantizes_per_superblock(wtype);
  q_buffer.resize(static_cast<size_t>(m * k));
  d_buffer.resize(static_cast<size_t>(m * k / 32));
  sum_buffer.resize(static_cast<size_t>(m * k / 32));
  sum16_buffer.resize(superblock ? static_cast<size_t>(m * k / 16) : 0);
  int8_t* q = q_buffer.data();
  float* d = d_buffer.data();
  int32_t* sum = sum_buffer.data();
  int16_t* sum16 = superblock ? sum16_buffer.data() : nullptr;
  for (int64_t i = 0; i < m; ++i) {
    if (superblock) {
      quantize_activations_superblock(x + i * k, k, q + i * k, d + i * k / 32, sum + i * k / 32, sum16 + i * k / 16);
    } else {
      quantize_activations(x + i * k, k, q + i * k, d + i * k / 32, sum + i * k / 32);
    }
  }
  const int64_t row_bytes = dtype_bytes(wtype, k);
  const QuantDotFn kernel =
      quant_dot_kernel(wtype, superblock, reference ? QuantDotPath::kPlain : QuantDotPath::kWidest);
  const int64_t blocks = k / dtype_block(wtype);
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < n; ++j) {
    const void* row = static_cast<const uint8_t*>(w) + j * row_bytes;
    const float b = bias ? bias[j] : 0.0f;
    for (int64_t i = 0; i < m; ++i) {
      const QuantizedActivations a{q + i * k, d + i * k / 32, sum + i * k / 32, superblock ? sum16 + i * k / 16 : nullptr};
      y[i * ldy + j] = kernel(row, a, blocks) + b;
    }
  }
}

inline float dot(const float* a, const float* b, int64_t k) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < k; ++i) acc += a[i] * b[i];
  return acc;
}

#if defined(__AVX512F__)
// GCC 12's AVX-512 headers start some intrinsics from a self-initialised
// "undefined" vector and then warn about it once inlined (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// 16 BF16 or F16 weights as FP32.
inline __m512 widen16(const uint16_t* w, bool bf16) {
  const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16)) : _mm512_cvtph_ps(raw);
}

// One 16-bit weight row against m <= kStreamRows rows of x, 16 lanes at a
// time: each chunk of weights is widened once (BF16: shift into the high
// half; F16: vcvtph2ps) and multiplied into one accumulator per x row.
void dot_row_avx512(const float* x, int64_t m, int64_t k, const uint16_t* w, bool bf16, float* out) {
  __m512 acc[kStreamRows];
  for (int64_t i = 0; i < kStreamRows; ++i) acc[i] = _mm512_setzero_ps();
  int64_t t = 0;
  if (m == 1) {  // decode: four independent sums, so that the FMA latency does not bound the stream
    __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (; t + 64 <= k; t += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(w + t) + 2048, _MM_HINT_T0);  // the weights stream from memory
      _mm_prefetch(reinterpret_cast<const char*>(w + t) + 2048 + 64, _MM_HINT_T0);
      acc[0] = _mm512_fmadd_ps(_mm512_loadu_ps(x + t), widen16(w + t, bf16), acc[0]);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t + 16), widen16(w + t + 16, bf16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t + 32), widen16(w + t + 32, bf16), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t + 48), widen16(w + t + 48, bf16), a3);
    }
    acc[0] = _mm512_add_ps(_mm512_add_ps(acc[0], a1), _mm512_add_ps(a2, a3));
  }
  for (; t + 16 <= k; t += 16) {
    const __m512 wv = widen16(w + t, bf16);
    for (int64_t i = 0; i < m; ++i) acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i * k + t), wv, acc[i]);
  }
  if (t < k) {  // the last k % 16 columns, masked
    const __mmask16 mask = static_cast<__mmask16>((1u << (k - t)) - 1);
    const __m256i raw = _mm256_maskz_loadu_epi16(mask, w + t);
    const __m512 wv = bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16))
                           : _mm512_cvtph_ps(raw);
    for (int64_t i = 0; i < m; ++i) acc[i] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x + i * k + t), wv, acc[i]);
  }
  for (int64_t i = 0; i < m; ++i) out[i] = _mm512_reduce_add_ps(acc[i]);
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define DESKPILOT_GEMM_AVX2 1
// The AVX2 version of dot_row_avx512: 8 lanes, the tail in plain code.
inline __m256 widen(const uint16_t* w, bool bf16) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
  return bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16)) : _mm256_cvtph_ps(raw);
}

void dot_row_avx2(const float* x, int64_t m, int64_t k, const uint16_t* w, bool bf16, float* out) {
  __m256 acc[kStreamRows];
  for (int64_t i = 0; i < kStreamRows; ++i) acc[i] = _mm256_setzero_ps();
  int64_t t = 0;
  if (m == 1) {  // decode: four independent sums, so that the FMA latency does not bound the stream
    __m256 a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (; t + 32 <= k; t += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(w + t) + 2048, _MM_HINT_T0);  // the weights stream from memory
      acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(x + t), widen(w + t, bf16), acc[0]);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 8), widen(w + t + 8, bf16), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 16), widen(w + t + 16, bf16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 24), widen(w + t + 24, bf16), a3);
    }
    acc[0] = _mm256_add_ps(_mm256_add_ps(acc[0], a1), _mm256_add_ps(a2, a3));
  }
  for (; t + 8 <= k; t += 8) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + t));
    const __m256 wv = bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16))
                           : _mm256_cvtph_ps(raw);
    for (int64_t i = 0; i < m; ++i) acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i * k + t), wv, acc[i]);
  }
  for (int64_t i = 0; i < m; ++i) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc[i]), _mm256_extractf128_ps(acc[i], 1));
    const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
    float v = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
    for (int64_t c = t; c < k; ++c) v += x[i * k + c] * (bf16 ? bf16_to_f32(w[c]) : f16_to_f32(w[c]));
    out[i] = v;
  }
}
#endif

// m <= kStreamRows: one pass over the weights, rows split across threads.
void linear_stream(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                   float* y, int64_t ldy) {
#if defined(__AVX512F__) || defined(DESKPILOT_GEMM_AVX2)
  if (wtype != DType::kF32) {
    const uint16_t* w16 = static_cast<const uint16_t*>(w);
    const bool bf16 = wtype == DType::kBF16;
#pragma omp parallel for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      float out[kStreamRows];
#if defined(__AVX512F__)
      dot_row_avx512(x, m, k, w16 + j * k, bf16, out);
#else
      dot_row_avx2(x, m, k, w16 + j * k, bf16, out);
#endif
      const float b = bias ? bias[j] : 0.0f;
      for (int64_t i = 0; i < m; ++i) y[i * ldy + j] = out[i] + b;
    }
    return;
  }
#endif
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(k));  // (k) one weight row in FP32
#pragma omp for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const float* wr = row.data();
      if (wtype == DType::kF32) {
        wr = static_cast<const float*>(w) + j * k;
      } else {
        convert_weight_slice(w, wtype, j, k, 0, k, row.data());
      }
      const float b = bias ? bias[j] : 0.0f;
      for (int64_t i = 0; i < m; ++i) y[i * ldy + j] = dot(x + i * k, wr, k) + b;
    }
  }
}

// y[:, 0:nb] = x · wbᵀ for an FP32 block wb (nb, k), on the calling thread.
void sgemm_block(const float* x, int64_t m, int64_t k, const float* wb, int64_t nb, float* y, int64_t ldy) {
  if (blas_sgemm_nt(m, nb, k, x, wb, y, ldy)) return;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < nb; ++j) y[i * ldy + j] = dot(x + i * k, wb + j * k, k);
}

std::atomic<PrefillGemm> g_prefill_gemm{PrefillGemm::kAuto};

// Whether prefill converts `wtype` inside its own GEMM (kernels/cpu/gemm_fused.h)
// rather than into blocks for OpenBLAS: by default on AVX2 machines, for
// weights not already FP32; OpenBLAS's AVX-512 kernels are twice as wide.
bool fused_prefill(DType wtype) {
  if (wtype == DType::kF32 || !has_fused_gemm()) return false;
  switch (g_prefill_gemm.load()) {
    case PrefillGemm::kFused:
      return true;
    case PrefillGemm::kBlas:
      return false;
    case PrefillGemm::kAuto:
    case PrefillGemm::kAmx:
    case PrefillGemm::kVnni:
    case PrefillGemm::kAvx2:
    case PrefillGemm::kBf16:
      break;
  }
#if defined(__AVX512F__)
  return false;
#else
  return true;
#endif
}

// Whether prefill multiplies `wtype` in AMX BF16 tiles (kernels/cpu/gemm_amx.h):
// block types whose few-row products already take 8-bit activations, on
// CPUs that have AMX, unless a benchmark asked for another path.
bool amx_prefill(DType wtype) {
  const PrefillGemm g = g_prefill_gemm.load();
  return is_quantized(wtype) && g_quant_arithmetic.load() == QuantArithmetic::kInt8 &&
         (g == PrefillGemm::kAuto || g == PrefillGemm::kAmx) && has_amx_gemm();
}

// Whether prefill multiplies `wtype` in VNNI integers (kernels/cpu/gemm_vnni.h):
// the same types, where the build has AVX-512 VNNI and AMX is not taken.
bool vnni_prefill(DType wtype) {
  const PrefillGemm g = g_prefill_gemm.load();
  return is_quantized(wtype) && g_quant_arithmetic.load() == QuantArithmetic::kInt8 && has_vnni_gemm() &&
         (g == PrefillGemm::kVnni || ((g == PrefillGemm::kAuto || g == PrefillGemm::kAmx) && !amx_prefill(wtype)));
}

// Whether linear() multiplies BF16 weights with vdpbf16ps (kernels/cpu/gemm_bf16.h):
// where the build has it, unless the FP32 reference arithmetic was asked for
// or, for many rows, another prefill path.
bool bf16_dot(DType wtype, int64_t m) {
  if (wtype != DType::kBF16 || !has_bf16_gemm() || g_quant_arithmetic.load() == QuantArithmetic::kFp32) return false;
  if (m <= kStreamRows) return true;
  const PrefillGemm g = g_prefill_gemm.load();
  return g == PrefillGemm::kAuto || g == PrefillGemm::kAmx || g == PrefillGemm::kVnni || g == PrefillGemm::kBf16;
}

// Whether prefill tries AVX2 integers for `wtype` (kernels/cpu/gemm_vnni.h;
// it refuses Q8_0 itself) where neither AMX nor VNNI is taken.
bool avx2_int_prefill(DType wtype) {
  const PrefillGemm g = g_prefill_gemm.load();
  return is_quantized(wtype) && g_quant_arithmetic.load() == QuantArithmetic::kInt8 && has_avx2_int_gemm() &&
         (g == PrefillGemm::kAvx2 || (g == PrefillGemm::kAuto && !amx_prefill(wtype) && !vnni_prefill(wtype)));
}

}  // namespace

SgemmPlan plan_sgemm(int64_t m, int64_t n, int threads) {
  SgemmPlan plan;
  const int64_t t = std::max(1, threads);
  if (n < t * kSgemmMinBlockRows) {
    // Too narrow to give every thread a block of its own (k/v projections):
    // one block, and the threads share its rows of x, each converting the
    // block itself.
    plan.block_rows = n;
    plan.x_chunks = std::clamp<int64_t>(m / kSgemmMinChunk, 1, t);
    return plan;
  }
  // Blocks of about kSgemmBlockRows rows, a whole number of them per thread
  // (so that no thread waits alone on the last one), rounded up to 16 rows.
  const int64_t rounds = (n + t * kSgemmBlockRows - 1) / (t * kSgemmBlockRows);
  const int64_t per_block = (n + t * rounds - 1) / (t * rounds);
  plan.block_rows = std::min(n, std::max(kSgemmMinBlockRows, (per_block + 15) / 16 * 16));
  return plan;
}

void set_prefill_gemm(PrefillGemm g) { g_prefill_gemm.store(g); }

void set_quant_arithmetic(QuantArithmetic a) { g_quant_arithmetic.store(a); }
QuantArithmetic quant_arithmetic() { return g_quant_arithmetic.load(); }

void linear(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias, float* y,
            int64_t ldy) {
  if (m <= 0 || n <= 0) return;
  if (is_quantized(wtype) && m <= kStreamRows && quant_arithmetic() != QuantArithmetic::kFp32) {
    return linear_quant_stream(x, m, k, w, wtype, n, bias, y, ldy,
                               quant_arithmetic() == QuantArithmetic::kInt8Reference);
  }
  if (bf16_dot(wtype, m)) {
    // Prefill's products are bound by arithmetic, decode's by the weights' bytes.
    const Bf16Input input =
        m > kStreamRows && quant_arithmetic() == QuantArithmetic::kInt8 ? Bf16Input::kRound : Bf16Input::kSplit;
    if (bf16_gemm(x, m, k, static_cast<const uint16_t*>(w), n, bias, y, ldy, input)) return;
  }
  if (m <= kStreamRows && !is_quantized(wtype)) return linear_stream(x, m, k, w, wtype, n, bias, y, ldy);
  if (amx_prefill(wtype) && amx_gemm(x, m, k, w, wtype, n, bias, y, ldy)) return;
  if (vnni_prefill(wtype) && vnni_gemm(x, m, k, w, wtype, n, bias, y, ldy)) return;
  if (avx2_int_prefill(wtype) && avx2_int_gemm(x, m, k, w, wtype, n, bias, y, ldy)) return;
  if (fused_prefill(wtype) && fused_gemm(x, m, k, w, wtype, n, bias, y, ldy)) return;
  const SgemmPlan plan = plan_sgemm(m, n, omp_get_max_threads());
  const int64_t blocks = (n + plan.block_rows - 1) / plan.block_rows;
  const int64_t chunk_rows = (m + plan.x_chunks - 1) / plan.x_chunks;
#pragma omp parallel
  {
    std::vector<float> block;  // (block_rows, k) this thread's weights in FP32
    int64_t converted = -1;    // which block `block` holds
    if (wtype != DType::kF32) block.resize(static_cast<size_t>(std::min(n, plan.block_rows) * k));
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < blocks * plan.x_chunks; ++task) {
      const int64_t b = task / plan.x_chunks, c = task % plan.x_chunks;
      const int64_t j0 = b * plan.block_rows, nb = std::min(plan.block_rows, n - j0);
      const int64_t i0 = c * chunk_rows, mc = std::min(chunk_rows, m - i0);  // > 0: x_chunks <= m / 64
      const float* wb = static_cast<const float*>(w) + j0 * k;
      if (wtype != DType::kF32) {
        if (converted != b) {
          for (int64_t j = 0; j < nb; ++j) convert_weight_slice(w, wtype, j0 + j, k, 0, k, block.data() + j * k);
          converted = b;
        }
        wb = block.data();
      }
      float* yc = y + i0 * ldy + j0;
      sgemm_block(x + i0 * k, mc, k, wb, nb, yc, ldy);
      if (bias) {
        for (int64_t i = 0; i < mc; ++i)
          for (int64_t j = 0; j < nb; ++j) yc[i * ldy + j] += bias[j0 + j];
      }
    }
  }
}

std::string cpu_gemm_summary() {
  const std::string core = blas_core();
  // (AMX implies AVX-512, where the fused AVX2 GEMM is not the default.)
  const std::string prefill = amx_prefill(DType::kQ4_K)    ? "prefill GEMM: AMX BF16 tiles (block weights); "
                              : vnni_prefill(DType::kQ4_K) ? "prefill GEMM: AVX-512 VNNI integers (block weights); "
                              : avx2_int_prefill(DType::kQ4_K) ? "prefill GEMM: AVX2 integers (Q4_0, K-quants), else fused AVX2; "
                              : fused_prefill(DType::kBF16)
                                  ? "prefill GEMM: fused AVX2 (BF16, F16 and block weights); "
                                  : "";
  const std::string bf16 = has_bf16_gemm() ? "BF16 weights: AVX-512 BF16 (vdpbf16ps); " : "";
  return std::string("quantized dot products: ") + quant_dot_isa() + "; " + prefill + bf16 +
         "prefill SGEMM: " + (core == "none" ? std::string("plain loops (no OpenBLAS)") : "OpenBLAS, " + core + " kernels");
}

void linear_reference(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                      float* y) {
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t j = 0; j < n; ++j) {
    convert_to_f32(wtype, static_cast<const uint8_t*>(w) + j * dtype_bytes(wtype, k), row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double acc = bias ? bias[j] : 0.0;
      for (int64_t t = 0; t < k; ++t) acc += static_cast<double>(x[i * k + t]) * row[t];
      y[i * n + j] = static_cast<float>(acc);
    }
  }
}

}  // namespace deskpilot::kernels
