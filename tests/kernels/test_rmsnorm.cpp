// RMSNorm: the CPU reference against a straightforward formula, and the CUDA
// kernel against the CPU reference (skipped where there is no GPU).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/cpu/rmsnorm.h"
#ifdef DESKPILOT_HAVE_CUDA
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/runtime.h"
#endif

namespace {

struct Shape {
  int64_t rows;
  int64_t dim;
};
// Awkward widths on purpose: 1, odd, not a multiple of a warp, just over 1024.
const Shape kShapes[] = {{1, 1}, {1, 33}, {19, 111}, {3, 260}, {2, 1025}, {5, 3584}};

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

}  // namespace

TEST(RmsNormCpu, MatchesTheFormula) {
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.dim));
    auto x = random_vector(static_cast<size_t>(s.rows * s.dim), 1);
    auto w = random_vector(static_cast<size_t>(s.dim), 2);
    std::vector<float> out(x.size());
    deskpilot::kernels::rmsnorm_f32(x.data(), w.data(), out.data(), s.rows, s.dim, 1e-6f);
    double max_abs = 0;
    for (int64_t r = 0; r < s.rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < s.dim; ++i) ss += double(x[r * s.dim + i]) * x[r * s.dim + i];
      const double rms = std::sqrt(ss / s.dim + 1e-6);
      for (int64_t i = 0; i < s.dim; ++i) {
        const double want = x[r * s.dim + i] / rms * w[i];
        EXPECT_NEAR(out[r * s.dim + i], want, 1e-5 + 1e-6 * std::fabs(want));
        max_abs = std::max(max_abs, std::fabs(double(out[r * s.dim + i])));
      }
    }
    EXPECT_GT(max_abs, 0.0);  // not vacuously zero
  }
}

TEST(RmsNormCpu, InPlace) {
  auto x = random_vector(64, 3);
  auto w = random_vector(64, 4);
  std::vector<float> expect(64);
  deskpilot::kernels::rmsnorm_f32(x.data(), w.data(), expect.data(), 1, 64, 1e-5f);
  deskpilot::kernels::rmsnorm_f32(x.data(), w.data(), x.data(), 1, 64, 1e-5f);
  EXPECT_EQ(x, expect);
}

#ifdef DESKPILOT_HAVE_CUDA
TEST(RmsNormCuda, MatchesCpuReference) {
  using namespace deskpilot::kernels;
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  SCOPED_TRACE(cuda::device_description(0));
  for (const Shape& s : kShapes) {
    SCOPED_TRACE(std::to_string(s.rows) + "x" + std::to_string(s.dim));
    const size_t n = static_cast<size_t>(s.rows * s.dim);
    auto x = random_vector(n, 5);
    auto w = random_vector(static_cast<size_t>(s.dim), 6);
    std::vector<float> want(n);
    rmsnorm_f32(x.data(), w.data(), want.data(), s.rows, s.dim, 1e-6f);
    // A guard element past the end of the output catches out-of-bounds writes.
    float *dx, *dw, *dout;
    ASSERT_EQ(cudaMalloc(&dx, n * 4), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&dw, s.dim * 4), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&dout, (n + 1) * 4), cudaSuccess);
    const float guard = 12345.f;
    cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dw, w.data(), s.dim * 4, cudaMemcpyHostToDevice);
    cudaMemcpy(dout + n, &guard, 4, cudaMemcpyHostToDevice);
    ASSERT_EQ(cuda::rmsnorm_f32(dx, dw, dout, s.rows, s.dim, 1e-6f, nullptr), cudaSuccess);
    std::vector<float> got(n + 1);
    ASSERT_EQ(cudaMemcpy(got.data(), dout, (n + 1) * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    cudaFree(dx);
    cudaFree(dw);
    cudaFree(dout);
    EXPECT_EQ(got[n], guard);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(std::isfinite(got[i]));
      // FP32 accumulation in a different order: a few ulps of the row sum.
      EXPECT_NEAR(got[i], want[i], 1e-5 + 1e-5 * std::fabs(want[i]));
    }
  }
}
#endif
