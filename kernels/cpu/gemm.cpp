#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef DESKPILOT_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace deskpilot::kernels {

namespace {

// Rows of x handled by the weight-streaming kernel; more go to SGEMM.
constexpr int64_t kStreamRows = 8;
// Weight rows converted per SGEMM block: (kBlockRows, k) FP32 scratch.
constexpr int64_t kBlockRows = 256;

inline void convert_row(const void* w, DType t, int64_t row, int64_t k, float* out) {
  switch (t) {
    case DType::kF32:
      std::memcpy(out, static_cast<const float*>(w) + row * k, sizeof(float) * k);
      return;
    case DType::kBF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w) + row * k;
#pragma omp simd
      for (int64_t i = 0; i < k; ++i) {
        const uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
        float v;
        std::memcpy(&v, &bits, sizeof v);
        out[i] = v;
      }
      return;
    }
    case DType::kF16: {
      const uint16_t* src = static_cast<const uint16_t*>(w) + row * k;
      for (int64_t i = 0; i < k; ++i) out[i] = f16_to_f32(src[i]);
      return;
    }
  }
}

inline float dot(const float* a, const float* b, int64_t k) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < k; ++i) acc += a[i] * b[i];
  return acc;
}

// m <= kStreamRows: one pass over the weights, rows split across threads.
void linear_stream(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                   float* y, int64_t ldy) {
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(k));  // (k) one weight row in FP32
#pragma omp for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const float* wr = row.data();
      if (wtype == DType::kF32) {
        wr = static_cast<const float*>(w) + j * k;
      } else {
        convert_row(w, wtype, j, k, row.data());
      }
      const float b = bias ? bias[j] : 0.0f;
      for (int64_t i = 0; i < m; ++i) y[i * ldy + j] = dot(x + i * k, wr, k) + b;
    }
  }
}

// y[:, 0:nb] = x · wbᵀ for an FP32 block wb (nb, k).
void sgemm_block(const float* x, int64_t m, int64_t k, const float* wb, int64_t nb, float* y, int64_t ldy) {
#ifdef DESKPILOT_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(m), static_cast<blasint>(nb),
              static_cast<blasint>(k), 1.0f, x, static_cast<blasint>(k), wb, static_cast<blasint>(k), 0.0f, y,
              static_cast<blasint>(ldy));
#else
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < nb; ++j) y[i * ldy + j] = dot(x + i * k, wb + j * k, k);
#endif
}

}  // namespace

void linear(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias, float* y,
            int64_t ldy) {
  if (m <= 0 || n <= 0) return;
  if (m <= kStreamRows) return linear_stream(x, m, k, w, wtype, n, bias, y, ldy);
  if (wtype == DType::kF32) {
    sgemm_block(x, m, k, static_cast<const float*>(w), n, y, ldy);
  } else {
    std::vector<float> block(static_cast<size_t>(std::min(n, kBlockRows) * k));  // (kBlockRows, k)
    for (int64_t j0 = 0; j0 < n; j0 += kBlockRows) {
      const int64_t nb = std::min(kBlockRows, n - j0);
#pragma omp parallel for schedule(static)
      for (int64_t j = 0; j < nb; ++j) convert_row(w, wtype, j0 + j, k, block.data() + j * k);
      sgemm_block(x, m, k, block.data(), nb, y + j0, ldy);
    }
  }
  if (bias) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * ldy + j] += bias[j];
  }
}

void linear_reference(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                      float* y) {
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t j = 0; j < n; ++j) {
    convert_to_f32(wtype, static_cast<const uint8_t*>(w) + j * k * dtype_size(wtype), row.data(), k);
    for (int64_t i = 0; i < m; ++i) {
      double acc = bias ? bias[j] : 0.0;
      for (int64_t t = 0; t < k; ++t) acc += static_cast<double>(x[i * k + t]) * row[t];
      y[i * n + j] = static_cast<float>(acc);
    }
  }
}

const char* gemm_backend_name() {
#ifdef DESKPILOT_HAVE_OPENBLAS
  return "openblas";
#else
  return "builtin";
#endif
}

}  // namespace deskpilot::kernels
