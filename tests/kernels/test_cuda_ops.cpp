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
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/sampling.h"
#include "kernels/dtype.h"

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

}  // namespace
}  // namespace deskpilot::kernels

#endif  // DESKPILOT_HAVE_CUDA
