// The Qwen2 decoder of Qwen2-VL and Qwen2.5-VL on the CPU: embeddings,
// RMSNorm, q/k/v with bias, grouped-query attention with M-RoPE, SwiGLU,
// final norm and lm_head. Weights stay in their stored dtype inside the
// memory-mapped safetensors files; activations are FP32.
//
// Weight names come in two layouts, both accepted:
//   original         model.embed_tokens, model.layers.N..., model.norm, lm_head
//   transformers >= 4.52  model.language_model.embed_tokens, ...layers.N..., lm_head
// Without lm_head (or with tie_word_embeddings) the output projection is the
// embedding table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/kv_cache.h"
#include "engine/random_weights.h"
#include "engine/safetensors.h"
#include "engine/tensor_sink.h"
#include "engine/weight_loader.h"

namespace deskpilot::engine {

struct DecoderLayer {
  std::vector<float> input_norm, post_attention_norm;  // (hidden)
  Matrix q, k, v, o;                                   // q: (heads*head_dim, hidden); k, v: (kv_heads*head_dim, hidden); o: (hidden, heads*head_dim)
  std::vector<float> q_bias, k_bias, v_bias;           // (heads*head_dim), (kv_heads*head_dim) x2
  Matrix gate, up, down;                               // gate, up: (intermediate, hidden); down: (hidden, intermediate)
};

class Qwen2LanguageModel {
 public:
  // nullptr and *error naming the tensor and expected/actual shapes.
  static std::unique_ptr<Qwen2LanguageModel> load(const WeightStore& weights, const TextConfig& config,
                                                  std::string* error);
  // Random BF16 weights of this shape held by the model (benchmarks), tied
  // embeddings.
  static std::unique_ptr<Qwen2LanguageModel> create_random(const TextConfig& config, uint64_t seed);

  const TextConfig& config() const { return config_; }
  // Which layout the checkpoint uses ("model." or "model.language_model.") and whether lm_head is the embedding.
  const std::string& prefix() const { return prefix_; }
  bool tied() const { return tied_; }
  // The weights, for other backends (engine/cuda_lm.h uploads them).
  const std::vector<DecoderLayer>& layers() const { return layers_; }
  const Matrix& embed_tokens() const { return embed_tokens_; }
  const Matrix& lm_head() const { return lm_head_; }
  const std::vector<float>& final_norm() const { return final_norm_; }

  // Bytes of weights one decode step reads (layers and lm_head, as stored).
  int64_t weight_bytes() const;

  KvCache new_cache() const { return KvCache(config_.num_layers, config_.num_kv_heads, config_.head_dim); }

  // ids (n) -> embeddings (n, hidden). Ids outside the vocabulary are an error.
  bool embed(const int32_t* ids, int64_t n, float* out, std::string* error) const;

  // Runs n tokens given as embeddings (n, hidden) at M-RoPE positions
  // (3, n) after what `cache` holds, appending them to the cache. Writes
  // logits (n, vocab) when all_logits, else only the last token's (vocab).
  // `sink` receives decoder.layer.N and decoder.norm when set.
  void forward(const float* embeddings, int64_t n, const int64_t* positions, KvCache* cache, float* logits,
               bool all_logits, const TensorSink* sink = nullptr) const;

  // One decode step of b independent sequences: token i (embeddings row i,
  // M-RoPE position column i of (3, b)) is appended to caches[i]. The
  // projections run once over all b rows, so the weights are read once per
  // step whatever b is (continuous batching); attention runs per sequence
  // over its own cache. logits (b, vocab).
  void forward_batch(const float* embeddings, int64_t b, const int64_t* positions, KvCache* const* caches,
                     float* logits) const;

 private:
  Qwen2LanguageModel() = default;
  // forward and forward_batch: n input rows, either n tokens of caches[0]'s
  // sequence (one_sequence) or one token of each caches[i]; logits of the
  // last logit_rows rows.
  void run(const float* embeddings, int64_t n, const int64_t* positions, KvCache* const* caches, bool one_sequence,
           float* logits, int64_t logit_rows, const TensorSink* sink) const;
  TextConfig config_;
  std::string prefix_;
  bool tied_ = false;
  Matrix embed_tokens_, lm_head_;  // (vocab, hidden)
  std::vector<float> final_norm_;  // (hidden)
  std::vector<DecoderLayer> layers_;
  std::shared_ptr<RandomWeights> random_;  // what the matrices point into, for create_random
};

}  // namespace deskpilot::engine
