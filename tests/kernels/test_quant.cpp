// The GGUF block formats against gguf-py (tests/golden/quant, written by
// scripts/golden/quant_blocks.py): dequantization bit for bit, Q8_0 / Q4_0
// quantization bit for bit, the K-quants' own quantizer within its error,
// and the integer dot products against their plain versions and the FP32
// product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/gemm_fused.h"
#include "kernels/cpu/gemm_vnni.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/quant.h"
#include "tests/kernels/quant_gemv_emulation.h"

using namespace deskpilot::kernels;
namespace {

const std::string kGoldenDir = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<float> floats(const std::string& bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

const DType kBlockTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

std::vector<float> gaussian(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace

TEST(Quant, DequantizeEqualsGgufPyBitForBit) {
  for (DType t : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const std::string name(dtype_name(t));
    const std::string blocks = read_text(kGoldenDir + "quant/" + name + ".blocks");
    const std::vector<float> want = floats(read_text(kGoldenDir + "quant/" + name + ".f32"));
    ASSERT_FALSE(want.empty()) << name;
    ASSERT_EQ(dtype_bytes(t, static_cast<int64_t>(want.size())), static_cast<int64_t>(blocks.size())) << name;
    std::vector<float> got(want.size()), fast(want.size());
    convert_to_f32(t, blocks.data(), got.data(), got.size());
    if (is_quantized(t)) {
      dequantize_fast(t, blocks.data(), fast.data(), static_cast<int64_t>(fast.size()));
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_TRUE(bits(fast[i]) == bits(want[i]) || (std::isnan(fast[i]) && std::isnan(want[i])))
            << name << " (the SIMD dequantization) element " << i << ": " << fast[i] << " vs " << want[i];
    }
    int64_t mismatches = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      if (bits(got[i]) != bits(want[i]) && !(std::isnan(got[i]) && std::isnan(want[i]))) {
        if (mismatches++ < 5) ADD_FAILURE() << name << " element " << i << ": " << got[i] << " vs gguf-py " << want[i];
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
}

TEST(Quant, Q8_0AndQ4_0QuantizeAsGgufPy) {
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kF16, DType::kBF16}) {
    const std::string name(dtype_name(t));
    const std::vector<float> x = floats(read_text(kGoldenDir + "quant/" + name + ".input.f32"));
    const std::string want = read_text(kGoldenDir + "quant/" + name + ".quantized");
    ASSERT_FALSE(x.empty()) << name;
    std::string got(static_cast<size_t>(dtype_bytes(t, static_cast<int64_t>(x.size()))), '\0');
    quantize(t, x.data(), got.data(), static_cast<int64_t>(x.size()));
    ASSERT_EQ(got.size(), want.size()) << name;
    EXPECT_TRUE(got == want) << name << ": quantized bytes differ from gguf-py's";
  }
}

TEST(Quant, F16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);               // halfway to the next: infinity
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)),
            0x0000);  // a tie between 0 and it: even
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)),
            0x0002);                                            // 1.5 units: to even (2)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie: even
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) ASSERT_EQ(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))), h) << h;
}

// Every quantizer's round trip stays within what its bits allow: the error
// per element relative to the block's largest magnitude.
TEST(Quant, RoundTripErrorIsWithinTheFormatsResolution) {
  const struct {
    DType t;
    double bound;  // max |x - dequantize(quantize(x))| / max|x| over a block
  } cases[] = {{DType::kQ8_0, 0.5 / 127 + 1e-3},
               {DType::kQ4_0, 1.0 / 8 + 1e-3} /* +max clamps to 7 d */,
               {DType::kQ4_K, 2.0 / 15},
               {DType::kQ5_K, 1.0 / 31 + 0.02},
               {DType::kQ6_K, 1.0 / 32 + 0.01}};
  const int64_t n = 16 * 256;
  for (const auto& c : cases) {
    const std::vector<float> x = gaussian(n, 7, 0.05f);
    std::vector<uint8_t> q(static_cast<size_t>(dtype_bytes(c.t, n)));
    quantize(c.t, x.data(), q.data(), n);
    std::vector<float> y(static_cast<size_t>(n));
    dequantize(c.t, q.data(), y.data(), n);
    double worst = 0.0, sq = 0.0, norm = 0.0;
    const int64_t block = dtype_block(c.t);
    for (int64_t b = 0; b < n / block; ++b) {
      double amax = 0.0;
      for (int64_t i = 0; i < block; ++i) amax = std::max(amax, std::fabs(double(x[b * block + i])));
      for (int64_t i = 0; i < block; ++i) {
        const double e = std::fabs(double(x[b * block + i]) - y[b * block + i]);
        worst = std::max(worst, e / amax);
        sq += e * e;
        norm += double(x[b * block + i]) * x[b * block + i];
      }
    }
    EXPECT_LT(worst, c.bound) << dtype_name(c.t);
    // A constant block, all zeros: exact.
    std::vector<float> zeros(static_cast<size_t>(block), 0.0f), back(static_cast<size_t>(block), 1.0f);
    quantize(c.t, zeros.data(), q.data(), block);
    dequantize(c.t, q.data(), back.data(), block);
    for (float v : back) EXPECT_EQ(v, 0.0f) << dtype_name(c.t);
    RecordProperty(std::string(dtype_name(c.t)) + "_relative_rms", std::to_string(std::sqrt(sq / norm)));
  }
}

// Superblock activations: one scale per 256 values (max |x| / 127 over
// them, in each of their eight group scales), q = x / d to nearest, and the
// sums of each 16 and 32 q. Where every group of 32 has the same max |x|,
// they equal the per-32 activations.
TEST(QuantDot, SuperblockActivationsShareOneScaleAndSumEach16) {
  const int64_t k = 512;
  std::vector<float> x = gaussian(k, 12);
  x[300] = 9.0f;  // the second superblock's max, in its second group
  std::vector<int8_t> q(k);
  std::vector<float> d(k / 32);
  std::vector<int32_t> sum(k / 32);
  std::vector<int16_t> sum16(k / 16);
  quantize_activations_superblock(x.data(), k, q.data(), d.data(), sum.data(), sum16.data());
  for (int64_t b = 0; b < k / 256; ++b) {
    float amax = 0.0f;
    for (int64_t l = 256 * b; l < 256 * (b + 1); ++l) amax = std::max(amax, std::fabs(x[l]));
    for (int64_t g = 8 * b; g < 8 * (b + 1); ++g) EXPECT_EQ(d[g], amax / 127.0f) << "group " << g;
  }
  EXPECT_EQ(q[300], 127);
  for (int64_t l = 0; l < k; ++l) EXPECT_EQ(q[l], std::nearbyint(x[l] / d[l / 32])) << l;
  for (int64_t h = 0; h < k / 16; ++h) {
    int32_t s = 0;
    for (int64_t l = 16 * h; l < 16 * h + 16; ++l) s += q[l];
    EXPECT_EQ(sum16[h], s) << h;
  }
  for (int64_t g = 0; g < k / 32; ++g) EXPECT_EQ(sum[g], sum16[2 * g] + sum16[2 * g + 1]) << g;

  x[300] = 0.5f;
  for (int64_t g = 0; g < k / 32; ++g) x[32 * g + 5] = g % 8 == 0 ? -4.0f : 4.0f;  // one max in every group
  std::vector<int8_t> q32(k);
  std::vector<float> d32(k / 32);
  std::vector<int32_t> sum32(k / 32);
  quantize_activations(x.data(), k, q32.data(), d32.data(), sum32.data());
  quantize_activations_superblock(x.data(), k, q.data(), d.data(), sum.data(), sum16.data());
  EXPECT_EQ(q, q32);
  EXPECT_EQ(d, d32);
  EXPECT_EQ(sum, sum32);
}

// The SIMD dot products (every ISA this build has: AVX-512 VNNI and AVX2 on
// an AVX-512 machine) equal their plain versions (the same integer sums)
// but for the order of FP32 additions, on random blocks (random bytes,
// ordinary scales), with activations per 32 and (the K-quants) per 256; and
// the FP32 product of the dequantized row within the error of 8-bit
// activations.
TEST(QuantDot, SimdEqualsPlainAndFp32WithinActivationRounding) {
  const int64_t k_max = 4 * 256 + 32;
  const std::vector<float> x = gaussian(k_max, 11);
  std::vector<int8_t> q(static_cast<size_t>(k_max)), q256(q.size());
  std::vector<float> d(static_cast<size_t>(k_max / 32)), d256(d.size());
  std::vector<int32_t> sum(static_cast<size_t>(k_max / 32)), sum256(sum.size());
  std::vector<int16_t> sum16(static_cast<size_t>(k_max / 16));
  quantize_activations(x.data(), k_max, q.data(), d.data(), sum.data());
  quantize_activations_superblock(x.data(), k_max - 32, q256.data(), d256.data(), sum256.data(), sum16.data());
  const QuantizedActivations per32{q.data(), d.data(), sum.data()};
  const QuantizedActivations per256{q256.data(), d256.data(), sum256.data(), sum16.data()};
  std::mt19937 rng(3);
  for (DType t : kBlockTypes) {
    // An odd count of 32-value blocks, so that the two-blocks-a-step kernels meet their last single block.
    const int64_t k = dtype_block(t) == 32 ? k_max : k_max - 32;
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> w = gaussian(k, 100 + trial, 0.02f);
      std::vector<uint8_t> row(static_cast<size_t>(dtype_bytes(t, k)));
      if (trial % 2 == 0) {
        quantize(t, w.data(), row.data(), k);
      } else {  // random bytes: every bit pattern of the quants; scales kept
                // finite
        for (auto& b : row) b = static_cast<uint8_t>(rng());
        std::vector<float> back(static_cast<size_t>(k));
        dequantize(t, row.data(), back.data(), k);
        bool finite = true;
        for (float v : back) finite = finite && std::isfinite(v);
        if (!finite) continue;
      }
      std::vector<float> wf(static_cast<size_t>(k));
      dequantize(t, row.data(), wf.data(), k);
      double exact = 0.0, scale = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        exact += double(wf[i]) * x[i];
        scale += std::fabs(double(wf[i]) * x[i]);
      }
      std::vector<const QuantizedActivations*> kinds = {&per32};
      if (takes_superblock_activations(t)) kinds.push_back(&per256);
      for (const QuantizedActivations* a : kinds) {
        const char* kind = a == &per32 ? "per 32" : "per 256";
        const float plain = quant_dot(t, row.data(), *a, k, QuantDotPath::kPlain);
        for (QuantDotPath path : {QuantDotPath::kWidest, QuantDotPath::kAvx512, QuantDotPath::kAvx2}) {
          if (!has_quant_dot_path(path)) continue;
          const float simd = quant_dot(t, row.data(), *a, k, path);
          EXPECT_NEAR(simd, plain, 1e-5 * scale + 1e-30)
              << dtype_name(t) << " trial " << trial << " path " << static_cast<int>(path) << ", " << kind;
        }
        // 8-bit activations: each |x - d q| <= d / 2 = max|x| / 254 per group (or superblock).
        EXPECT_NEAR(plain, exact, scale / 100 + 1e-30) << dtype_name(t) << " trial " << trial << ", " << kind;
      }
    }
  }
}

// The AVX2 and AVX-512 K-quant kernels at their largest integer sums: every
// weight at the top of its range (and, Q6_K, the bottom), activations at
// ±127, against the plain kernel.
TEST(QuantDot, SimdHoldsTheLargestSuperblockSums) {
  const int64_t k = 512;
  std::vector<float> x(k);
  for (int64_t i = 0; i < k; ++i) x[i] = i % 3 == 0 ? -1.0f : 1.0f;  // q = ±127
  std::vector<int8_t> q(k);
  std::vector<float> d(k / 32);
  std::vector<int32_t> sum(k / 32);
  std::vector<int16_t> sum16(k / 16);
  quantize_activations_superblock(x.data(), k, q.data(), d.data(), sum.data(), sum16.data());
  const QuantizedActivations a{q.data(), d.data(), sum.data(), sum16.data()};
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    for (float sign : {1.0f, -1.0f}) {
      std::vector<float> wf(k);
      for (int64_t i = 0; i < k; ++i) wf[i] = sign * (i % 3 == 0 ? -1.0f : 1.0f);  // w·x = ±1 throughout
      std::vector<uint8_t> row(static_cast<size_t>(dtype_bytes(t, k)));
      quantize(t, wf.data(), row.data(), k);
      const float plain = quant_dot(t, row.data(), a, k, QuantDotPath::kPlain);
      EXPECT_NEAR(plain, sign * k, 0.02 * k) << dtype_name(t);
      for (QuantDotPath path : {QuantDotPath::kAvx512, QuantDotPath::kAvx2}) {
        if (!has_quant_dot_path(path)) continue;
        EXPECT_NEAR(quant_dot(t, row.data(), a, k, path), plain, 1e-5 * k) << dtype_name(t);
      }
    }
  }
}

// linear() on block-quantized weights: the integer path (one to eight rows),
// its plain version, and the FP32 path of many rows (BF16 tiles on AMX
// CPUs) against the reference.
TEST(QuantDot, LinearTakesEachArithmetic) {
  const int64_t k = 512, n = 37;
  const std::vector<float> wf = gaussian(n * k, 5, 0.02f);
  for (DType t : kBlockTypes) {
    std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, n * k)));
    quantize(t, wf.data(), w.data(), n * k);
    std::vector<float> bias = gaussian(n, 9);
    for (int64_t m : {1, 3, 8, 20}) {
      const std::vector<float> x = gaussian(m * k, 17 + m);
      std::vector<float> want(static_cast<size_t>(m * n)), got(want.size()), plain(want.size());
      linear_reference(x.data(), m, k, w.data(), t, n, bias.data(), want.data());
      set_quant_arithmetic(QuantArithmetic::kFp32);
      linear(x.data(), m, k, w.data(), t, n, bias.data(), got.data());
      for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << dtype_name(t) << " m " << m;
      set_quant_arithmetic(QuantArithmetic::kInt8Reference);
      linear(x.data(), m, k, w.data(), t, n, bias.data(), plain.data());
      set_quant_arithmetic(QuantArithmetic::kInt8);
      linear(x.data(), m, k, w.data(), t, n, bias.data(), got.data());
      if (m > 8 && has_amx_gemm()) {  // many rows in BF16 tiles (AmxGemm below), not FP32
        bf16_gemm_reference(x.data(), m, k, w.data(), t, n, bias.data(), plain.data());
      } else if (m > 8 && (has_vnni_gemm() || (has_avx2_int_gemm() && t != DType::kQ8_0))) {
        // many rows in VNNI or AVX2 integers (VnniGemm, Avx2IntGemm below): decode's sums
        set_quant_arithmetic(QuantArithmetic::kInt8Reference);
        for (int64_t i = 0; i < m; ++i)
          linear(x.data() + i * k, 1, k, w.data(), t, n, bias.data(), plain.data() + i * n);
        set_quant_arithmetic(QuantArithmetic::kInt8);
      }
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR(got[i], plain[i], 1e-4) << dtype_name(t) << " m " << m;
        ASSERT_NEAR(got[i], want[i], 0.05) << dtype_name(t) << " m " << m;  // 8-bit activations, |y| ~ 0.5
      }
    }
  }
  set_quant_arithmetic(QuantArithmetic::kInt8);
}

namespace {

// A prefill GEMM test's shape, and its line in a failure's trace.
struct GemmShape {
  int64_t m, k, n;
};
std::string describe(DType t, const GemmShape& s) {
  return std::string(dtype_name(t)) + " m=" + std::to_string(s.m) + " k=" + std::to_string(s.k) +
         " n=" + std::to_string(s.n);
}

// What a GEMM kernel writes at row stride n + 1 into a buffer of kGuard:
// within FP32 summation order of `want` (m, n), the guard column untouched.
constexpr float kGuard = 12345.0f;
void expect_near_with_guard(const std::vector<float>& got, const std::vector<float>& want, const GemmShape& s) {
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j)
      ASSERT_NEAR(got[i * (s.n + 1) + j], want[i * s.n + j], 1e-5f * std::sqrt(float(s.k))) << i << "," << j;
    ASSERT_EQ(got[i * (s.n + 1) + s.n], kGuard) << "guard column overwritten";
  }
}

}  // namespace

// Prefill's fused GEMM (converting weights a slice at a time into its own
// buffer) against the reference, for every weight type it takes, on shapes
// across its edges: m not a multiple of the 16-row panel, n not one of the
// 6-row tile or the 48-row block, k shorter than, equal to, and past the
// 256-column slice with a short last slice, m past the 256-row chunk; y
// with a guard column.
TEST(FusedGemm, EqualsTheReferenceForEveryWeightTypeAndEdge) {
  if (!has_fused_gemm()) GTEST_SKIP() << "this build has no AVX2 fused GEMM";
  const GemmShape shapes[] = {{9, 32, 5}, {16, 256, 48}, {17, 512, 50}, {40, 288, 97}, {33, 800, 6}, {300, 64, 13}};
  std::vector<DType> types(std::begin(kBlockTypes), std::end(kBlockTypes));
  types.insert(types.end(), {DType::kBF16, DType::kF16, DType::kF32});
  for (DType t : types) {
    for (const GemmShape& s : shapes) {
      if (s.k % dtype_block(t) != 0) continue;
      SCOPED_TRACE(describe(t, s));
      const std::vector<float> wf = gaussian(s.n * s.k, 21, 0.05f), x = gaussian(s.m * s.k, 22), bias = gaussian(s.n, 23);
      std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, s.n * s.k)));
      if (t == DType::kF32) {
        std::memcpy(w.data(), wf.data(), w.size());
      } else if (t == DType::kBF16 || t == DType::kF16) {
        for (int64_t i = 0; i < s.n * s.k; ++i) {
          const uint16_t h = t == DType::kBF16 ? f32_to_bf16(wf[i]) : f32_to_f16(wf[i]);
          std::memcpy(w.data() + 2 * i, &h, 2);
        }
      } else {
        quantize(t, wf.data(), w.data(), s.n * s.k);
      }
      std::vector<float> want(static_cast<size_t>(s.m * s.n));
      std::vector<float> got(static_cast<size_t>(s.m * (s.n + 1)), kGuard);
      linear_reference(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), want.data());
      ASSERT_TRUE(fused_gemm(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), got.data(), s.n + 1));
      ASSERT_NO_FATAL_FAILURE(expect_near_with_guard(got, want, s));
    }
  }
}

// The AMX kernel's reference rounds each operand to BF16: within BF16's
// rounding of the exact product (|dy| <= 2^-8 sum |x w|, both operands
// rounded), and not equal to it (the rounding happens).
TEST(AmxGemm, ReferenceIsTheProductOfBf16Operands) {
  const int64_t m = 5, k = 512, n = 7;
  const std::vector<float> wf = gaussian(n * k, 31, 0.05f), x = gaussian(m * k, 32), bias = gaussian(n, 33);
  std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(DType::kQ8_0, n * k)));
  quantize(DType::kQ8_0, wf.data(), w.data(), n * k);
  std::vector<float> exact(static_cast<size_t>(m * n)), bf16(exact.size()), wd(static_cast<size_t>(n * k));
  linear_reference(x.data(), m, k, w.data(), DType::kQ8_0, n, bias.data(), exact.data());
  bf16_gemm_reference(x.data(), m, k, w.data(), DType::kQ8_0, n, bias.data(), bf16.data());
  convert_to_f32(DType::kQ8_0, w.data(), wd.data(), static_cast<size_t>(n * k));
  int differ = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double magnitude = 0;
      for (int64_t t = 0; t < k; ++t) magnitude += std::fabs(double(x[i * k + t]) * wd[j * k + t]);
      const double d = std::fabs(double(bf16[i * n + j]) - exact[i * n + j]);
      EXPECT_LE(d, magnitude / 256) << i << "," << j;
      differ += d > 1e-6 * magnitude;
    }
  }
  EXPECT_GT(differ, m * n / 2) << "the reference does not round to BF16";
}

// Prefill's AMX GEMM against its BF16 reference, for every block type, on
// shapes across its edges: m below one 16-row panel, an odd number of
// panels (the last one alone), n below one tile, past the 32-row block and
// short in its last one, k of one tile step and of many; y with a guard
// column. linear() takes it for many rows of x under QuantArithmetic::kInt8.
TEST(AmxGemm, EqualsItsBf16ReferenceForEveryBlockTypeAndEdge) {
  if (!has_amx_gemm()) GTEST_SKIP() << "this build or CPU has no AMX (or the kernel refused the tiles)";
  const GemmShape shapes[] = {{9, 32, 5}, {16, 256, 48}, {33, 512, 50}, {40, 800, 31}, {300, 256, 70}, {64, 1024, 16}};
  for (DType t : kBlockTypes) {
    for (const GemmShape& s : shapes) {
      if (s.k % dtype_block(t) != 0) continue;
      SCOPED_TRACE(describe(t, s));
      const std::vector<float> wf = gaussian(s.n * s.k, 41, 0.05f), x = gaussian(s.m * s.k, 42), bias = gaussian(s.n, 43);
      std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, s.n * s.k)));
      quantize(t, wf.data(), w.data(), s.n * s.k);
      std::vector<float> want(static_cast<size_t>(s.m * s.n)), via_linear(want.size());
      std::vector<float> got(static_cast<size_t>(s.m * (s.n + 1)), kGuard);
      bf16_gemm_reference(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), want.data());
      ASSERT_TRUE(amx_gemm(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), got.data(), s.n + 1));
      ASSERT_NO_FATAL_FAILURE(expect_near_with_guard(got, want, s));
      if (s.m > 8) {
        set_quant_arithmetic(QuantArithmetic::kInt8);
        linear(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), via_linear.data());
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) ASSERT_EQ(via_linear[i * s.n + j], got[i * (s.n + 1) + j]) << i << "," << j;
      }
    }
  }
}

// Prefill's VNNI GEMM against decode's plain integer sums (QuantArithmetic::
// kInt8Reference, one row of x at a time: the same 8-bit activations and the
// same exact int32 group sums, FP32 additions in another order), for every
// block type, on shapes across its edges: m below and not a multiple of the
// 4-row tile, n below 16 and past the 32-row block with a short last one, k
// of one group and of many; y with a guard column. linear() takes it, bit for
// bit, when asked (PrefillGemm::kVnni).
using IntGemm = bool (*)(const float*, int64_t, int64_t, const void*, DType, int64_t, const float*, float*, int64_t);

void expect_decodes_integer_sums(IntGemm gemm, PrefillGemm path, bool takes_q8_0) {
  const GemmShape shapes[] = {{3, 32, 5}, {9, 256, 48}, {33, 512, 50}, {40, 800, 31}, {130, 256, 70}, {16, 1024, 16}};
  for (DType t : kBlockTypes) {
    for (const GemmShape& s : shapes) {
      if (s.k % dtype_block(t) != 0) continue;
      SCOPED_TRACE(describe(t, s));
      const std::vector<float> wf = gaussian(s.n * s.k, 51, 0.05f), x = gaussian(s.m * s.k, 52), bias = gaussian(s.n, 53);
      std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, s.n * s.k)));
      quantize(t, wf.data(), w.data(), s.n * s.k);
      std::vector<float> want(static_cast<size_t>(s.m * s.n)), via_linear(want.size()), fp32(want.size());
      std::vector<float> got(static_cast<size_t>(s.m * (s.n + 1)), kGuard);
      if (t == DType::kQ8_0 && !takes_q8_0) {
        EXPECT_FALSE(gemm(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), got.data(), s.n + 1));
        EXPECT_EQ(got[0], kGuard);
        continue;
      }
      set_quant_arithmetic(QuantArithmetic::kInt8Reference);
      for (int64_t i = 0; i < s.m; ++i)
        linear(x.data() + i * s.k, 1, s.k, w.data(), t, s.n, bias.data(), want.data() + i * s.n);
      set_quant_arithmetic(QuantArithmetic::kInt8);
      ASSERT_TRUE(gemm(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), got.data(), s.n + 1));
      ASSERT_NO_FATAL_FAILURE(expect_near_with_guard(got, want, s));
      // 8-bit activations, not the FP32 product: the sums differ from it, within 1% of its scale.
      linear_reference(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), fp32.data());
      float worst = 0.0f;
      for (int64_t i = 0; i < s.m * s.n; ++i) worst = std::max(worst, std::fabs(fp32[i] - want[i]));
      EXPECT_GT(worst, 1e-5f);
      EXPECT_LT(worst, 0.01f * std::sqrt(float(s.k)));
      if (s.m > 8) {
        set_prefill_gemm(path);
        linear(x.data(), s.m, s.k, w.data(), t, s.n, bias.data(), via_linear.data());
        set_prefill_gemm(PrefillGemm::kAuto);
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) ASSERT_EQ(via_linear[i * s.n + j], got[i * (s.n + 1) + j]) << i << "," << j;
      }
    }
  }
}

TEST(VnniGemm, EqualsDecodesIntegerSumsForEveryBlockTypeAndEdge) {
  if (!has_vnni_gemm()) GTEST_SKIP() << "this build has no AVX-512 VNNI";
  expect_decodes_integer_sums(vnni_gemm, PrefillGemm::kVnni, true);
}

// The AVX2 kernel: the same, but for Q8_0, which it refuses (its bytes would
// saturate vpmaddubsw) with nothing written.
TEST(Avx2IntGemm, EqualsDecodesIntegerSumsForEveryBlockTypeButQ8_0AndEdge) {
  if (!has_avx2_int_gemm()) GTEST_SKIP() << "this build has no AVX2";
  expect_decodes_integer_sums(avx2_int_gemm, PrefillGemm::kAvx2, false);
}

// Its u · x pairs at their largest (u = 63, x = ±127 in every column: Q6_K
// at its top and bottom), where a 16-bit sum of more than two steps would
// overflow; and bit for bit what the VNNI kernel gives, where both run.
TEST(Avx2IntGemm, HoldsTheLargestPairSumsAndEqualsVnni) {
  if (!has_avx2_int_gemm()) GTEST_SKIP() << "this build has no AVX2";
  const int64_t m = 9, k = 512, n = 40;
  for (DType t : {DType::kQ6_K, DType::kQ5_K, DType::kQ4_K, DType::kQ4_0}) {
    SCOPED_TRACE(dtype_name(t));
    std::vector<float> wf(static_cast<size_t>(n * k)), x(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < n * k; ++i) wf[i] = (i / k) % 2 == 0 ? 1.0f : -1.0f;  // every weight at a scale's end
    for (int64_t i = 0; i < m * k; ++i) x[i] = (i / k) % 3 == 0 ? -1.0f : 1.0f;   // q = ±127 throughout
    std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, n * k)));
    quantize(t, wf.data(), w.data(), n * k);
    std::vector<float> want(static_cast<size_t>(m * n)), got(want.size()), vnni(want.size());
    set_quant_arithmetic(QuantArithmetic::kInt8Reference);
    for (int64_t i = 0; i < m; ++i) linear(x.data() + i * k, 1, k, w.data(), t, n, nullptr, want.data() + i * n);
    set_quant_arithmetic(QuantArithmetic::kInt8);
    ASSERT_TRUE(avx2_int_gemm(x.data(), m, k, w.data(), t, n, nullptr, got.data(), n));
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f * std::fabs(want[i]) + 1e-5f) << i;
    if (has_vnni_gemm()) {
      ASSERT_TRUE(vnni_gemm(x.data(), m, k, w.data(), t, n, nullptr, vnni.data(), n));
      EXPECT_EQ(got, vnni);
    }
  }
}

// decode_group, the group decoder the CUDA kernels share, equals the
// reference dequantization bit for bit on gguf-py's golden blocks.
TEST(Quant, GroupDecoderEqualsDequantize) {
  const auto mul = [](float a, float b) { return a * b; };
  const auto sub = [](float a, float b) { return a - b; };
  for (DType t : kBlockTypes) {
    const std::string name(dtype_name(t));
    const std::string blocks = read_text(kGoldenDir + "quant/" + name + ".blocks");
    const std::vector<float> want = floats(read_text(kGoldenDir + "quant/" + name + ".f32"));
    ASSERT_FALSE(want.empty());
    float w[32];
    for (int64_t g = 0; g < static_cast<int64_t>(want.size()) / 32; ++g) {
      decode_group(t, reinterpret_cast<const uint8_t*>(blocks.data()), g, w, mul, sub);
      for (int l = 0; l < 32; ++l) ASSERT_EQ(bits(w[l]), bits(want[32 * g + l])) << name << " group " << g;
    }
  }
}

// The CUDA GEMV's arithmetic, emulated, is within FP32 summation error of
// the exact product (the GPU test holds the kernel to the emulation).
TEST(QuantDot, CudaGemvEmulationIsWithinSummationError) {
  const int64_t k = 3 * 256 + 64, rows = 9, n = 3;  // 26 groups: some lanes take one, some none
  for (DType t : kBlockTypes) {
    if (k % dtype_block(t) != 0) continue;
    const std::vector<float> wf = gaussian(rows * k, 21, 0.05f);
    std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, rows * k)));
    quantize(t, wf.data(), w.data(), rows * k);
    const std::vector<float> xf = gaussian(n * k, 22);
    std::vector<uint16_t> x(xf.size());
    std::vector<float> xr(xf.size());
    for (size_t i = 0; i < xf.size(); ++i) xr[i] = bf16_to_f32(x[i] = f32_to_bf16(xf[i]));
    const std::vector<float> got = deskpilot::testing::emulate_quant_gemv(t, w.data(), rows, k, x, n);
    std::vector<float> want(static_cast<size_t>(n * rows));
    linear_reference(xr.data(), n, k, w.data(), t, rows, nullptr, want.data());
    std::vector<float> wd(static_cast<size_t>(rows * k));
    dequantize(t, w.data(), wd.data(), rows * k);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < rows; ++r) {
        double scale = 0;
        for (int64_t c = 0; c < k; ++c) scale += std::fabs(double(wd[r * k + c]) * xr[i * k + c]);
        EXPECT_NEAR(got[i * rows + r], want[i * rows + r], 64 * 6e-8 * scale) << dtype_name(t);
      }
  }
}
