// The flash attention kernel's arithmetic (tests/kernels/flash_attention_emulation.h)
// against the exact reference, on the CPU: what sets the bound the kernel is
// held to on a GPU (tests/kernels/test_cuda_ops.cpp), measured here on every
// machine. The emulation must also differ from FP32 (it rounds), or the bound
// would say nothing.
#include <gtest/gtest.h>

#include <random>

#include "kernels/cpu/attention.h"
#include "tests/kernels/flash_attention_emulation.h"

namespace deskpilot::testing {
namespace {

std::vector<float> uniform(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(FlashAttentionEmulation, StaysWithinTheBoundOfTheExactReference) {
  float worst = 0.f;
  for (const FlashCase& c : flash_cases()) {
    SCOPED_TRACE("len " + std::to_string(c.len) + " past " + std::to_string(c.past) + " heads " +
                 std::to_string(c.q_heads) + "/" + std::to_string(c.kv_heads) + " head_dim " +
                 std::to_string(c.head_dim) + (c.starts.empty() ? " causal" : " segments"));
    const int64_t keys = c.past + c.len;
    const auto q = uniform(static_cast<size_t>(c.len * c.q_heads * c.head_dim), 31);
    const auto k = uniform(static_cast<size_t>(keys * c.kv_heads * c.head_dim), 32);
    const auto v = uniform(k.size(), 33);
    std::vector<float> want(q.size()), got(q.size());
    if (c.starts.empty())
      kernels::attention_causal_reference(q.data(), k.data(), v.data(), want.data(), c.len, c.past, c.q_heads,
                                          c.kv_heads, c.head_dim);
    else
      kernels::attention_segments_reference(q.data(), k.data(), v.data(), want.data(), c.len, c.q_heads, c.head_dim,
                                            c.starts.data(), static_cast<int64_t>(c.starts.size()) - 1);
    flash_attention_emulated(q.data(), k.data(), v.data(), got.data(), c.len, c.past, c.starts, c.q_heads, c.kv_heads,
                             c.head_dim);
    float diff = 0.f;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i])) << i;
      diff = std::max(diff, std::fabs(got[i] - want[i]));
    }
    EXPECT_LE(diff, kFlashAttentionBound);
    EXPECT_GT(diff, 1e-4f);  // it does round to BF16
    worst = std::max(worst, diff);
  }
  std::printf("flash attention emulation: max |out - exact| = %.4f (bound %.3f)\n", worst, kFlashAttentionBound);
}

}  // namespace
}  // namespace deskpilot::testing
