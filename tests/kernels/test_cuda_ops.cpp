// Every CUDA kernel against its CPU reference on awkward shapes (widths 1,
// 33, 111, 260, 1025; batch 1 and 19), with guard elements after every
// output buffer (out-of-bounds writes) and NaN/Inf checks. Skipped where
// there is no GPU; compiled wherever nvcc is (CI: sm_80 and sm_90).
//
// Tolerances: element-wise ops and norms differ from the CPU only by the
// libm (expf/erff/sincosf within 2 ulp) and the order of FP32 sums: 1e-5
// relative plus 1e-6. The GEMM gets the CPU the same BF16-rounded inputs,
// so only the accumulation order differs: at most 1e-5 of sum |x_i w_i|.
#include <gtest/gtest.h>

#ifdef DESKPILOT_HAVE_CUDA

#include <cuda_runtime.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/flash_attention.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/sampling.h"
#include "kernels/dtype.h"
#include "tests/kernels/flash_attention_emulation.h"
#include "tests/kernels/quant_gemv_emulation.h"
#include "kernels/quant.h"

namespace deskpilot::kernels {
namespace {

constexpr int64_t kWidths[] = {1, 33, 111, 260, 1025};
constexpr int64_t kBatches[] = {1, 19};
constexpr size_t kGuard = 16;         // elements after each device buffer
constexpr uint8_t kGuardByte = 0xA5;  // their bytes

#define SKIP_WITHOUT_GPU()                                              \
  if (cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";      \
  SCOPED_TRACE(cuda::device_description(0))

// A device buffer of n T with kGuard guard elements after it.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(&p_, (n + kGuard) * sizeof(T)), cudaSuccess);
    cudaMemset(p_, kGuardByte, (n + kGuard) * sizeof(T));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(p_); }
  void upload(const std::vector<T>& host) {
    EXPECT_EQ(cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  std::vector<T> download() const {
    std::vector<T> out(n_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  // The guard elements are untouched.
  bool guard_intact() const {
    std::vector<uint8_t> g(kGuard * sizeof(T));
    cudaMemcpy(g.data(), p_ + n_, g.size(), cudaMemcpyDeviceToHost);
    for (uint8_t b : g)
      if (b != kGuardByte) return false;
    return true;
  }
  T* get() { return p_; }

 private:
  T* p_ = nullptr;
  size_t n_;
};

std::vector<float> random_floats(size_t n, unsigned seed, float lo = -2.f, float hi = 2.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// |got - want| <= abs + rel |want| everywhere, and all finite.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double abs, double rel) {
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << "element " << i;
    if (std::fabs(double(got[i]) - want[i]) > abs + rel * std::fabs(double(want[i]))) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u);
}

TEST(CudaOps, ElementwiseMatchCpu) {
  SKIP_WITHOUT_GPU();
  for (int64_t b : kBatches)
    for (int64_t w : kWidths) {
      SCOPED_TRACE(std::to_string(b) + "x" + std::to_string(w));
      const size_t n = static_cast<size_t>(b * w);
      const auto gate = random_floats(n, 1, -8, 8), up = random_floats(n, 2);
      std::vector<float> want(n);
      silu_mul(gate.data(), up.data(), want.data(), static_cast<int64_t>(n));
      DeviceBuffer<float> dg(gate), du(up), dout(n);
      ASSERT_EQ(cuda::silu_mul(dg.get(), du.get(), dout.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
      expect_close(dout.download(), want, 1e-6, 1e-5);
      EXPECT_TRUE(dout.guard_intact());

      for (int op = 0; op < 3; ++op) {
        auto x = random_floats(n, 3 + op, -6, 6);
        const auto y = random_floats(n, 7);
        DeviceBuffer<float> dx(x), dy(y);
        if (op == 0) {
          gelu_erf(x.data(), static_cast<int64_t>(n));
          ASSERT_EQ(cuda::gelu_erf(dx.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
        } else if (op == 1) {
          quick_gelu(x.data(), static_cast<int64_t>(n));
          ASSERT_EQ(cuda::quick_gelu(dx.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
        } else {
          add_inplace(x.data(), y.data(), static_cast<int64_t>(n));
          ASSERT_EQ(cuda::add_inplace(dx.get(), dy.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
        }
        expect_close(dx.download(), x, 1e-6, 1e-5);
        EXPECT_TRUE(dx.guard_intact());
      }
    }
}

TEST(CudaOps, ConversionsAreExact) {
  SKIP_WITHOUT_GPU();
  auto x = random_floats(1025, 9, -1e4f, 1e4f);
  // Halfway cases, signed zeros, infinities, NaN, denormals.
  const uint32_t specials[] = {0x3f808000u, 0x3f818000u, 0x80000000u, 0x7f800000u, 0xff800000u,
                               0x7fc00001u, 0x00000001u, 0x807fffffu, 0x7f7fffffu};
  for (uint32_t bits : specials) {
    float f;
    std::memcpy(&f, &bits, 4);
    x.push_back(f);
  }
  DeviceBuffer<float> dx(x);
  DeviceBuffer<uint16_t> dbf(x.size());
  ASSERT_EQ(cuda::f32_to_bf16(dx.get(), dbf.get(), static_cast<int64_t>(x.size()), nullptr), cudaSuccess);
  const auto bf = dbf.download();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(bf[i], f32_to_bf16(x[i])) << i;
  EXPECT_TRUE(dbf.guard_intact());
  std::vector<uint16_t> halves(x.size());
  for (size_t i = 0; i < x.size(); ++i) halves[i] = static_cast<uint16_t>(i * 37 + 11);  // every kind of F16
  for (DType t : {DType::kBF16, DType::kF16}) {
    const std::vector<uint16_t>& src = t == DType::kBF16 ? bf : halves;
    DeviceBuffer<uint16_t> ds(src);
    DeviceBuffer<float> dout(src.size());
    ASSERT_EQ(cuda::to_f32(ds.get(), t, dout.get(), static_cast<int64_t>(src.size()), nullptr), cudaSuccess);
    std::vector<float> want(src.size());
    convert_to_f32(t, src.data(), want.data(), src.size());
    const auto got = dout.download();
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(std::memcmp(&got[i], &want[i], 4) == 0 || (std::isnan(got[i]) && std::isnan(want[i]))) << i;
    EXPECT_TRUE(dout.guard_intact());
  }
}

TEST(CudaOps, EmbeddingGatherMatchesCpuForEveryDtype) {
  SKIP_WITHOUT_GPU();
  const int64_t rows = 260;
  for (int64_t dim : kWidths)
    for (DType t : {DType::kF32, DType::kBF16, DType::kF16}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " dim " + std::to_string(dim));
      const auto f = random_floats(static_cast<size_t>(rows * dim), 11);
      std::vector<uint8_t> table(static_cast<size_t>(rows * dim) * dtype_size(t));
      for (size_t i = 0; i < f.size(); ++i) {
        if (t == DType::kF32) {
          std::memcpy(table.data() + 4 * i, &f[i], 4);
        } else {
          const uint16_t h = t == DType::kBF16 ? f32_to_bf16(f[i]) : static_cast<uint16_t>(i * 7919);
          std::memcpy(table.data() + 2 * i, &h, 2);
        }
      }
      std::vector<int32_t> ids = {0, 259, 5, 5, -1, 260, 17, 100, 3, 1, 2, 0, 200, 150, 7, 8, 9, 10, 11};
      std::vector<float> want(ids.size() * static_cast<size_t>(dim));
      embedding_gather(table.data(), t, rows, dim, ids.data(), static_cast<int64_t>(ids.size()), want.data());
      DeviceBuffer<uint8_t> dt(table);
      DeviceBuffer<int32_t> di(ids);
      DeviceBuffer<float> dout(want.size());
      ASSERT_EQ(cuda::embedding_gather(dt.get(), t, rows, dim, di.get(), static_cast<int64_t>(ids.size()), dout.get(),
                                       nullptr),
                cudaSuccess);
      const auto got = dout.download();
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_TRUE(std::memcmp(&got[i], &want[i], 4) == 0 || (std::isnan(got[i]) && std::isnan(want[i]))) << i;
      EXPECT_TRUE(dout.guard_intact());
    }
}

TEST(CudaOps, LayerNormMatchesCpu) {
  SKIP_WITHOUT_GPU();
  for (int64_t b : kBatches)
    for (int64_t w : kWidths) {
      SCOPED_TRACE(std::to_string(b) + "x" + std::to_string(w));
      const auto x = random_floats(static_cast<size_t>(b * w), 12, -3, 5), weight = random_floats(w, 13),
                 bias = random_floats(w, 14);
      std::vector<float> want(x.size());
      layernorm_f32(x.data(), weight.data(), bias.data(), want.data(), b, w, 1e-6f);
      DeviceBuffer<float> dx(x), dw(weight), db(bias), dout(x.size());
      ASSERT_EQ(cuda::layernorm_f32(dx.get(), dw.get(), db.get(), dout.get(), b, w, 1e-6f, nullptr), cudaSuccess);
      expect_close(dout.download(), want, 1e-5, 1e-5);
      EXPECT_TRUE(dout.guard_intact());
    }
}

TEST(CudaOps, RopeMatchesCpu) {
  SKIP_WITHOUT_GPU();
  for (int64_t len : kBatches)
    for (int64_t head_dim : {2, 34, 112, 128, 260}) {
      SCOPED_TRACE("len " + std::to_string(len) + " head_dim " + std::to_string(head_dim));
      const int64_t half = head_dim / 2;
      const int64_t section[3] = {half / 4, half / 4 + (half % 4 > 0), half - 2 * (half / 4) - (half % 4 > 0)};
      std::vector<int64_t> pos(static_cast<size_t>(3 * len));
      std::mt19937 rng(15);
      for (auto& p : pos) p = static_cast<int64_t>(rng() % 5000);
      std::vector<float> cos(static_cast<size_t>(len * head_dim)), sin(cos.size());
      mrope_cos_sin(pos.data(), len, head_dim, 1e6, section, cos.data(), sin.data());
      std::vector<float> inv_freq(static_cast<size_t>(half));
      std::vector<int32_t> stream(static_cast<size_t>(half));
      mrope_frequencies(head_dim, 1e6, section, inv_freq.data(), stream.data());
      DeviceBuffer<int64_t> dpos(pos);
      DeviceBuffer<float> dfreq(inv_freq), dcos(cos.size()), dsin(sin.size());
      DeviceBuffer<int32_t> dstream(stream);
      ASSERT_EQ(cuda::mrope_cos_sin(dpos.get(), len, head_dim, dfreq.get(), dstream.get(), dcos.get(), dsin.get(),
                                    nullptr),
                cudaSuccess);
      // Angles up to 5000 rad: both libms are within an ulp of the true value.
      expect_close(dcos.download(), cos, 2e-6, 0);
      expect_close(dsin.download(), sin, 2e-6, 0);
      EXPECT_TRUE(dcos.guard_intact() && dsin.guard_intact());

      const int64_t heads = 3;
      auto x = random_floats(static_cast<size_t>(len * heads * head_dim), 16);
      DeviceBuffer<float> dx(x), dc(cos), ds(sin);
      rope_apply(x.data(), len, heads, head_dim, cos.data(), sin.data());
      ASSERT_EQ(cuda::rope_apply(dx.get(), len, heads, head_dim, dc.get(), ds.get(), nullptr), cudaSuccess);
      expect_close(dx.download(), x, 1e-6, 1e-6);  // the same products, maybe fused
      EXPECT_TRUE(dx.guard_intact());
    }
}

TEST(CudaOps, ArgmaxAndSoftmaxMatchCpu) {
  SKIP_WITHOUT_GPU();
  for (int64_t rows : kBatches)
    for (int64_t vocab : {int64_t{1}, int64_t{33}, int64_t{1025}, int64_t{151936}}) {
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(vocab));
      auto logits = random_floats(static_cast<size_t>(rows * vocab), 17, -20, 20);
      // Ties: the lowest id wins, as std::max_element does on the CPU.
      for (int64_t r = 0; r < rows && vocab > 3; ++r) logits[r * vocab + vocab - 1] = logits[r * vocab + 2] = 25.f;
      DeviceBuffer<float> dl(logits);
      DeviceBuffer<int32_t> ids(static_cast<size_t>(rows));
      ASSERT_EQ(cuda::argmax_rows(dl.get(), rows, vocab, ids.get(), nullptr), cudaSuccess);
      const auto got = ids.download();
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits.data() + r * vocab;
        EXPECT_EQ(got[r], std::max_element(row, row + vocab) - row) << r;
      }
      EXPECT_TRUE(ids.guard_intact());

      ASSERT_EQ(cuda::softmax_rows(dl.get(), rows, vocab, 0.5f, nullptr), cudaSuccess);
      std::vector<float> want(logits.size());
      for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits.data() + r * vocab;
        const double m = *std::max_element(row, row + vocab) * 0.5;
        double sum = 0;
        for (int64_t i = 0; i < vocab; ++i) sum += std::exp(row[i] * 0.5 - m);
        for (int64_t i = 0; i < vocab; ++i) want[r * vocab + i] = static_cast<float>(std::exp(row[i] * 0.5 - m) / sum);
      }
      expect_close(dl.download(), want, 1e-7, 1e-5);
      EXPECT_TRUE(dl.guard_intact());
    }
}

TEST(CudaOps, CausalAttentionMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  const int64_t q_heads = 4, kv_heads = 2;
  for (int64_t len : kBatches)
    for (int64_t past : {0, 33, 260})
      for (int64_t head_dim : {1, 33, 111, 128, 256}) {
        SCOPED_TRACE("len " + std::to_string(len) + " past " + std::to_string(past) + " head_dim " +
                     std::to_string(head_dim));
        const int64_t total = past + len;
        const auto q = random_floats(static_cast<size_t>(len * q_heads * head_dim), 18);
        const auto k = random_floats(static_cast<size_t>(total * kv_heads * head_dim), 19);
        const auto v = random_floats(static_cast<size_t>(total * kv_heads * head_dim), 20);
        std::vector<float> want(q.size());
        attention_causal_reference(q.data(), k.data(), v.data(), want.data(), len, past, q_heads, kv_heads, head_dim);
        DeviceBuffer<float> dq(q), dk(k), dv(v), dout(q.size());
        ASSERT_EQ(cuda::attention_causal(dq.get(), dk.get(), dv.get(), dout.get(), len, past, q_heads, kv_heads,
                                         head_dim, nullptr),
                  cudaSuccess);
        expect_close(dout.download(), want, 2e-6, 1e-5);
        EXPECT_TRUE(dout.guard_intact());
      }
  // Too wide a head is refused, not run.
  DeviceBuffer<float> d(4 * 260);
  EXPECT_EQ(cuda::attention_causal(d.get(), d.get(), d.get(), d.get(), 1, 0, 1, 1, 260, nullptr),
            cudaErrorInvalidConfiguration);
}

TEST(CudaOps, SegmentAttentionMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  const int64_t heads = 3;
  for (int64_t head_dim : {1, 33, 80, 111}) {
    for (const std::vector<int64_t>& starts :
         {std::vector<int64_t>{0, 19}, std::vector<int64_t>{0, 1, 34, 145, 149, 260}, std::vector<int64_t>{0, 64, 1025}}) {
      const int64_t n = starts.back(), segments = static_cast<int64_t>(starts.size()) - 1;
      SCOPED_TRACE("n " + std::to_string(n) + " segments " + std::to_string(segments) + " head_dim " +
                   std::to_string(head_dim));
      const auto q = random_floats(static_cast<size_t>(n * heads * head_dim), 21);
      const auto k = random_floats(q.size(), 22), v = random_floats(q.size(), 23);
      std::vector<float> want(q.size());
      attention_segments_reference(q.data(), k.data(), v.data(), want.data(), n, heads, head_dim, starts.data(),
                                   segments);
      DeviceBuffer<float> dq(q), dk(k), dv(v), dout(q.size());
      DeviceBuffer<int64_t> ds(starts);
      ASSERT_EQ(cuda::attention_segments(dq.get(), dk.get(), dv.get(), dout.get(), n, heads, head_dim, ds.get(),
                                         segments, nullptr),
                cudaSuccess);
      expect_close(dout.download(), want, 2e-6, 1e-5);
      EXPECT_TRUE(dout.guard_intact());
    }
  }
}

TEST(CudaOps, FusedSwiGluAndRowAppendMatchCpu) {
  SKIP_WITHOUT_GPU();
  for (int64_t rows : kBatches)
    for (int64_t inter : kWidths) {
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(inter));
      const auto gu = random_floats(static_cast<size_t>(rows * 2 * inter), 31, -8, 8);  // (rows, gate | up)
      std::vector<float> gate(static_cast<size_t>(rows * inter)), up(gate.size()), want(gate.size());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < inter; ++i) {
          gate[r * inter + i] = gu[r * 2 * inter + i];
          up[r * inter + i] = gu[r * 2 * inter + inter + i];
        }
      silu_mul(gate.data(), up.data(), want.data(), rows * inter);
      DeviceBuffer<float> dgu(gu), dout(want.size());
      ASSERT_EQ(cuda::silu_mul_fused(dgu.get(), dout.get(), rows, inter, nullptr), cudaSuccess);
      expect_close(dout.download(), want, 1e-6, 1e-5);
      EXPECT_TRUE(dout.guard_intact());

      // Rows appended at an offset read from device memory; the rows around stay.
      const int64_t offset = 7, capacity = offset + rows;
      const auto src = random_floats(static_cast<size_t>(rows * inter), 32);
      std::vector<float> cache(static_cast<size_t>(capacity * inter), -1.f);
      DeviceBuffer<float> dsrc(src), dcache(cache);
      DeviceBuffer<int64_t> doff(std::vector<int64_t>{offset});
      ASSERT_EQ(cuda::copy_rows_at(dsrc.get(), dcache.get(), rows, inter, doff.get(), nullptr), cudaSuccess);
      std::copy(src.begin(), src.end(), cache.begin() + offset * inter);
      EXPECT_EQ(dcache.download(), cache);
      EXPECT_TRUE(dcache.guard_intact());
    }
}

TEST(CudaOps, CausalAttentionWithTheCacheLengthOnTheDevice) {
  SKIP_WITHOUT_GPU();
  const int64_t q_heads = 4, kv_heads = 2, head_dim = 128;
  for (int64_t len : kBatches)
    for (int64_t past : {0, 33, 1025}) {
      SCOPED_TRACE("len " + std::to_string(len) + " past " + std::to_string(past));
      const int64_t total = past + len;
      const auto q = random_floats(static_cast<size_t>(len * q_heads * head_dim), 33);
      const auto k = random_floats(static_cast<size_t>(total * kv_heads * head_dim), 34);
      const auto v = random_floats(static_cast<size_t>(total * kv_heads * head_dim), 35);
      std::vector<float> want(q.size());
      attention_causal_reference(q.data(), k.data(), v.data(), want.data(), len, past, q_heads, kv_heads, head_dim);
      DeviceBuffer<float> dq(q), dk(k), dv(v), dout(q.size());
      DeviceBuffer<int64_t> dpast(std::vector<int64_t>{past});
      ASSERT_EQ(cuda::attention_causal_at(dq.get(), dk.get(), dv.get(), dout.get(), len, dpast.get(), q_heads,
                                          kv_heads, head_dim, nullptr),
                cudaSuccess);
      expect_close(dout.download(), want, 2e-6, 1e-5);
      EXPECT_TRUE(dout.guard_intact());
    }
}

// Split-key decode: one query against caches of up to 5000 tokens, the
// length read on the device; the rows past it (garbage here) are not read.
TEST(CudaOps, SplitDecodeAttentionMatchesTheReference) {
  SKIP_WITHOUT_GPU();
  const int64_t q_heads = 4, kv_heads = 2;
  for (int64_t head_dim : {1, 33, 128, 256})
    for (int64_t past : {0, 33, 255, 256, 1025, 4999}) {
      SCOPED_TRACE("past " + std::to_string(past) + " head_dim " + std::to_string(head_dim));
      const int64_t capacity = 5000, total = past + 1;
      const auto q = random_floats(static_cast<size_t>(q_heads * head_dim), 38);
      auto k = random_floats(static_cast<size_t>(capacity * kv_heads * head_dim), 39);
      auto v = random_floats(k.size(), 40);
      std::vector<float> want(q.size());
      attention_causal_reference(q.data(), k.data(), v.data(), want.data(), 1, past, q_heads, kv_heads, head_dim);
      for (size_t i = static_cast<size_t>(total * kv_heads * head_dim); i < k.size(); ++i)
        k[i] = v[i] = std::numeric_limits<float>::quiet_NaN();
      DeviceBuffer<float> dq(q), dk(k), dv(v), dout(q.size());
      DeviceBuffer<float> work(static_cast<size_t>(cuda::attention_decode_workspace(capacity, q_heads, head_dim)));
      DeviceBuffer<int64_t> dpast(std::vector<int64_t>{past});
      ASSERT_EQ(cuda::attention_decode(dq.get(), dk.get(), dv.get(), dout.get(), dpast.get(), capacity, q_heads,
                                       kv_heads, head_dim, work.get(), nullptr),
                cudaSuccess);
      expect_close(dout.download(), want, 2e-6, 1e-5);
      EXPECT_TRUE(dout.guard_intact());
      EXPECT_TRUE(work.guard_intact());
    }
}

// Flash attention on tensor cores against its CPU emulation (tight: only the
// order of FP32 sums within a tile and a rare BF16 rounding of p differ) and
// against the exact reference (the bound the emulation measures), with K and
// V stored as FP32 and as BF16, the prefix length from the argument and from
// device memory. Rows past the keys a query sees are NaN: never read.
TEST(CudaFlashAttention, MatchesItsEmulationAndTheReference) {
  SKIP_WITHOUT_GPU();
  if (!cuda::flash_attention_supported(128)) GTEST_SKIP() << "flash attention needs compute capability 8.0";
  for (const deskpilot::testing::FlashCase& c : deskpilot::testing::flash_cases()) {
    SCOPED_TRACE("len " + std::to_string(c.len) + " past " + std::to_string(c.past) + " heads " +
                 std::to_string(c.q_heads) + "/" + std::to_string(c.kv_heads) + " head_dim " +
                 std::to_string(c.head_dim) + (c.starts.empty() ? " causal" : " segments"));
    ASSERT_TRUE(cuda::flash_attention_supported(c.head_dim));
    const int64_t keys = c.past + c.len, spare = 70;  // rows after the last key: NaN
    const auto q = random_floats(static_cast<size_t>(c.len * c.q_heads * c.head_dim), 31);
    auto k = random_floats(static_cast<size_t>((keys + spare) * c.kv_heads * c.head_dim), 32);
    auto v = random_floats(k.size(), 33);
    std::vector<float> want(q.size()), emulated(q.size());
    if (c.starts.empty())
      attention_causal_reference(q.data(), k.data(), v.data(), want.data(), c.len, c.past, c.q_heads, c.kv_heads,
                                 c.head_dim);
    else
      attention_segments_reference(q.data(), k.data(), v.data(), want.data(), c.len, c.q_heads, c.head_dim,
                                   c.starts.data(), static_cast<int64_t>(c.starts.size()) - 1);
    deskpilot::testing::flash_attention_emulated(q.data(), k.data(), v.data(), emulated.data(), c.len, c.past, c.starts,
                                      c.q_heads, c.kv_heads, c.head_dim);
    for (size_t i = static_cast<size_t>(keys * c.kv_heads * c.head_dim); i < k.size(); ++i)
      k[i] = v[i] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint16_t> k16(k.size()), v16(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k16[i] = f32_to_bf16(k[i]);
      v16[i] = f32_to_bf16(v[i]);
    }
    DeviceBuffer<float> dq(q), dk(k), dv(v);
    DeviceBuffer<uint16_t> dk16(k16), dv16(v16);
    DeviceBuffer<int64_t> dpast(std::vector<int64_t>{c.past});
    DeviceBuffer<int64_t> dstarts(c.starts.empty() ? std::vector<int64_t>{0} : c.starts);
    for (int variant = 0; variant < 3; ++variant) {  // F32 KV; BF16 KV; F32 KV with past on the device
      SCOPED_TRACE(variant == 0 ? "F32 K/V" : variant == 1 ? "BF16 K/V" : "past on the device");
      if (variant == 2 && !c.starts.empty()) continue;
      DeviceBuffer<float> dout(q.size());
      cuda::FlashAttentionArgs a;
      a.q = dq.get();
      a.k = variant == 1 ? static_cast<const void*>(dk16.get()) : dk.get();
      a.v = variant == 1 ? static_cast<const void*>(dv16.get()) : dv.get();
      a.storage = variant == 1 ? cuda::KvStorage::kBf16 : cuda::KvStorage::kF32;
      a.out = dout.get();
      a.len = c.len;
      a.past = variant == 2 ? 0 : c.past;  // with past_at, what the kernel reads decides
      a.past_at = variant == 2 ? dpast.get() : nullptr;
      a.starts = c.starts.empty() ? nullptr : dstarts.get();
      a.segments = static_cast<int64_t>(c.starts.size()) - 1;
      a.q_heads = c.q_heads;
      a.kv_heads = c.kv_heads;
      a.head_dim = c.head_dim;
      ASSERT_EQ(cuda::flash_attention(a, nullptr), cudaSuccess);
      const auto got = dout.download();
      expect_close(got, emulated, 4e-3, 1e-3);
      expect_close(got, want, deskpilot::testing::kFlashAttentionBound, 0);
      EXPECT_TRUE(dout.guard_intact());
      // Written as BF16 instead: the same values rounded.
      DeviceBuffer<uint16_t> dout16(q.size());
      a.out = nullptr;
      a.out_bf16 = dout16.get();
      ASSERT_EQ(cuda::flash_attention(a, nullptr), cudaSuccess);
      std::vector<uint16_t> rounded(got.size());
      for (size_t i = 0; i < got.size(); ++i) rounded[i] = f32_to_bf16(got[i]);
      EXPECT_EQ(dout16.download(), rounded);
      EXPECT_TRUE(dout16.guard_intact());
    }
  }
  // What it does not run is refused, not run.
  EXPECT_FALSE(cuda::flash_attention_supported(33));
  EXPECT_FALSE(cuda::flash_attention_supported(256));
  DeviceBuffer<float> d(4 * 64);
  cuda::FlashAttentionArgs bad;
  bad.q = bad.out = d.get();
  bad.k = bad.v = d.get();
  bad.len = 1;
  bad.q_heads = 3;
  bad.kv_heads = 2;  // not a group
  bad.head_dim = 64;
  EXPECT_EQ(cuda::flash_attention(bad, nullptr), cudaErrorInvalidValue);
  bad.q_heads = 2;
  bad.head_dim = 33;
  EXPECT_EQ(cuda::flash_attention(bad, nullptr), cudaErrorInvalidValue);
}

// Top-p on the device: every draw lies in the CPU's nucleus (probabilities
// sorted, the smallest prefix reaching top_p), a tiny top_p is greedy, and
// over many uniforms the draws follow the renormalised nucleus (each
// token's share within 0.01 of its probability, 40,000 draws: 5 sigma).
TEST(CudaOps, TopPSamplingDrawsFromTheNucleus) {
  SKIP_WITHOUT_GPU();
  for (int64_t vocab : {int64_t{1}, int64_t{33}, int64_t{1025}, int64_t{151936}}) {
    SCOPED_TRACE("vocab " + std::to_string(vocab));
    const float temperature = 0.7f, top_p = 0.8f;
    std::vector<float> logits = random_floats(static_cast<size_t>(vocab), 36, -3, 3);
    for (int64_t i = 0; i < std::min<int64_t>(vocab, 6); ++i) logits[i * 5 % vocab] = 4.f - 0.4f * static_cast<float>(i);
    // The CPU's nucleus.
    const float m = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(static_cast<size_t>(vocab));
    double z = 0;
    for (int64_t i = 0; i < vocab; ++i) z += p[i] = std::exp((logits[i] - m) / temperature);
    std::vector<int64_t> order(static_cast<size_t>(vocab));
    for (int64_t i = 0; i < vocab; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    std::vector<bool> in(static_cast<size_t>(vocab), false);
    double mass = 0;
    for (int64_t i : order) {
      in[i] = true;
      if ((mass += p[i] / z) >= top_p) break;
    }
    const int64_t rows = 40000;
    std::vector<float> uniform = random_floats(static_cast<size_t>(rows), 37, 0.f, 1.f);
    // Large vocabularies: fewer rows (memory), same checks.
    const int64_t n = vocab > 1025 ? 64 : rows;
    std::vector<float> all;
    for (int64_t r = 0; r < n; ++r) all.insert(all.end(), logits.begin(), logits.end());
    DeviceBuffer<float> dl(all), du(uniform);
    DeviceBuffer<int32_t> ids(static_cast<size_t>(n));
    ASSERT_EQ(cuda::sample_top_p(dl.get(), n, vocab, temperature, top_p, du.get(), ids.get(), nullptr), cudaSuccess);
    const auto got = ids.download();
    EXPECT_TRUE(ids.guard_intact());
    std::vector<int64_t> count(static_cast<size_t>(vocab), 0);
    for (int32_t id : got) {
      ASSERT_TRUE(id >= 0 && id < vocab) << id;
      EXPECT_TRUE(in[id]) << "token " << id << " is outside the nucleus";
      ++count[id];
    }
    if (n == rows) {
      double kept = 0;
      for (int64_t i = 0; i < vocab; ++i) kept += in[i] ? p[i] : 0;
      for (int64_t i = 0; i < vocab; ++i) {
        if (in[i]) {
          EXPECT_NEAR(static_cast<double>(count[i]) / n, p[i] / kept, 0.01) << "token " << i;
        }
      }
    }
    // top_p tiny: the most probable token, whatever the uniform.
    DeviceBuffer<float> dl2(all);
    ASSERT_EQ(cuda::sample_top_p(dl2.get(), n, vocab, temperature, 1e-6f, du.get(), ids.get(), nullptr), cudaSuccess);
    for (int32_t id : ids.download()) EXPECT_EQ(id, order[0]);
  }
  DeviceBuffer<float> d(4);
  DeviceBuffer<int32_t> id(1);
  EXPECT_EQ(cuda::sample_top_p(d.get(), 1, 4, 0.f, 0.9f, d.get(), id.get(), nullptr), cudaErrorInvalidValue);
  EXPECT_EQ(cuda::sample_top_p(d.get(), 1, 4, 1.f, 1.5f, d.get(), id.get(), nullptr), cudaErrorInvalidValue);
}

// The token choice of a decode step on the device: penalties as
// engine/sampling.h applies them (repetition over the marked tokens,
// frequency and presence over the counted ones), then greedy exactly as the
// CPU picks; sampling stays inside the CPU's top-k and nucleus, a zero draw
// takes the first kept id; the chosen token is counted and marked.
TEST(CudaOps, TokenChoiceAppliesPenaltiesThenChooses) {
  SKIP_WITHOUT_GPU();
  const int64_t vocab = 1025;
  std::vector<float> logits = random_floats(static_cast<size_t>(vocab), 61, -3, 3);
  logits[7] = 5.f;    // the best, until its penalties
  logits[100] = 4.9f;
  logits[3] = -2.5f;
  std::vector<int32_t> counts(static_cast<size_t>(vocab), 0);
  std::vector<uint8_t> seen(static_cast<size_t>(vocab), 0);
  counts[7] = 2;
  counts[200] = 1;
  for (int32_t id : {3, 7, 100, 200}) seen[id] = 1;
  const float r = 1.3f;
  const double freq = 0.4, presence = 0.6;
  std::vector<float> want = logits;
  for (int64_t i = 0; i < vocab; ++i) {
    if (seen[i]) want[i] = want[i] < 0 ? want[i] * r : want[i] / r;
    if (counts[i] > 0) want[i] -= static_cast<float>(freq * counts[i] + presence);
  }
  const int32_t best = static_cast<int32_t>(std::max_element(want.begin(), want.end()) - want.begin());
  ASSERT_EQ(best, 100);  // 7 paid its penalties
  DeviceBuffer<float> dl(logits);
  DeviceBuffer<int32_t> dcounts(counts), ids(1);
  DeviceBuffer<uint8_t> dseen(seen);
  cuda::TokenChoice greedy;
  greedy.repetition_penalty = r;
  greedy.frequency_penalty = freq;
  greedy.presence_penalty = presence;
  greedy.counts = dcounts.get();
  greedy.seen = dseen.get();
  DeviceBuffer<cuda::TokenChoice> dchoice(std::vector<cuda::TokenChoice>{greedy});
  ASSERT_EQ(cuda::choose_tokens(dl.get(), 1, vocab, dchoice.get(), ids.get(), nullptr), cudaSuccess);
  EXPECT_EQ(ids.download()[0], best);
  EXPECT_EQ(dl.download(), want);  // the penalties, exactly the CPU's
  auto after = dcounts.download();
  EXPECT_EQ(after[100], 1);
  EXPECT_EQ(after[7], 2);
  EXPECT_EQ(dseen.download()[100], 1);

  // Sampling: temperature 0.8, top-k 5, top-p 0.9, 64 rows of different draws.
  const int64_t rows = 64, k = 5;
  const float temperature = 0.8f, top_p = 0.9f;
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  std::vector<double> p(static_cast<size_t>(k));
  double z = 0;
  for (int64_t i = 0; i < k; ++i) z += p[i] = std::exp((logits[order[i]] - logits[order[0]]) / temperature);
  std::vector<bool> kept(static_cast<size_t>(vocab), false);
  double mass = 0;
  for (int64_t i = 0; i < k; ++i) {
    kept[order[i]] = true;
    if ((mass += p[i] / z) >= top_p) break;
  }
  std::vector<float> all;
  std::vector<cuda::TokenChoice> choices(static_cast<size_t>(rows));
  for (int64_t row = 0; row < rows; ++row) {
    all.insert(all.end(), logits.begin(), logits.end());
    choices[row].temperature = temperature;
    choices[row].top_k = static_cast<int32_t>(k);
    choices[row].top_p = top_p;
    choices[row].uniform = static_cast<float>(row) / rows;
  }
  DeviceBuffer<float> dall(all);
  DeviceBuffer<cuda::TokenChoice> dchoices(choices);
  DeviceBuffer<int32_t> dids(static_cast<size_t>(rows));
  ASSERT_EQ(cuda::choose_tokens(dall.get(), rows, vocab, dchoices.get(), dids.get(), nullptr), cudaSuccess);
  const auto got = dids.download();
  int64_t first_kept = 0;
  while (!kept[first_kept]) ++first_kept;
  EXPECT_EQ(got[0], first_kept);  // a zero draw: the first kept id
  for (int32_t id : got) {
    ASSERT_TRUE(id >= 0 && id < vocab);
    EXPECT_TRUE(kept[id]) << "token " << id << " is outside top-k and the nucleus";
  }
  EXPECT_TRUE(dids.guard_intact());
}

TEST(CudaOps, Bf16GemmMatchesCpuOnTheSameRoundedInputs) {
  SKIP_WITHOUT_GPU();
  std::string error;
  auto gemm = cuda::Gemm::create(nullptr, &error);
  ASSERT_NE(gemm, nullptr) << error;
  for (int64_t m : kBatches)
    for (int64_t k : kWidths)
      for (int64_t n : {int64_t{1}, int64_t{33}, int64_t{260}, int64_t{1025}}) {
        SCOPED_TRACE("m " + std::to_string(m) + " k " + std::to_string(k) + " n " + std::to_string(n));
        auto x = random_floats(static_cast<size_t>(m * k), 24);
        const auto wf = random_floats(static_cast<size_t>(n * k), 25, -0.5f, 0.5f);
        const auto bias = random_floats(static_cast<size_t>(n), 26);
        std::vector<uint16_t> w(wf.size());
        for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(wf[i]);
        DeviceBuffer<float> dx(x), db(bias), dy(static_cast<size_t>(m * n));
        DeviceBuffer<uint16_t> dw(w), scratch(x.size());
        ASSERT_TRUE(gemm->linear_bf16(dx.get(), m, k, dw.get(), n, db.get(), dy.get(), scratch.get(), &error)) << error;
        // The CPU with x rounded to BF16 as the GPU rounds it.
        for (float& v : x) v = bf16_to_f32(f32_to_bf16(v));
        std::vector<float> want(static_cast<size_t>(m * n));
        linear_reference(x.data(), m, k, w.data(), DType::kBF16, n, bias.data(), want.data());
        const auto got = dy.download();
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double magnitude = 0;  // sum |x w|: what accumulation order can move
            for (int64_t t = 0; t < k; ++t) magnitude += std::fabs(x[i * k + t] * bf16_to_f32(w[j * k + t]));
            ASSERT_TRUE(std::isfinite(got[i * n + j]));
            EXPECT_NEAR(got[i * n + j], want[i * n + j], 1e-5 * magnitude + 1e-6) << i << "," << j;
          }
        EXPECT_TRUE(dy.guard_intact());
        EXPECT_TRUE(scratch.guard_intact());
      }
}

// The decoder's fused kernels give what the kernels they replace give, bit
// for bit: norms and SwiGLU writing BF16 = the FP32 kernel then f32_to_bf16;
// bias + split + rotation + cache append = add_bias_rows, the split, two
// rope_apply, copy_rows_at and f32_to_bf16 for the cache (rows around the
// appended ones untouched); a projection accumulating into y = y + the
// projection.
TEST(CudaOps, FusedDecoderKernelsEqualTheKernelsTheyReplace) {
  SKIP_WITHOUT_GPU();
  const auto bits_of = [](DeviceBuffer<float>& f, size_t n) {
    DeviceBuffer<uint16_t> b(n);
    EXPECT_EQ(cuda::f32_to_bf16(f.get(), b.get(), static_cast<int64_t>(n), nullptr), cudaSuccess);
    return b.download();
  };
  for (int64_t rows : kBatches)
    for (int64_t dim : {int64_t{33}, int64_t{1025}}) {
      SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(dim));
      const auto x = random_floats(static_cast<size_t>(rows * dim), 41);
      const auto w = random_floats(static_cast<size_t>(dim), 42);
      DeviceBuffer<float> dx(x), dw(w), norm32(x.size());
      DeviceBuffer<uint16_t> norm16(x.size());
      ASSERT_EQ(cuda::rmsnorm_f32(dx.get(), dw.get(), norm32.get(), rows, dim, 1e-6f, nullptr), cudaSuccess);
      ASSERT_EQ(cuda::rmsnorm_bf16(dx.get(), dw.get(), norm16.get(), rows, dim, 1e-6f, nullptr), cudaSuccess);
      EXPECT_EQ(norm16.download(), bits_of(norm32, x.size()));
      EXPECT_TRUE(norm16.guard_intact());
      const auto gu = random_floats(static_cast<size_t>(rows * 2 * dim), 43, -8, 8);
      DeviceBuffer<float> dgu(gu), act32(static_cast<size_t>(rows * dim));
      DeviceBuffer<uint16_t> act16(static_cast<size_t>(rows * dim));
      ASSERT_EQ(cuda::silu_mul_fused(dgu.get(), act32.get(), rows, dim, nullptr), cudaSuccess);
      ASSERT_EQ(cuda::silu_mul_fused_bf16(dgu.get(), act16.get(), rows, dim, nullptr), cudaSuccess);
      EXPECT_EQ(act16.download(), bits_of(act32, static_cast<size_t>(rows * dim)));
      EXPECT_TRUE(act16.guard_intact());
    }

  const int64_t q_heads = 4, kv_heads = 2, hd = 16, past = 5, capacity = 40;
  const int64_t qd = q_heads * hd, kvd = kv_heads * hd, row = qd + 2 * kvd;
  for (int64_t len : kBatches) {
    SCOPED_TRACE("len " + std::to_string(len));
    const auto qkv = random_floats(static_cast<size_t>(len * row), 44);
    const auto bias = random_floats(static_cast<size_t>(row), 45);
    std::vector<int64_t> positions(static_cast<size_t>(3 * len));
    for (int64_t t = 0; t < len; ++t) positions[t] = positions[len + t] = positions[2 * len + t] = past + t;
    std::vector<float> freq(static_cast<size_t>(hd / 2));
    std::vector<int32_t> streams(freq.size());
    const int64_t section[3] = {2, 3, 3};
    mrope_frequencies(hd, 1e6, section, freq.data(), streams.data());
    DeviceBuffer<int64_t> dpos(positions), dpast(std::vector<int64_t>{past});
    DeviceBuffer<float> dfreq(freq), dcos(static_cast<size_t>(len * hd)), dsin(static_cast<size_t>(len * hd));
    DeviceBuffer<int32_t> dstreams(streams);
    ASSERT_EQ(cuda::mrope_cos_sin(dpos.get(), len, hd, dfreq.get(), dstreams.get(), dcos.get(), dsin.get(), nullptr),
              cudaSuccess);
    // The unfused way: bias, split (on the host), rotate, append, round the cache.
    DeviceBuffer<float> biased(qkv), dbias(bias);
    ASSERT_EQ(cuda::add_bias_rows(biased.get(), dbias.get(), len, row, nullptr), cudaSuccess);
    const auto b = biased.download();
    std::vector<float> q(static_cast<size_t>(len * qd)), k(static_cast<size_t>(len * kvd)), v(k.size());
    for (int64_t t = 0; t < len; ++t) {
      std::copy_n(b.begin() + t * row, qd, q.begin() + t * qd);
      std::copy_n(b.begin() + t * row + qd, kvd, k.begin() + t * kvd);
      std::copy_n(b.begin() + t * row + qd + kvd, kvd, v.begin() + t * kvd);
    }
    DeviceBuffer<float> dq(q), dk(k), dv(v);
    ASSERT_EQ(cuda::rope_apply(dq.get(), len, q_heads, hd, dcos.get(), dsin.get(), nullptr), cudaSuccess);
    ASSERT_EQ(cuda::rope_apply(dk.get(), len, kv_heads, hd, dcos.get(), dsin.get(), nullptr), cudaSuccess);
    DeviceBuffer<float> kc32(std::vector<float>(static_cast<size_t>(capacity * kvd), -1.f)), vc32(kc32.download());
    ASSERT_EQ(cuda::copy_rows_at(dk.get(), kc32.get(), len, kvd, dpast.get(), nullptr), cudaSuccess);
    ASSERT_EQ(cuda::copy_rows_at(dv.get(), vc32.get(), len, kvd, dpast.get(), nullptr), cudaSuccess);
    const auto want_k = bits_of(kc32, static_cast<size_t>(capacity * kvd));
    const auto want_v = bits_of(vc32, static_cast<size_t>(capacity * kvd));
    // The fused way, into caches that start as the unfused ones did.
    const std::vector<uint16_t> empty(static_cast<size_t>(capacity * kvd), f32_to_bf16(-1.f));
    DeviceBuffer<float> fq(q.size());
    DeviceBuffer<uint16_t> kc16(empty), vc16(empty);
    DeviceBuffer<float> dqkv(qkv);
    cuda::RopeSplitAppend a;
    a.qkv = dqkv.get();
    a.bias = dbias.get();
    a.len = len;
    a.q_heads = q_heads;
    a.kv_heads = kv_heads;
    a.head_dim = hd;
    a.cos = dcos.get();
    a.sin = dsin.get();
    a.q = fq.get();
    a.k_cache = kc16.get();
    a.v_cache = vc16.get();
    a.past = dpast.get();
    ASSERT_EQ(cuda::rope_split_append(a, nullptr), cudaSuccess);
    EXPECT_EQ(fq.download(), dq.download());
    EXPECT_EQ(kc16.download(), want_k);
    EXPECT_EQ(vc16.download(), want_v);
    EXPECT_TRUE(fq.guard_intact() && kc16.guard_intact() && vc16.guard_intact());
  }

  std::string error;
  auto gemm = cuda::Gemm::create(nullptr, &error);
  ASSERT_NE(gemm, nullptr) << error;
  const int64_t m = 19, k = 260, n = 33;
  const auto x = random_floats(static_cast<size_t>(m * k), 46);
  const auto wf = random_floats(static_cast<size_t>(n * k), 47, -0.5f, 0.5f);
  const auto y0 = random_floats(static_cast<size_t>(m * n), 48);
  std::vector<uint16_t> w(wf.size()), x16(x.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(wf[i]);
  for (size_t i = 0; i < x.size(); ++i) x16[i] = f32_to_bf16(x[i]);
  DeviceBuffer<uint16_t> dw(w), dx16(x16);
  DeviceBuffer<float> plain(y0.size()), acc(y0);
  ASSERT_TRUE(gemm->linear_from_bf16(dx16.get(), m, k, dw.get(), n, nullptr, plain.get(), false, &error)) << error;
  ASSERT_TRUE(gemm->linear_from_bf16(dx16.get(), m, k, dw.get(), n, nullptr, acc.get(), true, &error)) << error;
  auto want = plain.download();
  for (size_t i = 0; i < want.size(); ++i) want[i] += y0[i];
  expect_close(acc.download(), want, 1e-5, 1e-6);
  EXPECT_TRUE(acc.guard_intact());
}

// The decoder's BF16 cache read by the FP32-softmax kernels: equal to the
// FP32 kernels on the same values widened (the rounding is the cache's,
// not the kernels'), for decode (grouped and not) and prefill.
TEST(CudaOps, AttentionOverABf16CacheEqualsFp32OnTheRoundedValues) {
  SKIP_WITHOUT_GPU();
  for (const auto& [q_heads, kv_heads, head_dim] :
       {std::tuple<int64_t, int64_t, int64_t>{28, 4, 128}, {4, 2, 33}, {8, 1, 64}, {2, 2, 256}}) {
    SCOPED_TRACE(std::to_string(q_heads) + "/" + std::to_string(kv_heads) + " heads, head_dim " +
                 std::to_string(head_dim));
    const int64_t capacity = 700, past = 611, len = 19;
    const auto q = random_floats(static_cast<size_t>(len * q_heads * head_dim), 51);
    auto k = random_floats(static_cast<size_t>(capacity * kv_heads * head_dim), 52);
    auto v = random_floats(k.size(), 53);
    std::vector<uint16_t> k16(k.size()), v16(v.size());
    for (size_t i = 0; i < k.size(); ++i) {
      k16[i] = f32_to_bf16(k[i]);
      v16[i] = f32_to_bf16(v[i]);
      k[i] = bf16_to_f32(k16[i]);
      v[i] = bf16_to_f32(v16[i]);
    }
    DeviceBuffer<float> dq(q), dk(k), dv(v), want(q.size()), got(q.size());
    DeviceBuffer<uint16_t> dk16(k16), dv16(v16);
    DeviceBuffer<int64_t> dpast(std::vector<int64_t>{past});
    DeviceBuffer<float> work(static_cast<size_t>(cuda::attention_decode_workspace(capacity, q_heads, head_dim)));
    ASSERT_EQ(cuda::attention_decode(dq.get(), dk.get(), dv.get(), want.get(), dpast.get(), capacity, q_heads,
                                     kv_heads, head_dim, work.get(), nullptr),
              cudaSuccess);
    ASSERT_EQ(cuda::attention_decode(dq.get(), dk16.get(), dv16.get(), got.get(), dpast.get(), capacity, q_heads,
                                     kv_heads, head_dim, work.get(), nullptr),
              cudaSuccess);
    const auto decode_want = want.download(), decode_got = got.download();
    DeviceBuffer<uint16_t> got16(static_cast<size_t>(q_heads * head_dim));
    ASSERT_EQ(cuda::attention_decode(dq.get(), dk16.get(), dv16.get(), got16.get(), dpast.get(), capacity, q_heads,
                                     kv_heads, head_dim, work.get(), nullptr),
              cudaSuccess);
    std::vector<uint16_t> rounded(static_cast<size_t>(q_heads * head_dim));
    for (size_t i = 0; i < rounded.size(); ++i) rounded[i] = f32_to_bf16(decode_got[i]);
    EXPECT_EQ(got16.download(), rounded);  // the BF16 output: the FP32 one rounded
    EXPECT_TRUE(got16.guard_intact());
    EXPECT_EQ(std::vector<float>(decode_got.begin(), decode_got.begin() + q_heads * head_dim),
              std::vector<float>(decode_want.begin(), decode_want.begin() + q_heads * head_dim));
    // And the grouped decode against the exact reference (keys 0..past).
    std::vector<float> exact(static_cast<size_t>(q_heads * head_dim));
    attention_causal_reference(q.data(), k.data(), v.data(), exact.data(), 1, past, q_heads, kv_heads, head_dim);
    expect_close(std::vector<float>(decode_got.begin(), decode_got.begin() + q_heads * head_dim), exact, 2e-6, 1e-5);
    const int64_t prefix = past - len + 1;  // the 19 queries are the cache's last rows
    DeviceBuffer<int64_t> dprefix(std::vector<int64_t>{prefix});
    ASSERT_EQ(cuda::attention_causal_at(dq.get(), dk.get(), dv.get(), want.get(), len, dprefix.get(), q_heads,
                                        kv_heads, head_dim, nullptr),
              cudaSuccess);
    ASSERT_EQ(cuda::attention_causal_at(dq.get(), dk16.get(), dv16.get(), got.get(), len, dprefix.get(), q_heads,
                                        kv_heads, head_dim, nullptr),
              cudaSuccess);
    EXPECT_EQ(got.download(), want.download());
    EXPECT_TRUE(got.guard_intact() && work.guard_intact());
  }
}

// The dequantizing GEMV of every block type and 1..8 activation rows equals
// its CPU emulation bit for bit (and accumulates onto y when asked); the
// BF16 dequantization for prefill equals the reference's, rounded.
TEST(CudaOps, QuantGemvAndDequantizeMatchTheirEmulation) {
  SKIP_WITHOUT_GPU();
  const int64_t k = 4 * 256 + 64, rows = 37;
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const int64_t kk = k / dtype_block(t) * dtype_block(t);
    const std::vector<float> wf = random_floats(static_cast<size_t>(rows * kk), 31, -0.05f, 0.05f);
    std::vector<uint8_t> w(static_cast<size_t>(dtype_bytes(t, rows * kk)));
    quantize(t, wf.data(), w.data(), rows * kk);
    DeviceBuffer<uint8_t> dw(w);
    for (int64_t n : {1, 2, 3, 4, 5, 8}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " n " + std::to_string(n));
      const std::vector<float> xf = random_floats(static_cast<size_t>(n * kk), 32 + static_cast<unsigned>(n));
      std::vector<uint16_t> x(xf.size());
      for (size_t i = 0; i < xf.size(); ++i) x[i] = f32_to_bf16(xf[i]);
      DeviceBuffer<uint16_t> dx(x);
      const std::vector<float> want = deskpilot::testing::emulate_quant_gemv(t, w.data(), rows, kk, x, n);
      DeviceBuffer<float> dy(static_cast<size_t>(n * rows));
      ASSERT_EQ(cuda::quant_gemv(t, dw.get(), rows, kk, dx.get(), n, dy.get(), false, nullptr), cudaSuccess);
      EXPECT_EQ(dy.download(), want);
      ASSERT_EQ(cuda::quant_gemv(t, dw.get(), rows, kk, dx.get(), n, dy.get(), true, nullptr), cudaSuccess);
      const std::vector<float> twice = dy.download();
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(twice[i], want[i] + want[i]) << i;
      EXPECT_TRUE(dy.guard_intact());
    }
    std::vector<float> ref(static_cast<size_t>(rows * kk));
    dequantize(t, w.data(), ref.data(), rows * kk);
    std::vector<uint16_t> want(ref.size());
    for (size_t i = 0; i < ref.size(); ++i) want[i] = f32_to_bf16(ref[i]);
    DeviceBuffer<uint16_t> out(want.size());
    ASSERT_EQ(cuda::dequantize_to_bf16(t, dw.get(), rows, kk, out.get(), nullptr), cudaSuccess);
    EXPECT_EQ(out.download(), want) << dtype_name(t);
    EXPECT_TRUE(out.guard_intact());
  }
  EXPECT_EQ(cuda::quant_gemv(DType::kBF16, nullptr, 1, 32, nullptr, 1, nullptr, false, nullptr),
            cudaErrorInvalidValue);
  EXPECT_EQ(cuda::quant_gemv(DType::kQ8_0, nullptr, 1, 32, nullptr, 9, nullptr, false, nullptr),
            cudaErrorInvalidValue);
}

}  // namespace
}  // namespace deskpilot::kernels

#endif  // DESKPILOT_HAVE_CUDA
