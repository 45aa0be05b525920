// Generation with the decoder: prefill the prompt (text, or text with
// images encoded by the vision tower and scattered into the <|image_pad|>
// positions), then one token at a time until an end-of-sequence id, a stop
// string or the token limit. Text streams out through a callback as it
// becomes complete UTF-8, held back while it could still be the start of a
// stop string.
//
// A Session carries work from one call to the next, as agent steps need:
// images already encoded (same pixels) are not encoded again, and when a
// prompt starts like the previous prompt + output, the KV cache of that
// shared prefix is kept and only the rest is prefilled.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/image_patches.h"
#include "engine/model.h"
#include "engine/sampling.h"
#include "engine/vision_tower.h"

namespace deskpilot::engine {

struct GenerateOptions {
  int64_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings (not part of the returned text)
  bool ignore_eos = false;        // generate max_tokens whatever comes
  bool skip_special = true;       // leave special tokens out of the text
  TensorSink sink;                // every named intermediate, for --dump-tensors
};

struct Prompt {
  std::vector<int32_t> ids;          // with one <|image_pad|> run per image, expanded
  std::vector<ImagePatches> images;  // in prompt order
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  std::string text;
  std::string finish_reason;  // "stop" (eos or stop string) or "length"
  double vision_ms = 0, prefill_ms = 0, decode_ms = 0;
  int64_t images_encoded = 0;   // images the vision tower ran on (the rest came from the session)
  int64_t reused_tokens = 0;    // prompt tokens whose KV cache came from the session
  int64_t rope_delta = 0;
};

class Generation;

class Session {
 public:
  explicit Session(const Model& model) : cache_(model.decoder().new_cache()) {}
  size_t cached_images() const { return features_.size(); }
  // Prompt positions whose KV cache this session already holds (what a
  // generation of `prompt` here would reuse); 0 for a bad prompt.
  int64_t shared_prefix(const Model& model, const Prompt& prompt) const;
  // Tokens of KV cache held (memory: this x layers x kv row x 8 bytes).
  int64_t cached_tokens() const { return cache_->length(); }
  // Forget the cached tokens (after a failed step, what the cache holds is unknown).
  void forget_tokens() {
    cache_->truncate(0);
    keys_.clear();
  }

 private:
  friend class Generation;
  static constexpr size_t kMaxImages = 16;  // encoded images kept (the UI-TARS history holds 5)
  std::unique_ptr<DecoderCache> cache_;  // on the model's device
  std::vector<uint64_t> keys_;  // (cache length) what each cached position holds: token id or image patch
  std::list<uint64_t> lru_;     // image hashes, most recent first
  // An encoded image: (tokens, hidden) on the host, or left in device memory
  // by a GPU encoder for a decoder on the same device.
  struct Features {
    std::vector<float> host;
    std::unique_ptr<ResidentFeatures> resident;
  };
  std::unordered_map<uint64_t, Features> features_;  // by image hash
};

// Positions of text tokens: all three M-RoPE streams equal start + i.
std::vector<int64_t> text_positions(int64_t start, int64_t n);  // (3, n)

// FNV-1a over the patches and the grid: the identity of an image's content.
uint64_t image_hash(const ImagePatches& image);

// One request being generated, step by step, so that a scheduler can run
// the decode steps of many requests as one batch (Qwen2LanguageModel::
// Decoder::forward_batch). generate() below is this with a batch of one:
//
//   Generation g;
//   if (!g.start(model, prompt, options, &session, &logits, error)) ...;  // prefill
//   while (!g.accept(logits, on_text)) {              // sample, stream text, stop?
//     embed g.next_token() at g.next_position() into g.cache() -> logits
//   }
//   g.finish(on_text); g.result();
class Generation {
 public:
  // Prefill (reusing what `session` holds) and the logits (vocab) of the
  // last prompt position. The session must outlive the generation and serve
  // no other one meanwhile. false and *error for bad token ids,
  // <|image_pad|> runs that do not match the images, images for a
  // checkpoint without a vision tower, or a device failure.
  bool start(const Model& model, const Prompt& prompt, const GenerateOptions& options, Session* session,
             std::vector<float>* logits, std::string* error);
  // Samples from `logits` (vocab), streams the text that became final;
  // true when the generation is over (eos, stop string or max_tokens).
  bool accept(float* logits, const std::function<void(std::string_view)>& on_text);  // logits are changed (penalties)
  // The same for a token the backend chose itself (Decoder::forward_choose,
  // with sampling() and next_uniform() as its inputs).
  bool accept_chosen(int32_t id, const std::function<void(std::string_view)>& on_text);
  const SamplingParams& sampling() const { return sampler_->params(); }
  double next_uniform() { return sampler_->next_uniform(); }
  // The input of the next decode step.
  int32_t next_token() const { return result_.generated_ids.back(); }
  int64_t next_position() const;  // M-RoPE position (all three streams equal)
  DecoderCache* cache() { return session_->cache_.get(); }
  // After the decode step ran: the cache now holds next_token().
  void advanced();
  // Flushes held-back text; call once after accept() returned true.
  void finish(const std::function<void(std::string_view)>& on_text);
  const GenerateResult& result() const { return result_; }
  GenerateResult& result() { return result_; }

 private:
  const Model* model_ = nullptr;
  Session* session_ = nullptr;
  GenerateOptions options_;
  GenerateResult result_;
  std::vector<std::string> stop_;
  std::vector<int64_t> eos_;
  std::unique_ptr<Sampler> sampler_;
  // After a token was chosen: stream its text, decide whether it ends the generation.
  bool take(int32_t id, const std::function<void(std::string_view)>& on_text);
  std::unique_ptr<StreamDecoder> decoder_;
  std::string text_;
  size_t emitted_ = 0;
  bool done_ = false;
  std::chrono::steady_clock::time_point decode_start_;
};

// false and *error for bad token ids, <|image_pad|> runs that do not match
// the images, images for a checkpoint without a vision tower, or a device
// failure (out of GPU memory).
bool generate(const Model& model, const Prompt& prompt, const GenerateOptions& options,
              const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error,
              Session* session = nullptr);
inline bool generate(const Model& model, const std::vector<int32_t>& ids, const GenerateOptions& options,
                     const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error) {
  return generate(model, Prompt{ids, {}}, options, on_text, result, error, nullptr);
}

}  // namespace deskpilot::engine
