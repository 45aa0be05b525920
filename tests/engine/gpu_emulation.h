// The CUDA backend's arithmetic (engine/cuda_lm.cpp, engine/cuda_vision.cpp)
// replayed on the CPU with the CPU's kernels: what sets the bounds the GPU
// decoder and vision tower are held to (tests/engine/test_cuda_lm.cpp,
// test_backend.cpp), measured on every machine (test_gpu_emulation.cpp).
//
// The decoder, as the GPU does it: weights rounded to BF16 once; every projection's input
// rounded to BF16 (the norms, the attention output and SwiGLU write BF16),
// FP32 accumulation, the q/k/v bias added in FP32; keys (after M-RoPE) and
// values stored in the cache as BF16; prefill attention as the flash kernel
// computes it (tests/kernels/flash_attention_emulation.h), decode attention
// in FP32 over the cache's BF16 values; residuals in FP32. The vision tower:
// BF16 weights and projection inputs, biases added in FP32, FP32 norms,
// RoPE and activations, attention within the windows or the image as the
// flash kernel computes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/qwen2_lm.h"
#include "engine/vision_tower.h"
#include "kernels/cpu/layernorm.h"
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
// |GPU features - CPU features| the CUDA vision tower is held to, as a
// share of the largest |feature|; the emulation must stay within half.
constexpr float kGpuFeatureBound = 0.015f;  // the emulation: 0.3%, 0.5%, 0.4% on the tiny towers

// An image of units_h x units_w merged units of random pixels (uniform in
// [-1.8, 2.1), `seed`): what the GPU's tower is compared on.
inline engine::ImagePatches random_patches(const engine::VisionConfig& c, int64_t units_h, int64_t units_w,
                                           unsigned seed) {
  engine::ImagePatches image;
  image.grid_t = 1;
  image.grid_h = units_h * c.spatial_merge_size;
  image.grid_w = units_w * c.spatial_merge_size;
  const int64_t cols = c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size;
  image.pixel_values.resize(static_cast<size_t>(image.patches() * cols));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.8f, 2.1f);
  for (float& v : image.pixel_values) v = d(rng);
  return image;
}

// Matrices stacked by rows, rounded to BF16 (the GPU's upload).
inline std::vector<uint16_t> bf16_stack(std::initializer_list<const engine::Matrix*> parts) {
  std::vector<uint16_t> out;
  for (const engine::Matrix* m : parts) {
    std::vector<float> f(static_cast<size_t>(m->rows * m->cols));
    kernels::convert_to_f32(m->dtype, m->data, f.data(), f.size());
    for (float v : f) out.push_back(kernels::f32_to_bf16(v));
  }
  return out;
}

// y (m, n) = bf16(x) (m, k) · wᵀ (+ bias in FP32), FP32 accumulation.
inline void bf16_linear(const float* x, int64_t m, int64_t k, const std::vector<uint16_t>& w, int64_t n, float* y,
                        const std::vector<float>* bias = nullptr) {
  std::vector<float> xr(x, x + m * k);
  for (float& e : xr) e = bf16_round(e);
  kernels::linear(xr.data(), m, k, w.data(), kernels::DType::kBF16, n, nullptr, y);
  if (bias && !bias->empty())
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * n + j] += (*bias)[static_cast<size_t>(j)];
}

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

  static std::vector<uint16_t> stack(std::initializer_list<const engine::Matrix*> parts) { return bf16_stack(parts); }
  static void linear_bf16(const float* x, int64_t m, int64_t k, const std::vector<uint16_t>& w, int64_t n, float* y) {
    bf16_linear(x, m, k, w, n, y);
  }

  engine::TextConfig c_;
  std::vector<Layer> layers_;
  std::vector<uint16_t> lm_head_;
  std::vector<float> final_norm_;
  std::vector<std::vector<float>> k_, v_;  // (layers) x (length, kv_heads, head_dim), BF16 values
  int64_t length_ = 0;
};

// The vision tower's features for one image, as engine/cuda_vision.cpp
// computes them.
inline std::vector<float> gpu_vision_emulated(const engine::VisionTower& tower, const engine::ImagePatches& image) {
  const engine::VisionConfig& c = tower.config();
  const bool qwen25 = tower.qwen25();
  const int64_t n = image.patches(), width = c.width, heads = c.num_heads, hd = width / heads;
  const int64_t unit = c.spatial_merge_size * c.spatial_merge_size, units = n / unit;
  const int64_t cols = tower.patch_embed().cols, inter = c.intermediate_size, out_hidden = c.out_hidden_size;
  const engine::VisionLayout lay = tower.layout(image);
  const auto norm = [&](const float* x, const std::vector<float>& w, const std::vector<float>& b, float* out,
                        int64_t rows) {
    if (qwen25) kernels::rmsnorm_f32(x, w.data(), out, rows, width, 1e-6f);
    else kernels::layernorm_f32(x, w.data(), b.data(), out, rows, width, 1e-6f);
  };
  std::vector<float> x(static_cast<size_t>(n * width)), h(x.size());
  bf16_linear(image.pixel_values.data(), n, cols, bf16_stack({&tower.patch_embed()}), width, x.data());
  for (int64_t u = 0; u < units; ++u)  // into block order
    std::copy_n(x.begin() + lay.order[u] * unit * width, unit * width, h.begin() + u * unit * width);
  std::vector<float> qkv(static_cast<size_t>(n * 3 * width)), q(x.size()), k(x.size()), v(x.size()), attn(x.size());
  std::vector<float> mlp(static_cast<size_t>(n * 2 * inter)), act(static_cast<size_t>(n * inter));
  for (size_t b = 0; b < tower.blocks().size(); ++b) {
    const engine::VisionBlockWeights& B = tower.blocks()[b];
    norm(h.data(), B.norm1_w, B.norm1_b, x.data(), n);
    bf16_linear(x.data(), n, width, bf16_stack({&B.qkv}), 3 * width, qkv.data(), &B.qkv_b);
    for (int64_t t = 0; t < n; ++t) {
      std::copy_n(qkv.begin() + t * 3 * width, width, q.begin() + t * width);
      std::copy_n(qkv.begin() + t * 3 * width + width, width, k.begin() + t * width);
      std::copy_n(qkv.begin() + t * 3 * width + 2 * width, width, v.begin() + t * width);
    }
    kernels::rope_apply(q.data(), n, heads, hd, lay.cos.data(), lay.sin.data());
    kernels::rope_apply(k.data(), n, heads, hd, lay.cos.data(), lay.sin.data());
    const bool whole = tower.full_attention(static_cast<int64_t>(b));
    flash_attention_emulated(q.data(), k.data(), v.data(), attn.data(), n, 0, whole ? lay.full_starts : lay.window_starts,
                             heads, heads, hd);
    std::vector<float> y(x.size());
    bf16_linear(attn.data(), n, width, bf16_stack({&B.proj}), width, y.data(), &B.proj_b);
    for (size_t i = 0; i < h.size(); ++i) h[i] += y[i];
    norm(h.data(), B.norm2_w, B.norm2_b, x.data(), n);
    if (qwen25) {
      std::vector<float> bias = B.gate_b;
      bias.insert(bias.end(), B.up_b.begin(), B.up_b.end());
      bf16_linear(x.data(), n, width, bf16_stack({&B.gate, &B.up}), 2 * inter, mlp.data(), &bias);
      for (int64_t t = 0; t < n; ++t)
        kernels::silu_mul(mlp.data() + t * 2 * inter, mlp.data() + t * 2 * inter + inter, act.data() + t * inter, inter);
      bf16_linear(act.data(), n, inter, bf16_stack({&B.down}), width, y.data(), &B.down_b);
    } else {
      bf16_linear(x.data(), n, width, bf16_stack({&B.fc1}), inter, act.data(), &B.fc1_b);
      kernels::quick_gelu(act.data(), n * inter);
      bf16_linear(act.data(), n, inter, bf16_stack({&B.fc2}), width, y.data(), &B.fc2_b);
    }
    for (size_t i = 0; i < h.size(); ++i) h[i] += y[i];
  }
  norm(h.data(), tower.merger_norm_weight(), tower.merger_norm_bias(), x.data(), n);
  std::vector<float> merged(static_cast<size_t>(n * width)), out(static_cast<size_t>(units * out_hidden));
  bf16_linear(x.data(), units, unit * width, bf16_stack({&tower.merger_fc1()}), unit * width, merged.data(),
              &tower.merger_fc1_bias());
  kernels::gelu_erf(merged.data(), units * unit * width);
  bf16_linear(merged.data(), units, unit * width, bf16_stack({&tower.merger_fc2()}), out_hidden, out.data(),
              &tower.merger_fc2_bias());
  std::vector<float> restored(out.size());
  for (int64_t u = 0; u < units; ++u)  // back to the original order
    std::copy_n(out.begin() + u * out_hidden, out_hidden, restored.begin() + lay.order[u] * out_hidden);
  return restored;
}

}  // namespace deskpilot::testing
