// The CUDA decoder's arithmetic (engine/cuda_lm.cpp) replayed on the CPU
// with the CPU's kernels: what sets the bound the GPU decoder is held to
// against transformers (tests/engine/test_cuda_lm.cpp), measured on every
// machine (tests/engine/test_gpu_emulation.cpp).
//
// As the GPU does it: weights rounded to BF16 once; every projection's input
// rounded to BF16 (the norms, the attention output and SwiGLU write BF16),
// FP32 accumulation, the q/k/v bias added in FP32; keys (after M-RoPE) and
// values stored in the cache as BF16; prefill attention as the flash kernel
// computes it (tests/kernels/flash_attention_emulation.h), decode attention
// in FP32 over the cache's BF16 values; residuals in FP32.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/qwen2_lm.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/dtype.h"
#include "tests/kernels/flash_attention_emulation.h"

namespace deskpilot::testing {

// |GPU logits - transformers' logits| the CUDA decoder is held to. The
// emulation must stay within half of it (test_gpu_emulation.cpp), which
// leaves the other half to what it does not model: the order of FP32 sums
// in cuBLAS and the kernels, and libm.
constexpr float kGpuLogitBound = 0.1f;

class GpuDecoderEmulation {
 public:
  explicit GpuDecoderEmulation(const engine::Qwen2LanguageModel& lm) : c_(lm.config()) {
    for (const engine::DecoderLayer& L : lm.layers()) {
      Layer e;
      e.input_norm = L.input_norm;
      e.post_norm = L.post_attention_norm;
      e.qkv = stack({&L.q, &L.k, &L.v});
      e.o = stack({&L.o});
      e.gate = stack({&L.gate});
      e.up = stack({&L.up});
      e.down = stack({&L.down});
      e.bias = L.q_bias;
      e.bias.insert(e.bias.end(), L.k_bias.begin(), L.k_bias.end());
      e.bias.insert(e.bias.end(), L.v_bias.begin(), L.v_bias.end());
      layers_.push_back(std::move(e));
    }
    lm_head_ = stack({&lm.lm_head()});
    final_norm_ = lm.final_norm();
    k_.resize(layers_.size());
    v_.resize(layers_.size());
  }

  int64_t length() const { return length_; }

  // n tokens (embeddings (n, hidden), positions (3, n)) after what is cached;
  // the last token's logits (vocab).
  std::vector<float> forward(const float* embeddings, int64_t n, const int64_t* positions) {
    const int64_t d = c_.hidden_size, hd = c_.head_dim, qh = c_.num_heads, kvh = c_.num_kv_heads;
    const int64_t qd = qh * hd, kvd = kvh * hd, row = qd + 2 * kvd, inter = c_.intermediate_size;
    const float eps = static_cast<float>(c_.rms_norm_eps);
    const int64_t section[3] = {c_.mrope_section[0], c_.mrope_section[1], c_.mrope_section[2]};
    std::vector<float> h(embeddings, embeddings + n * d);           // (n, hidden)
    std::vector<float> x(static_cast<size_t>(n * std::max({d, qd, inter})));
    std::vector<float> qkv(static_cast<size_t>(n * row)), q(static_cast<size_t>(n * qd));
    std::vector<float> attn(q.size()), y(static_cast<size_t>(n * d));
    std::vector<float> gate(static_cast<size_t>(n * inter)), up(gate.size());
    std::vector<float> cos(static_cast<size_t>(n * hd)), sin(cos.size());
    kernels::mrope_cos_sin(positions, n, hd, c_.rope_theta, section, cos.data(), sin.data());
    const int64_t past = length_;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      kernels::rmsnorm_f32(h.data(), L.input_norm.data(), x.data(), n, d, eps);
      linear_bf16(x.data(), n, d, L.qkv, row, qkv.data());
      std::vector<float> k(static_cast<size_t>(n * kvd)), v(k.size());
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < row; ++i) {
          const float value = qkv[t * row + i] + L.bias[i];
          if (i < qd) q[t * qd + i] = value;
          else if (i < qd + kvd) k[t * kvd + i - qd] = value;
          else v[t * kvd + i - qd - kvd] = value;
        }
      kernels::rope_apply(q.data(), n, qh, hd, cos.data(), sin.data());
      kernels::rope_apply(k.data(), n, kvh, hd, cos.data(), sin.data());
      for (float& e : k) e = bf16_round(e);
      for (float& e : v) e = bf16_round(e);
      k_[l].insert(k_[l].end(), k.begin(), k.end());
      v_[l].insert(v_[l].end(), v.begin(), v.end());
      if (n > 1)
        flash_attention_emulated(q.data(), k_[l].data(), v_[l].data(), attn.data(), n, past, {}, qh, kvh, hd);
      else
        kernels::attention_causal_reference(q.data(), k_[l].data(), v_[l].data(), attn.data(), 1, past, qh, kvh, hd);
      linear_bf16(attn.data(), n, qd, L.o, d, y.data());
      for (size_t i = 0; i < y.size(); ++i) h[i] += y[i];
      kernels::rmsnorm_f32(h.data(), L.post_norm.data(), x.data(), n, d, eps);
      linear_bf16(x.data(), n, d, L.gate, inter, gate.data());
      linear_bf16(x.data(), n, d, L.up, inter, up.data());
      kernels::silu_mul(gate.data(), up.data(), x.data(), n * inter);
      linear_bf16(x.data(), n, inter, L.down, d, y.data());
      for (size_t i = 0; i < y.size(); ++i) h[i] += y[i];
    }
    length_ += n;
    kernels::rmsnorm_f32(h.data() + (n - 1) * d, final_norm_.data(), x.data(), 1, d, eps);
    std::vector<float> logits(static_cast<size_t>(c_.vocab_size));
    linear_bf16(x.data(), 1, d, lm_head_, c_.vocab_size, logits.data());
    return logits;
  }

 private:
  struct Layer {
    std::vector<float> input_norm, post_norm, bias;
    std::vector<uint16_t> qkv, o, gate, up, down;  // BF16 bits, (rows, cols) as the GPU holds them
  };

  // Matrices stacked by rows, rounded to BF16 (the GPU's upload).
  static std::vector<uint16_t> stack(std::initializer_list<const engine::Matrix*> parts) {
    std::vector<uint16_t> out;
    for (const engine::Matrix* m : parts) {
      std::vector<float> f(static_cast<size_t>(m->rows * m->cols));
      kernels::convert_to_f32(m->dtype, m->data, f.data(), f.size());
      for (float v : f) out.push_back(kernels::f32_to_bf16(v));
    }
    return out;
  }

  // y (m, n) = bf16(x) (m, k) · wᵀ, FP32 accumulation.
  static void linear_bf16(const float* x, int64_t m, int64_t k, const std::vector<uint16_t>& w, int64_t n, float* y) {
    std::vector<float> xr(x, x + m * k);
    for (float& e : xr) e = bf16_round(e);
    kernels::linear(xr.data(), m, k, w.data(), kernels::DType::kBF16, n, nullptr, y);
  }

  engine::TextConfig c_;
  std::vector<Layer> layers_;
  std::vector<uint16_t> lm_head_;
  std::vector<float> final_norm_;
  std::vector<std::vector<float>> k_, v_;  // (layers) x (length, kv_heads, head_dim), BF16 values
  int64_t length_ = 0;
};

}  // namespace deskpilot::testing
