// The optimized CPU kernels against their plain references (double
// accumulation) on awkward shapes, for every weight dtype.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/dtype.h"
#include "tests/arithmetic_scope.h"

namespace deskpilot::kernels {
namespace {

std::vector<float> random_vector(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Weights in `t`, as bytes; `values` gets what they round to.
std::vector<uint8_t> encode(const std::vector<float>& w, DType t, std::vector<float>* values) {
  std::vector<uint8_t> bytes(w.size() * dtype_size(t));
  for (size_t i = 0; i < w.size(); ++i) {
    if (t == DType::kF32) {
      std::memcpy(bytes.data() + 4 * i, &w[i], 4);
    } else {
      uint16_t bits = 0;
      if (t == DType::kBF16) {
        bits = f32_to_bf16(w[i]);
      } else {
        // F16 by round trip through the values F16 can hold in [-1, 1]: scale to 1/1024 steps.
        const float q = std::round(w[i] * 1024.0f) / 1024.0f;
        // Encode q exactly as F16 (normal range, 10-bit mantissa holds it).
        uint32_t f;
        std::memcpy(&f, &q, 4);
        const uint32_t sign = (f >> 16) & 0x8000u;
        const int32_t exp = static_cast<int32_t>((f >> 23) & 0xFF) - 127 + 15;
        bits = q == 0.0f ? static_cast<uint16_t>(sign)
                         : static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | ((f >> 13) & 0x3FFu));
      }
      std::memcpy(bytes.data() + 2 * i, &bits, 2);
    }
  }
  values->resize(w.size());
  convert_to_f32(t, bytes.data(), values->data(), w.size());
  return bytes;
}

struct GemmShape {
  int64_t m, k, n;
};
// Decode (m <= 8; m = 1 with k past the four-sum stride of 64) and prefill
// (m > 8) paths: one block; x's rows shared by the threads (a narrow n, m >=
// 128); several blocks with a short last one (plan_sgemm).
const GemmShape kGemmShapes[] = {{1, 1, 1},       {1, 33, 111},   {1, 200, 37},  {3, 260, 19},
                                 {8, 64, 257},    {9, 111, 33},   {19, 260, 513}, {64, 1025, 31},
                                 {130, 40, 200},  {20, 24, 1700}};

TEST(LinearCpu, MatchesReferenceForEveryDtypeAndShape) {
  for (DType t : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const GemmShape& s : kGemmShapes) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) +
                   " n=" + std::to_string(s.n));
      const auto x = random_vector(static_cast<size_t>(s.m * s.k), 1);
      std::vector<float> wv;
      const auto w = encode(random_vector(static_cast<size_t>(s.n * s.k), 2), t, &wv);
      const auto bias = random_vector(static_cast<size_t>(s.n), 3);
      // Output with a guard column on each row (ldy = n + 1) that must stay untouched.
      std::vector<float> y(static_cast<size_t>(s.m * (s.n + 1)), 12345.0f), ref(static_cast<size_t>(s.m * s.n));
      linear(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), y.data(), s.n + 1);
      // BF16 prefill in vdpbf16ps takes x rounded to BF16 (kernels/cpu/gemm.h).
      std::vector<float> xr = x;
      if (t == DType::kBF16 && s.m > kStreamRows && has_bf16_gemm())
        for (float& v : xr) v = bf16_to_f32(f32_to_bf16(v));
      linear_reference(xr.data(), s.m, s.k, w.data(), t, s.n, bias.data(), ref.data());
      float worst = 0;
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          const float got = y[i * (s.n + 1) + j];
          ASSERT_TRUE(std::isfinite(got));
          worst = std::max(worst, std::fabs(got - ref[i * s.n + j]) / (1.0f + std::fabs(ref[i * s.n + j])));
        }
        EXPECT_EQ(y[i * (s.n + 1) + s.n], 12345.0f) << "guard column overwritten";
      }
      EXPECT_LE(worst, 2e-5f * std::sqrt(static_cast<float>(s.k)));
    }
  }
}

// Every weight row in exactly one block, blocks no narrower than OpenBLAS
// runs fast on (or the whole of a narrow n), x split only for a narrow n
// and never below kSgemmMinChunk rows a chunk.
TEST(LinearCpu, SgemmPlanCoversTheMatrixInFastBlocks) {
  for (int threads : {1, 2, 3, 16}) {
    for (int64_t n : {1, 128, 383, 512, 896, 3584, 4864, 18944, 152064}) {
      for (int64_t m : {9, 64, 200, 2048}) {
        const SgemmPlan p = plan_sgemm(m, n, threads);
        SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n) + " m " + std::to_string(m));
        ASSERT_GE(p.block_rows, 1);
        ASSERT_LE(p.block_rows, n);
        const int64_t blocks = (n + p.block_rows - 1) / p.block_rows;
        EXPECT_GT(n - (blocks - 1) * p.block_rows, 0);  // the last block is not empty
        if (n >= threads * kSgemmMinBlockRows) {
          EXPECT_GE(p.block_rows, kSgemmMinBlockRows);
          EXPECT_GE(blocks, threads);  // every thread has a block
          EXPECT_EQ(p.x_chunks, 1);
        } else {
          EXPECT_EQ(p.block_rows, n);
          EXPECT_LE(p.x_chunks, threads);
          EXPECT_TRUE(p.x_chunks == 1 || m / p.x_chunks >= kSgemmMinChunk);
          EXPECT_EQ(p.x_chunks, std::min<int64_t>(threads, std::max<int64_t>(1, m / kSgemmMinChunk)));
        }
      }
    }
  }
}

// vdpbf16ps with x split into hi + lo BF16 parts: within the split's 2^-17
// of each product plus FP32 summation (k·2^-24) of Σ|x·w|, on shapes with
// tails in m, n and k, across k chunks, with and without bias.
TEST(Bf16Gemm, IsWithinFp32AccuracyOfTheReferenceForEveryEdge) {
  if (!has_bf16_gemm()) GTEST_SKIP() << "built without AVX-512 BF16";
  const GemmShape shapes[] = {{1, 1, 1},    {1, 31, 5},     {1, 3584, 130}, {2, 4100, 9},   {3, 2048, 7},
                              {4, 33, 4},   {5, 2081, 67},  {8, 96, 3},     {9, 200, 129},  {37, 640, 200}};
  for (const GemmShape& s : shapes) {
    for (bool with_bias : {false, true}) {
      SCOPED_TRACE("m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n) +
                   (with_bias ? " bias" : ""));
      const auto x = random_vector(static_cast<size_t>(s.m * s.k), 11, 30.0f);
      std::vector<float> wv;
      const auto w = encode(random_vector(static_cast<size_t>(s.n * s.k), 12), DType::kBF16, &wv);
      const auto bias = random_vector(static_cast<size_t>(s.n), 13);
      std::vector<float> y(static_cast<size_t>(s.m * (s.n + 1)), 12345.0f), ref(static_cast<size_t>(s.m * s.n));
      ASSERT_TRUE(bf16_gemm(x.data(), s.m, s.k, reinterpret_cast<const uint16_t*>(w.data()), s.n,
                            with_bias ? bias.data() : nullptr, y.data(), s.n + 1));
      linear_reference(x.data(), s.m, s.k, w.data(), DType::kBF16, s.n, with_bias ? bias.data() : nullptr,
                       ref.data());
      const double eps = std::ldexp(1.0, -17) + static_cast<double>(s.k) * std::ldexp(1.0, -24);
      for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
          double magnitude = 0;
          for (int64_t t = 0; t < s.k; ++t) magnitude += std::fabs(static_cast<double>(x[i * s.k + t]) * wv[j * s.k + t]);
          ASSERT_NEAR(y[i * (s.n + 1) + j], ref[i * s.n + j], eps * magnitude + 1e-6) << "row " << i << " col " << j;
        }
        ASSERT_EQ(y[i * (s.n + 1) + s.n], 12345.0f) << "guard column overwritten";
      }
    }
  }
}

// Decode batches sequences: up to 8 rows of x, each row's sums must be
// what that row gets alone, bit for bit.
TEST(Bf16Gemm, AStreamedRowSumsAsItWouldAlone) {
  if (!has_bf16_gemm()) GTEST_SKIP() << "built without AVX-512 BF16";
  const int64_t m = 7, k = 1000, n = 33;
  const auto x = random_vector(static_cast<size_t>(m * k), 14);
  std::vector<float> wv;
  const auto w = encode(random_vector(static_cast<size_t>(n * k), 15), DType::kBF16, &wv);
  const auto* w16 = reinterpret_cast<const uint16_t*>(w.data());
  std::vector<float> batch(static_cast<size_t>(m * n)), alone(static_cast<size_t>(n));
  ASSERT_TRUE(bf16_gemm(x.data(), m, k, w16, n, nullptr, batch.data(), n));
  for (int64_t i = 0; i < m; ++i) {
    ASSERT_TRUE(bf16_gemm(x.data() + i * k, 1, k, w16, n, nullptr, alone.data(), n));
    for (int64_t j = 0; j < n; ++j) ASSERT_EQ(batch[i * n + j], alone[j]) << "row " << i << " col " << j;
  }
}

// The lo part carries what BF16 drops: 1 + 2^-12 is 1 in BF16, and 4096
// of them against weights of 1 sum to 4097, not 4096.
TEST(Bf16Gemm, KeepsWhatRoundingXToBf16WouldLose) {
  if (!has_bf16_gemm()) GTEST_SKIP() << "built without AVX-512 BF16";
  const int64_t k = 4096;
  const std::vector<float> x(k, 1.0f + std::ldexp(1.0f, -12));
  const std::vector<uint16_t> w(2 * k, f32_to_bf16(1.0f));
  float y[2] = {0, 0};
  ASSERT_TRUE(bf16_gemm(x.data(), 1, k, w.data(), 2, nullptr, y, 2));
  EXPECT_NEAR(y[0], 4097.0f, 1e-3f);
  EXPECT_EQ(y[0], y[1]);
}

// Bf16Input::kRound: the product of x rounded to BF16 (nearest even), in
// FP32 sums: within k·2^-24 of Σ|x·w| of the reference on those rounded
// values, streamed or not, every edge.
TEST(Bf16Gemm, RoundedXIsTheProductOfXRoundedToBf16) {
  if (!has_bf16_gemm()) GTEST_SKIP() << "built without AVX-512 BF16";
  const GemmShape shapes[] = {{1, 31, 5}, {3, 2048, 7}, {8, 96, 3}, {9, 200, 129}, {37, 2100, 67}};
  for (const GemmShape& s : shapes) {
    SCOPED_TRACE("m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n));
    const auto x = random_vector(static_cast<size_t>(s.m * s.k), 21, 30.0f);
    std::vector<float> xr(x.size());  // x rounded to BF16
    for (size_t i = 0; i < x.size(); ++i) xr[i] = bf16_to_f32(f32_to_bf16(x[i]));
    std::vector<float> wv;
    const auto w = encode(random_vector(static_cast<size_t>(s.n * s.k), 22), DType::kBF16, &wv);
    const auto bias = random_vector(static_cast<size_t>(s.n), 23);
    std::vector<float> y(static_cast<size_t>(s.m * s.n)), ref(y.size());
    ASSERT_TRUE(bf16_gemm(x.data(), s.m, s.k, reinterpret_cast<const uint16_t*>(w.data()), s.n, bias.data(), y.data(),
                          s.n, Bf16Input::kRound));
    linear_reference(xr.data(), s.m, s.k, w.data(), DType::kBF16, s.n, bias.data(), ref.data());
    const double eps = static_cast<double>(s.k) * std::ldexp(1.0, -24);
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        double magnitude = 0;
        for (int64_t t = 0; t < s.k; ++t) magnitude += std::fabs(static_cast<double>(xr[i * s.k + t]) * wv[j * s.k + t]);
        ASSERT_NEAR(y[i * s.n + j], ref[i * s.n + j], eps * magnitude + 1e-6) << "row " << i << " col " << j;
      }
    }
  }
}

// linear() rounds x to BF16 for prefill's many rows under the default
// arithmetic (bound by arithmetic, as transformers runs BF16 models), and
// keeps the split for decode's few rows and under the reference arithmetic:
// rows of 1 + 2^-12 (1 in BF16) against weights of 1 sum to 4096 rounded,
// 4097 split.
TEST(Bf16Gemm, LinearRoundsXForPrefillOnlyUnderTheDefaultArithmetic) {
  if (!has_bf16_gemm()) GTEST_SKIP() << "built without AVX-512 BF16";
  const int64_t k = 4096, n = 3;
  const std::vector<uint16_t> w(n * k, f32_to_bf16(1.0f));
  for (int64_t m : {int64_t{1}, kStreamRows, kStreamRows + 1, int64_t{40}}) {
    for (QuantArithmetic a : {QuantArithmetic::kInt8, QuantArithmetic::kInt8Reference}) {
      const bool rounded = m > kStreamRows && a == QuantArithmetic::kInt8;
      SCOPED_TRACE("m=" + std::to_string(m) + (a == QuantArithmetic::kInt8 ? " int8" : " int8-reference"));
      const std::vector<float> x(static_cast<size_t>(m * k), 1.0f + std::ldexp(1.0f, -12));
      std::vector<float> y(static_cast<size_t>(m * n));
      {
        deskpilot::testing::ScopedArithmetic arithmetic(a);
        linear(x.data(), m, k, w.data(), DType::kBF16, n, nullptr, y.data());
      }
      for (float v : y) ASSERT_NEAR(v, rounded ? 4096.0f : 4097.0f, 1e-3f);
    }
  }
}

TEST(LinearCpu, NoBiasMeansZeroBias) {
  const auto x = random_vector(3 * 17, 4);
  const auto w = random_vector(5 * 17, 5);
  std::vector<float> y(15), ref(15);
  linear(x.data(), 3, 17, w.data(), DType::kF32, 5, nullptr, y.data());
  linear_reference(x.data(), 3, 17, w.data(), DType::kF32, 5, nullptr, ref.data());
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-5f);
}

TEST(AttentionCpu, MatchesReferenceWithCacheAndGqa) {
  struct Case {
    int64_t len, past, q_heads, kv_heads, head_dim;
  };
  for (const Case& c : {Case{1, 0, 1, 1, 1}, Case{7, 0, 4, 2, 16}, Case{1, 33, 14, 2, 64}, Case{19, 5, 6, 3, 33},
                        Case{5, 100, 28, 4, 128}, Case{150, 10, 4, 2, 16}, Case{130, 0, 2, 1, 80}}) {
    SCOPED_TRACE("len=" + std::to_string(c.len) + " past=" + std::to_string(c.past));
    const int64_t total = c.past + c.len;
    const auto q = random_vector(static_cast<size_t>(c.len * c.q_heads * c.head_dim), 6, 3.0f);
    const auto k = random_vector(static_cast<size_t>(total * c.kv_heads * c.head_dim), 7, 3.0f);
    const auto v = random_vector(static_cast<size_t>(total * c.kv_heads * c.head_dim), 8);
    std::vector<float> out(q.size()), ref(q.size());
    attention_causal(q.data(), k.data(), v.data(), out.data(), c.len, c.past, c.q_heads, c.kv_heads, c.head_dim);
    attention_causal_reference(q.data(), k.data(), v.data(), ref.data(), c.len, c.past, c.q_heads, c.kv_heads,
                               c.head_dim);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5f) << i;
  }
}

// The cache as the CPU KvCache keeps it: (kv_heads, capacity, head_dim),
// rows past the visible ones NaN so that reading one shows. Decode's chunks of
// 256 keys, their edges, odd groups, head sizes off the vector width.
TEST(AttentionCpu, HeadMajorCacheMatchesReferenceAcrossDecodeChunks) {
  struct Case {
    int64_t len, past, q_heads, kv_heads, head_dim;
  };
  for (const Case& c : {Case{1, 0, 7, 1, 128}, Case{1, 255, 28, 4, 128}, Case{1, 256, 28, 4, 128},
                        Case{3, 510, 14, 2, 64}, Case{8, 700, 12, 2, 128}, Case{2, 300, 6, 3, 33},
                        Case{1, 1000, 8, 8, 80}, Case{20, 250, 4, 2, 16}}) {
    SCOPED_TRACE("len=" + std::to_string(c.len) + " past=" + std::to_string(c.past) + " heads=" +
                 std::to_string(c.q_heads) + "/" + std::to_string(c.kv_heads) + " d=" + std::to_string(c.head_dim));
    const int64_t total = c.past + c.len, capacity = total + 37, d = c.head_dim;
    const auto q = random_vector(static_cast<size_t>(c.len * c.q_heads * d), 16, 3.0f);
    const auto k = random_vector(static_cast<size_t>(total * c.kv_heads * d), 17, 3.0f);  // (total, kv_heads, d)
    const auto v = random_vector(static_cast<size_t>(total * c.kv_heads * d), 18);
    std::vector<float> kh(static_cast<size_t>(c.kv_heads * capacity * d), NAN), vh(kh.size(), NAN);
    for (int64_t t = 0; t < total; ++t)
      for (int64_t h = 0; h < c.kv_heads; ++h)
        for (int64_t i = 0; i < d; ++i) {
          kh[(h * capacity + t) * d + i] = k[(t * c.kv_heads + h) * d + i];
          vh[(h * capacity + t) * d + i] = v[(t * c.kv_heads + h) * d + i];
        }
    std::vector<float> out(q.size()), ref(q.size());
    attention_causal(q.data(), kh.data(), vh.data(), out.data(), c.len, c.past, c.q_heads, c.kv_heads, d,
                     KvLayout::head_major(capacity, d));
    attention_causal_reference(q.data(), k.data(), v.data(), ref.data(), c.len, c.past, c.q_heads, c.kv_heads, d);
    float largest = 0.0f;
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], ref[i], 2e-5f) << i;
      largest = std::max(largest, std::abs(ref[i]));
    }
    EXPECT_GT(largest, 0.05f);  // not a vacuous all-zero output
  }
}

TEST(AttentionCpu, FirstTokenSeesOnlyItself) {
  // One key: the output is its value whatever the scores.
  const std::vector<float> q = {1e4f, -3}, k = {5, 7}, v = {0.25f, -8};
  std::vector<float> out(2);
  attention_causal(q.data(), k.data(), v.data(), out.data(), 1, 0, 1, 1, 2);
  EXPECT_FLOAT_EQ(out[0], 0.25f);
  EXPECT_FLOAT_EQ(out[1], -8.0f);
}

TEST(RopeCpu, MropeStreamsFollowSections) {
  // head_dim 16 -> 8 frequencies split [2, 3, 3]: 0-1 temporal, 2-4 height, 5-7 width.
  const int64_t section[3] = {2, 3, 3};
  const std::vector<int64_t> pos = {3, 0, 0, 0, 11, 0, 0, 0, 20, 0, 0, 0};  // (3, 4): t, h, w of 4 tokens
  std::vector<float> cos(4 * 16), sin(4 * 16);
  mrope_cos_sin(pos.data(), 4, 16, 10000.0, section, cos.data(), sin.data());
  const auto inv = [](int i) { return 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / 16.0f); };
  for (int i = 0; i < 8; ++i) {
    const float p = i < 2 ? 3.0f : i < 5 ? 11.0f : 20.0f;
    EXPECT_NEAR(cos[i], std::cos(p * inv(i)), 1e-6f) << i;
    EXPECT_NEAR(sin[i + 8], std::sin(p * inv(i)), 1e-6f) << i;
    EXPECT_FLOAT_EQ(cos[16 + i], 1.0f);  // token 1 at position 0 everywhere
  }
}

TEST(RopeCpu, UnequalSectionsSplitWhereTheySay) {
  // head_dim 20 -> 10 frequencies split [1, 5, 4]: 0 temporal, 1-5 height, 6-9 width.
  const int64_t section[3] = {1, 5, 4};
  const std::vector<int64_t> pos = {7, 13, 29};  // (3, 1)
  std::vector<float> cos(20), sin(20);
  mrope_cos_sin(pos.data(), 1, 20, 10000.0, section, cos.data(), sin.data());
  for (int i = 0; i < 10; ++i) {
    const float p = i < 1 ? 7.0f : i < 6 ? 13.0f : 29.0f;
    EXPECT_NEAR(sin[i], std::sin(p * (1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / 20.0f))), 1e-6f) << i;
  }
}

TEST(RopeCpu, RotationMatchesRotateHalfFormula) {
  const int64_t len = 3, heads = 2, hd = 8, section[3] = {2, 1, 1};
  std::vector<int64_t> pos(3 * len);
  for (int64_t s = 0; s < 3; ++s)
    for (int64_t t = 0; t < len; ++t) pos[s * len + t] = 5 * t + s;
  std::vector<float> cos(len * hd), sin(len * hd);
  mrope_cos_sin(pos.data(), len, hd, 1e6, section, cos.data(), sin.data());
  auto x = random_vector(static_cast<size_t>(len * heads * hd), 9);
  const auto x0 = x;
  rope_apply(x.data(), len, heads, hd, cos.data(), sin.data());
  for (int64_t t = 0; t < len; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd; ++i) {
        const float* v = x0.data() + (t * heads + h) * hd;
        const float rot = i < hd / 2 ? -v[i + hd / 2] : v[i - hd / 2];
        EXPECT_NEAR(x[(t * heads + h) * hd + i], v[i] * cos[t * hd + i] + rot * sin[t * hd + i], 1e-6f);
      }
}

TEST(ElementwiseCpu, SiluMulAndEmbedding) {
  const std::vector<float> g = {-3, 0, 0.5f, 20}, u = {2, 5, -1, 0.5f};
  std::vector<float> out(4);
  silu_mul(g.data(), u.data(), out.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], g[i] / (1 + std::exp(-g[i])) * u[i], 1e-6f);

  std::vector<float> values;
  const auto table = encode(random_vector(5 * 3, 10), DType::kBF16, &values);  // (5, 3)
  const std::vector<int32_t> ids = {4, 0, 7};
  std::vector<float> rows(9, 99.0f);
  embedding_gather(table.data(), DType::kBF16, 5, 3, ids.data(), 3, rows.data());
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(rows[j], values[4 * 3 + j]);
    EXPECT_EQ(rows[3 + j], values[j]);
    EXPECT_EQ(rows[6 + j], 0.0f);  // out of range -> zeros
  }
}

TEST(AttentionCpu, SegmentsMatchReferenceAndStayApart) {
  const int64_t heads = 3, hd = 33;
  const std::vector<int64_t> starts = {0, 1, 17, 17 + 64, 100, 230};  // lengths 1, 16, 64, 19, 130 (3 query blocks)
  const int64_t n = starts.back();
  const auto q = random_vector(static_cast<size_t>(n * heads * hd), 11, 2.0f);
  auto k = random_vector(q.size(), 12, 2.0f);
  auto v = random_vector(q.size(), 13);
  std::vector<float> out(q.size()), ref(q.size());
  attention_segments(q.data(), k.data(), v.data(), out.data(), n, heads, hd, starts.data(), 5);
  attention_segments_reference(q.data(), k.data(), v.data(), ref.data(), n, heads, hd, starts.data(), 5);
  for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], 2e-5f) << i;
  // Changing the last two segments' keys and values leaves the others alone.
  for (int64_t i = starts[3] * heads * hd; i < n * heads * hd; ++i) k[i] += 1.0f, v[i] -= 3.0f;
  std::vector<float> again(q.size());
  attention_segments(q.data(), k.data(), v.data(), again.data(), n, heads, hd, starts.data(), 5);
  for (int64_t i = 0; i < starts[3] * heads * hd; ++i) ASSERT_EQ(again[i], out[i]) << i;
  // A segment of one token returns its own value.
  for (int64_t d = 0; d < heads * hd; ++d) EXPECT_FLOAT_EQ(out[d], v[d]);
}

TEST(LayerNormCpu, MatchesTheFormula) {
  for (int64_t dim : {1, 33, 1280}) {
    const int64_t rows = 5;
    const auto x = random_vector(static_cast<size_t>(rows * dim), 14, 3.0f);
    const auto w = random_vector(static_cast<size_t>(dim), 15);
    const auto b = random_vector(static_cast<size_t>(dim), 16);
    std::vector<float> out(x.size());
    layernorm_f32(x.data(), w.data(), b.data(), out.data(), rows, dim, 1e-6f);
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      var /= dim;
      for (int64_t i = 0; i < dim; ++i)
        EXPECT_NEAR(out[r * dim + i], (x[r * dim + i] - mean) / std::sqrt(var + 1e-6) * w[i] + b[i], 1e-4);
    }
  }
}

TEST(ElementwiseCpu, GeluAndQuickGelu) {
  std::vector<float> x = {-6, -1, -0.25f, 0, 0.5f, 3, 9};
  std::vector<float> g = x, qg = x;
  gelu_erf(g.data(), static_cast<int64_t>(g.size()));
  quick_gelu(qg.data(), static_cast<int64_t>(qg.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(g[i], 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0))), 1e-6);
    EXPECT_NEAR(qg[i], x[i] / (1 + std::exp(-1.702 * x[i])), 1e-6);
  }
}

}  // namespace
}  // namespace deskpilot::kernels

// Softmax's exponentials: within 2 ulp of std::exp down to -64, 0 below
// (never a subnormal, nor anything that normalises to one), and their sum.
TEST(ElementwiseCpu, ExpShiftedSumIsExpWithoutSubnormals) {
  std::vector<float> x;
  for (float t = -100.0f; t <= 0.0f; t += 0.0137f) x.push_back(t + 3.5f);  // max 3.5
  x.push_back(3.5f);
  x.push_back(3.5f - 64.0f);
  std::vector<float> got = x;
  const float sum = deskpilot::kernels::exp_shifted_sum(got.data(), static_cast<int64_t>(got.size()), 3.5f);
  double want_sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float t = x[i] - 3.5f;
    const float want = std::exp(t);
    ASSERT_TRUE(got[i] == 0.0f || got[i] / 1e9f >= FLT_MIN) << "t " << t;
    if (t < -64.0f) {
      EXPECT_EQ(got[i], 0.0f) << "t " << t;
    } else {
      EXPECT_NEAR(got[i], want, 2.5e-7f * want) << "t " << t;  // 2 ulp
      want_sum += want;
    }
  }
  EXPECT_EQ(got[x.size() - 2], 1.0f);  // e^0
  EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum);
}
