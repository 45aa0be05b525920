#include "engine/qwen2_lm.h"

#include <algorithm>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"

namespace deskpilot::engine {

std::unique_ptr<Qwen2LanguageModel> Qwen2LanguageModel::load(const WeightStore& weights, const TextConfig& config,
                                                             std::string* error) {
  std::unique_ptr<Qwen2LanguageModel> m(new Qwen2LanguageModel());
  m->config_ = config;
  if (weights.find("model.language_model.embed_tokens.weight")) {
    m->prefix_ = "model.language_model.";
  } else if (weights.find("model.embed_tokens.weight")) {
    m->prefix_ = "model.";
  } else {
    if (error)
      *error = "no decoder weights: expected model.embed_tokens.weight (original layout) or "
               "model.language_model.embed_tokens.weight (transformers >= 4.52)";
    return nullptr;
  }
  const TextConfig& c = config;
  const int64_t d = c.hidden_size, hd = c.head_dim, q_out = c.num_heads * hd, kv_out = c.num_kv_heads * hd;
  WeightLoader load{weights, error};
  const std::string& p = m->prefix_;
  m->embed_tokens_ = load.matrix(p + "embed_tokens.weight", c.vocab_size, d);
  m->final_norm_ = load.vector(p + "norm.weight", d);
  m->tied_ = c.tie_word_embeddings || !weights.find("lm_head.weight");
  m->lm_head_ = m->tied_ ? m->embed_tokens_ : load.matrix("lm_head.weight", c.vocab_size, d);
  for (int64_t l = 0; l < c.num_layers && load.ok; ++l) {
    const std::string lp = p + "layers." + std::to_string(l) + ".";
    DecoderLayer layer;
    layer.input_norm = load.vector(lp + "input_layernorm.weight", d);
    layer.post_attention_norm = load.vector(lp + "post_attention_layernorm.weight", d);
    layer.q = load.matrix(lp + "self_attn.q_proj.weight", q_out, d);
    layer.k = load.matrix(lp + "self_attn.k_proj.weight", kv_out, d);
    layer.v = load.matrix(lp + "self_attn.v_proj.weight", kv_out, d);
    layer.o = load.matrix(lp + "self_attn.o_proj.weight", d, q_out);
    layer.q_bias = load.vector(lp + "self_attn.q_proj.bias", q_out);
    layer.k_bias = load.vector(lp + "self_attn.k_proj.bias", kv_out);
    layer.v_bias = load.vector(lp + "self_attn.v_proj.bias", kv_out);
    layer.gate = load.matrix(lp + "mlp.gate_proj.weight", c.intermediate_size, d);
    layer.up = load.matrix(lp + "mlp.up_proj.weight", c.intermediate_size, d);
    layer.down = load.matrix(lp + "mlp.down_proj.weight", d, c.intermediate_size);
    m->layers_.push_back(std::move(layer));
  }
  if (!load.ok) return nullptr;
  return m;
}

std::unique_ptr<Qwen2LanguageModel> Qwen2LanguageModel::create_random(const TextConfig& c, uint64_t seed) {
  std::unique_ptr<Qwen2LanguageModel> m(new Qwen2LanguageModel());
  m->config_ = c;
  m->prefix_ = "model.";
  m->tied_ = true;
  m->random_ = std::make_shared<RandomWeights>(seed);
  RandomWeights& r = *m->random_;
  const int64_t d = c.hidden_size, q_out = c.num_heads * c.head_dim, kv_out = c.num_kv_heads * c.head_dim;
  m->embed_tokens_ = m->lm_head_ = r.matrix(c.vocab_size, d);
  m->final_norm_ = r.vector(d, 1.f, 0.1f);
  for (int64_t l = 0; l < c.num_layers; ++l) {
    DecoderLayer L;
    L.input_norm = r.vector(d, 1.f, 0.1f);
    L.post_attention_norm = r.vector(d, 1.f, 0.1f);
    L.q = r.matrix(q_out, d);
    L.k = r.matrix(kv_out, d);
    L.v = r.matrix(kv_out, d);
    L.o = r.matrix(d, q_out);
    L.q_bias = r.vector(q_out, 0.f, 0.02f);
    L.k_bias = r.vector(kv_out, 0.f, 0.02f);
    L.v_bias = r.vector(kv_out, 0.f, 0.02f);
    L.gate = r.matrix(c.intermediate_size, d);
    L.up = r.matrix(c.intermediate_size, d);
    L.down = r.matrix(d, c.intermediate_size);
    m->layers_.push_back(std::move(L));
  }
  return m;
}

int64_t Qwen2LanguageModel::weight_bytes() const {
  const auto bytes = [](const Matrix& m) { return m.rows * kernels::dtype_bytes(m.dtype, m.cols); };
  int64_t total = bytes(lm_head_);
  for (const DecoderLayer& L : layers_)
    total += bytes(L.q) + bytes(L.k) + bytes(L.v) + bytes(L.o) + bytes(L.gate) + bytes(L.up) + bytes(L.down);
  return total;
}

bool Qwen2LanguageModel::embed(const int32_t* ids, int64_t n, float* out, std::string* error) const {
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= config_.vocab_size) {
      if (error)
        *error = "token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                 " is outside the vocabulary (size " + std::to_string(config_.vocab_size) + ")";
      return false;
    }
  }
  kernels::embedding_gather(embed_tokens_.data, embed_tokens_.dtype, embed_tokens_.rows, embed_tokens_.cols, ids, n,
                            out);
  return true;
}

void Qwen2LanguageModel::forward(const float* embeddings, int64_t n, const int64_t* positions, KvCache* cache,
                                 float* logits, bool all_logits, const TensorSink* sink) const {
  cache->reserve(cache->length() + n);
  run(embeddings, n, positions, &cache, true, logits, all_logits ? n : 1, sink);
}

void Qwen2LanguageModel::forward_batch(const float* embeddings, int64_t b, const int64_t* positions,
                                       KvCache* const* caches, float* logits) const {
  for (int64_t i = 0; i < b; ++i) caches[i]->reserve(caches[i]->length() + 1);
  run(embeddings, b, positions, caches, false, logits, b, nullptr);
}

void Qwen2LanguageModel::run(const float* embeddings, int64_t n, const int64_t* positions, KvCache* const* caches,
                             bool one_sequence, float* logits, int64_t logit_rows, const TensorSink* sink) const {
  const TextConfig& c = config_;
  const int64_t d = c.hidden_size, hd = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads;
  const int64_t inter = c.intermediate_size, kv_row = kv_heads * hd;
  const float eps = static_cast<float>(c.rms_norm_eps);

  std::vector<float> h(embeddings, embeddings + n * d);        // (n, hidden) the residual stream
  std::vector<float> x(static_cast<size_t>(n * d));            // (n, hidden) normed input of a block
  std::vector<float> q(static_cast<size_t>(n * heads * hd));   // (n, heads, head_dim)
  std::vector<float> k(static_cast<size_t>(n * kv_row));       // (n, kv_heads, head_dim) before the cache
  std::vector<float> v(static_cast<size_t>(n * kv_row));       // (n, kv_heads, head_dim)
  std::vector<float> attn(static_cast<size_t>(n * heads * hd));  // (n, heads, head_dim)
  std::vector<float> gate(static_cast<size_t>(n * inter));     // (n, intermediate)
  std::vector<float> up(static_cast<size_t>(n * inter));       // (n, intermediate)
  std::vector<float> cos(static_cast<size_t>(n * hd)), sin(static_cast<size_t>(n * hd));  // (n, head_dim)
  const int64_t section[3] = {c.mrope_section[0], c.mrope_section[1], c.mrope_section[2]};
  kernels::mrope_cos_sin(positions, n, hd, c.rope_theta, section, cos.data(), sin.data());

  // New keys/values into the cache(s), then attention: the n tokens of one
  // sequence after its cache, or one token of each of n sequences.
  const auto attend = [&](int64_t l) {
    const int64_t sequences = one_sequence ? 1 : n, tokens = one_sequence ? n : 1;
    for (int64_t i = 0; i < sequences; ++i) {
      KvCache& cache = *caches[i];
      const int64_t past = cache.length();
      cache.write(l, k.data() + i * kv_row, v.data() + i * kv_row, tokens);
      kernels::attention_causal(q.data() + i * heads * hd, cache.keys(l), cache.values(l), attn.data() + i * heads * hd,
                                tokens, past, heads, kv_heads, hd, cache.layout());
    }
  };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const DecoderLayer& L = layers_[l];
    kernels::rmsnorm_f32(h.data(), L.input_norm.data(), x.data(), n, d, eps);
    kernels::linear(x.data(), n, d, L.q.data, L.q.dtype, L.q.rows, L.q_bias.data(), q.data());
    kernels::linear(x.data(), n, d, L.k.data, L.k.dtype, L.k.rows, L.k_bias.data(), k.data());
    kernels::linear(x.data(), n, d, L.v.data, L.v.dtype, L.v.rows, L.v_bias.data(), v.data());
    kernels::rope_apply(q.data(), n, heads, hd, cos.data(), sin.data());
    kernels::rope_apply(k.data(), n, kv_heads, hd, cos.data(), sin.data());
    attend(l);
    kernels::linear(attn.data(), n, heads * hd, L.o.data, L.o.dtype, d, nullptr, x.data());
    kernels::add_inplace(h.data(), x.data(), n * d);

    kernels::rmsnorm_f32(h.data(), L.post_attention_norm.data(), x.data(), n, d, eps);
    kernels::linear(x.data(), n, d, L.gate.data, L.gate.dtype, inter, nullptr, gate.data());
    kernels::linear(x.data(), n, d, L.up.data, L.up.dtype, inter, nullptr, up.data());
    kernels::silu_mul(gate.data(), up.data(), gate.data(), n * inter);
    kernels::linear(gate.data(), n, inter, L.down.data, L.down.dtype, d, nullptr, x.data());
    kernels::add_inplace(h.data(), x.data(), n * d);
    if (sink && *sink) (*sink)("decoder.layer." + std::to_string(l), {n, d}, h.data());
  }
  if (one_sequence) caches[0]->advance(n);
  else
    for (int64_t i = 0; i < n; ++i) caches[i]->advance(1);

  const float* last = h.data() + (n - logit_rows) * d;
  kernels::rmsnorm_f32(last, final_norm_.data(), x.data(), logit_rows, d, eps);
  if (sink && *sink) (*sink)("decoder.norm", {logit_rows, d}, x.data());
  kernels::linear(x.data(), logit_rows, d, lm_head_.data, lm_head_.dtype, lm_head_.rows, nullptr, logits);
}

}  // namespace deskpilot::engine
