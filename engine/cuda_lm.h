// The Qwen2 decoder on one NVIDIA GPU: the same computation as
// Qwen2LanguageModel::forward (engine/qwen2_lm.h), with the weights in GPU
// memory as BF16 (F32/F16 checkpoints are rounded once at upload; q/k/v and
// gate/up concatenated so that each pair or triple is one GEMM), FP32
// activations, a BF16 KV cache, projections through cuBLAS (BF16 inputs, FP32
// accumulation) and the kernels of kernels/cuda; prefill attention on tensor
// cores (kernels/cuda/flash_attention.h) where the device and head_dim allow.
//
// A decode step (one token, one sequence) is captured once into a CUDA graph
// and replayed: the step's embedding, position and cache length travel in
// pinned host buffers that the graph copies in, so every step is one graph
// launch and one synchronisation. The graph is captured again when the cache
// or the work buffers move; if capture fails the steps run launch by launch
// (graph_error() says why). DESKPILOT_CUDA_GRAPHS=0 turns graphs off.
//
// Built only with CUDA; engine/cuda_backend.cpp puts it behind engine::Decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/qwen2_lm.h"
#include "engine/sampling.h"

namespace deskpilot::engine {

// The KV cache in GPU memory: per layer (capacity, kv_heads, head_dim) keys
// (after M-RoPE) and values as BF16 (half the memory and the traffic of
// FP32: 32k tokens of a 7B decoder in 1.8 GB).
class CudaKvCache {
 public:
  ~CudaKvCache();
  CudaKvCache(const CudaKvCache&) = delete;
  CudaKvCache& operator=(const CudaKvCache&) = delete;
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  void truncate(int64_t n) { length_ = n < length_ ? n : length_; }
  // Room for `capacity` tokens, cached rows kept (new buffers, rows copied).
  // false and *error when GPU memory runs out (the cache is unchanged then).
  bool reserve(int64_t capacity, std::string* error);

 private:
  friend class CudaLanguageModel;
  CudaKvCache() = default;
  int64_t length_ = 0, capacity_ = 0, row_ = 0;
  uint64_t epoch_ = 0;        // a new process-wide epoch when the buffers move (a captured graph points into them)
  std::vector<uint16_t*> k_, v_;  // (layers) device pointers, BF16 bits
};

// One generation's token choice on the device (CudaLanguageModel::
// decode_choose): per vocabulary id, its occurrences in the output and
// whether it is in the prompt or the output (the penalties' inputs). Its
// buffers go back to the model's pool when it ends, for the next request
// (no cudaMalloc/cudaFree per request).
class CudaTokenState {
 public:
  struct Pool;
  ~CudaTokenState();
  CudaTokenState(const CudaTokenState&) = delete;
  CudaTokenState& operator=(const CudaTokenState&) = delete;

 private:
  friend class CudaLanguageModel;
  CudaTokenState() = default;
  int32_t* counts_ = nullptr;  // (vocab) device
  uint8_t* seen_ = nullptr;    // (vocab) device
  std::shared_ptr<Pool> pool_;
};

class CudaLanguageModel {
 public:
  // Uploads every weight of `cpu` to the current device. nullptr and *error
  // (out of memory, no device, cuBLAS) on failure.
  static std::unique_ptr<CudaLanguageModel> create(const Qwen2LanguageModel& cpu, std::string* error);
  // Random BF16 weights of the given shape, made on the device (benchmarks
  // of real model sizes without a checkpoint file).
  static std::unique_ptr<CudaLanguageModel> create_random(const TextConfig& config, uint64_t seed, std::string* error);
  ~CudaLanguageModel();

  // A cache for `capacity` tokens (0: allocated by reserve later). nullptr
  // and *error when memory runs out.
  std::unique_ptr<CudaKvCache> new_cache(int64_t capacity, std::string* error) const;

  // Rows of a prefill's embeddings that come from device memory (an image's
  // features left there by the vision tower): rows [at, at + count) are
  // data's (count, hidden) instead of the host embeddings'.
  struct DeviceRows {
    int64_t at = 0, count = 0;
    const float* data = nullptr;
  };

  // As Qwen2LanguageModel::forward, host buffers in and out: embeddings (n,
  // hidden), positions (3, n); logits (n, vocab) when all_logits, else the
  // last token's (vocab); `rows` replace embeddings' rows where given. The
  // cache must have room for n more tokens. Not thread-safe (one stream,
  // shared work buffers).
  bool forward(const float* embeddings, int64_t n, const int64_t* positions, CudaKvCache* cache, float* logits,
               bool all_logits, std::string* error, const std::vector<DeviceRows>& rows = {});

  // Qwen2LanguageModel::forward_batch: one decode step of b sequences, the
  // projections once over all b rows; logits (b, vocab).
  bool forward_batch(const float* embeddings, int64_t b, const int64_t* positions, CudaKvCache* const* caches,
                     float* logits, std::string* error);

  // The device state for choosing the tokens of one generation after
  // `prompt` (ids outside the vocabulary are ignored, as the CPU's sampler
  // does). nullptr and *error when memory runs out.
  std::unique_ptr<CudaTokenState> new_token_state(const std::vector<int32_t>& prompt, std::string* error);
  // A token chosen elsewhere (from the prefill's logits) counted into the state.
  bool record_token(CudaTokenState* state, int32_t id, std::string* error);
  // One decode step (as forward with n = 1) that ends in choosing the next
  // token on the device (engine/sampling.h's order, `uniform` the step's
  // draw): one id comes back instead of the logits, and the state counts it.
  bool decode_choose(const float* embedding, const int64_t* positions, CudaKvCache* cache, const SamplingParams& params,
                     float uniform, CudaTokenState* state, int32_t* id, std::string* error);

  // Decode steps replayed from a graph, and captures, since creation.
  int64_t graph_replays() const;
  int64_t graph_captures() const;
  void set_graphs(bool on);
  const std::string& graph_error() const;  // why graphs were turned off, if they were

  // Bytes of weights read by one decode step (for the roofline).
  int64_t weight_bytes() const { return weight_bytes_; }
  static constexpr int64_t kKvBytesPerValue = sizeof(uint16_t);  // the cache holds BF16
  const TextConfig& config() const { return config_; }

 private:
  struct Impl;
  CudaLanguageModel(TextConfig config, std::unique_ptr<Impl> impl);
  TextConfig config_;
  std::unique_ptr<Impl> impl_;
  int64_t weight_bytes_ = 0;
};

}  // namespace deskpilot::engine
