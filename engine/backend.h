// The model's compute behind one small interface per part, so that the same
// generation code (engine/generate.h, engine/batch_scheduler.h) runs on the
// CPU or on a GPU:
//
//   DecoderCache   a KV cache in the backend's memory (allocate, grow, cut)
//   Decoder        the language model over such a cache: forward n tokens
//                  given as embeddings (prefill or one decode step), or one
//                  decode step of b sequences at once
//   ImageEncoder   the vision tower: patches in, features out
//
// The interface sits at the level of a whole forward pass rather than single
// ops: the CUDA backend then captures a decode step in one CUDA graph, fuses
// projections and keeps activations on the device, and the CPU backend keeps
// its memory-mapped weights in their stored dtype. Op-by-op parity between
// the two is what tests/kernels/test_cuda_ops.cpp checks.
//
// The CPU backend (engine/cpu_backend.cpp) is the reference; the CUDA one
// (engine/cuda_backend.cpp) exists only in builds with CUDA.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/image_patches.h"
#include "engine/kv_cache.h"
#include "engine/qwen2_lm.h"
#include "engine/sampling.h"
#include "engine/tensor_sink.h"
#include "engine/vision_tower.h"

namespace deskpilot::engine {

class DecoderCache {
 public:
  virtual ~DecoderCache() = default;
  virtual int64_t length() const = 0;  // tokens cached
  // Room for `tokens` in all; cached rows stay. false and *error when memory runs out.
  virtual bool reserve(int64_t tokens, std::string* error) = 0;
  // Forget everything after the first n tokens (a shared prompt prefix stays).
  virtual void truncate(int64_t n) = 0;
};

// An image's features kept in device memory by a GPU encoder
// (ImageEncoder::encode_resident), for a decoder on the same device to take
// without a trip through the host (Decoder::forward_resident).
class ResidentFeatures {
 public:
  virtual ~ResidentFeatures() = default;
  virtual int64_t rows() const = 0;
  // A copy on the host, what encode() gives.
  virtual bool download(std::vector<float>* out, std::string* error) const = 0;
};

// Rows [at, at + count) of a prefill taken from rows [first, first + count)
// of resident features instead of the host embeddings.
struct ResidentRows {
  int64_t at = 0, first = 0, count = 0;
  const ResidentFeatures* features = nullptr;
};

// One generation's token choice held by a backend that chooses on the
// device (Decoder::new_token_chooser).
class TokenChooser {
 public:
  virtual ~TokenChooser() = default;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Device device() const = 0;
  virtual std::unique_ptr<DecoderCache> new_cache() const = 0;
  // Bytes of weights one decode step reads (the roofline of decode speed).
  virtual int64_t weight_bytes() const = 0;
  // Bytes of one cached key or value element (4: FP32; 2: BF16).
  virtual int64_t kv_bytes_per_value() const = 0;
  // Qwen2LanguageModel::forward: embeddings (n, hidden) at positions (3, n)
  // after what `cache` holds (which must have room); logits (n, vocab) when
  // all_logits, else (vocab). `sink` gets the intermediates where the
  // backend can give them (the CPU). false and *error on a device failure.
  virtual bool forward(const float* embeddings, int64_t n, const int64_t* positions, DecoderCache* cache,
                       float* logits, bool all_logits, const TensorSink* sink, std::string* error) = 0;
  // One decode step of b sequences: row i of embeddings (b, hidden), column
  // i of positions (3, b), appended to caches[i]; logits (b, vocab).
  virtual bool forward_batch(const float* embeddings, int64_t b, const int64_t* positions,
                             DecoderCache* const* caches, float* logits, std::string* error) = 0;

  // Choosing tokens on the device, where the backend can (CUDA): a decode
  // step then sends back one id instead of the logits. new_token_chooser
  // gives the state for one generation after `prompt` (nullptr: this
  // backend leaves the choice to the host's Sampler, the CPU's way);
  // note_token counts a token chosen elsewhere (the first, from the
  // prefill's logits); forward_choose is forward() of one token ending in
  // Sampler's choice with `uniform` as the step's draw.
  virtual std::unique_ptr<TokenChooser> new_token_chooser(const std::vector<int32_t>& prompt,
                                                          std::string* error) = 0;
  virtual bool note_token(TokenChooser* chooser, int32_t id, std::string* error) = 0;
  virtual bool forward_choose(const float* embedding, const int64_t* positions, DecoderCache* cache,
                              TokenChooser* chooser, const SamplingParams& params, double uniform, int32_t* id,
                              std::string* error) = 0;

  // Whether forward_resident takes features a GPU encoder left on the device.
  virtual bool takes_resident_features() const = 0;
  // forward() with `rows` of the embeddings taken from resident features
  // (the embeddings' own rows there are ignored).
  virtual bool forward_resident(const float* embeddings, int64_t n, const int64_t* positions, DecoderCache* cache,
                                float* logits, bool all_logits, const std::vector<ResidentRows>& rows,
                                std::string* error) = 0;
};

class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;
  virtual Device device() const = 0;
  // VisionTower::encode: (patches / merge^2, out_hidden) features.
  virtual bool encode(const ImagePatches& image, const TensorSink& sink, std::vector<float>* features,
                      std::string* error) = 0;
  // Whether encode_resident keeps the features in device memory (a GPU).
  virtual bool keeps_features_resident() const = 0;
  // The same features left on the device; nullptr and *error on failure.
  virtual std::unique_ptr<ResidentFeatures> encode_resident(const ImagePatches& image, std::string* error) = 0;
};

// The backends of a loaded checkpoint on `device` (the weights are uploaded
// once; the CPU ones point into the memory-mapped files). nullptr and *error
// when the device cannot take them (no CUDA build, no GPU, out of memory).
std::unique_ptr<Decoder> make_decoder(const Qwen2LanguageModel& lm, Device device, std::string* error);
std::unique_ptr<ImageEncoder> make_image_encoder(const VisionTower& tower, Device device, std::string* error);

// Backends with random BF16 weights of a shape (benchmarks of real model
// sizes without a checkpoint; on the GPU the weights are made there).
std::unique_ptr<Decoder> make_random_decoder(const TextConfig& config, Device device, uint64_t seed,
                                             std::string* error);
std::unique_ptr<ImageEncoder> make_random_image_encoder(const VisionConfig& config, Architecture architecture,
                                                        Device device, uint64_t seed, std::string* error);

// The CPU backends, always there.
std::unique_ptr<Decoder> make_cpu_decoder(const Qwen2LanguageModel& lm);
// The host KV cache inside a CPU backend's cache (nullptr for other backends).
KvCache* cpu_kv_cache(DecoderCache* cache);
std::unique_ptr<ImageEncoder> make_cpu_image_encoder(const VisionTower& tower);

#ifdef DESKPILOT_HAVE_CUDA
// The CUDA backends (engine/cuda_backend.cpp).
std::unique_ptr<Decoder> make_cuda_decoder(const Qwen2LanguageModel& lm, std::string* error);
std::unique_ptr<ImageEncoder> make_cuda_image_encoder(const VisionTower& tower, std::string* error);
std::unique_ptr<Decoder> make_random_cuda_decoder(const TextConfig& config, uint64_t seed, std::string* error);
std::unique_ptr<ImageEncoder> make_random_cuda_image_encoder(const VisionConfig& config, bool qwen25, uint64_t seed,
                                                             std::string* error);
#endif

}  // namespace deskpilot::engine
