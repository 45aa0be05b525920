// The CUDA backend: CudaLanguageModel and CudaVisionTower behind the
// engine's Decoder and ImageEncoder (engine/backend.h). Each backend object
// owns one stream and its work buffers, so calls are serialised here (the
// server's scheduler thread and an agent's session may share a model).
#include <mutex>

#include "engine/backend.h"
#include "engine/cuda_lm.h"
#include "engine/cuda_vision.h"

namespace deskpilot::engine {
namespace {

class CudaCache : public DecoderCache {
 public:
  explicit CudaCache(std::unique_ptr<CudaKvCache> cache) : cache_(std::move(cache)) {}
  int64_t length() const override { return cache_->length(); }
  bool reserve(int64_t tokens, std::string* error) override {
    if (tokens <= cache_->capacity()) return true;
    // Grow by half again at least, so that a long agent run moves the cache rarely.
    return cache_->reserve(std::max(tokens, cache_->capacity() + cache_->capacity() / 2), error);
  }
  void truncate(int64_t n) override { cache_->truncate(n); }
  CudaKvCache* get() { return cache_.get(); }

 private:
  std::unique_ptr<CudaKvCache> cache_;
};

struct CudaResident : ResidentFeatures {
  explicit CudaResident(std::unique_ptr<CudaFeatures> f) : features(std::move(f)) {}
  int64_t rows() const override { return features->rows(); }
  bool download(std::vector<float>* out, std::string* error) const override { return features->download(out, error); }
  std::unique_ptr<CudaFeatures> features;
};

struct CudaChooser : TokenChooser {
  explicit CudaChooser(std::unique_ptr<CudaTokenState> s) : state(std::move(s)) {}
  std::unique_ptr<CudaTokenState> state;
};

class CudaDecoder : public Decoder {
 public:
  explicit CudaDecoder(std::unique_ptr<CudaLanguageModel> lm) : lm_(std::move(lm)) {}
  Device device() const override { return Device::kCuda; }
  int64_t weight_bytes() const override { return lm_->weight_bytes(); }
  int64_t kv_bytes_per_value() const override { return CudaLanguageModel::kKvBytesPerValue; }
  std::unique_ptr<DecoderCache> new_cache() const override {
    std::string unused;  // an empty cache allocates nothing
    return std::make_unique<CudaCache>(lm_->new_cache(0, &unused));
  }
  bool forward(const float* embeddings, int64_t n, const int64_t* positions, DecoderCache* cache, float* logits,
               bool all_logits, const TensorSink*, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return lm_->forward(embeddings, n, positions, static_cast<CudaCache*>(cache)->get(), logits, all_logits, error);
  }
  bool forward_batch(const float* embeddings, int64_t b, const int64_t* positions, DecoderCache* const* caches,
                     float* logits, std::string* error) override {
    std::vector<CudaKvCache*> kv(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) kv[i] = static_cast<CudaCache*>(caches[i])->get();
    std::lock_guard<std::mutex> lock(mutex_);
    return lm_->forward_batch(embeddings, b, positions, kv.data(), logits, error);
  }
  bool takes_resident_features() const override { return true; }
  bool forward_resident(const float* embeddings, int64_t n, const int64_t* positions, DecoderCache* cache,
                        float* logits, bool all_logits, const std::vector<ResidentRows>& rows,
                        std::string* error) override {
    std::vector<CudaLanguageModel::DeviceRows> device(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto* f = dynamic_cast<const CudaResident*>(rows[i].features);
      if (!f || rows[i].first < 0 || rows[i].first + rows[i].count > f->rows()) {
        if (error) *error = "CUDA forward: resident features that are not this device's, or too few rows";
        return false;
      }
      device[i].at = rows[i].at;
      device[i].count = rows[i].count;
      device[i].data = f->features->data() + rows[i].first * f->features->hidden();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return lm_->forward(embeddings, n, positions, static_cast<CudaCache*>(cache)->get(), logits, all_logits, error,
                        device);
  }
  std::unique_ptr<TokenChooser> new_token_chooser(const std::vector<int32_t>& prompt, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto state = lm_->new_token_state(prompt, error);
    if (!state) return nullptr;
    return std::make_unique<CudaChooser>(std::move(state));
  }
  bool note_token(TokenChooser* chooser, int32_t id, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return lm_->record_token(static_cast<CudaChooser*>(chooser)->state.get(), id, error);
  }
  bool forward_choose(const float* embedding, const int64_t* positions, DecoderCache* cache, TokenChooser* chooser,
                      const SamplingParams& params, double uniform, int32_t* id, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return lm_->decode_choose(embedding, positions, static_cast<CudaCache*>(cache)->get(), params,
                              static_cast<float>(uniform), static_cast<CudaChooser*>(chooser)->state.get(), id,
                              error);
  }

 private:
  std::unique_ptr<CudaLanguageModel> lm_;
  std::mutex mutex_;
};

class CudaImageEncoder : public ImageEncoder {
 public:
  explicit CudaImageEncoder(std::unique_ptr<CudaVisionTower> tower) : tower_(std::move(tower)) {}
  Device device() const override { return Device::kCuda; }
  bool encode(const ImagePatches& image, const TensorSink&, std::vector<float>* features,
              std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return tower_->encode(image, features, error);
  }
  bool keeps_features_resident() const override { return true; }
  std::unique_ptr<ResidentFeatures> encode_resident(const ImagePatches& image, std::string* error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto f = tower_->encode_resident(image, error);
    if (!f) return nullptr;
    return std::make_unique<CudaResident>(std::move(f));
  }

 private:
  std::unique_ptr<CudaVisionTower> tower_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Decoder> make_cuda_decoder(const Qwen2LanguageModel& lm, std::string* error) {
  auto gpu = CudaLanguageModel::create(lm, error);
  if (!gpu) return nullptr;
  return std::make_unique<CudaDecoder>(std::move(gpu));
}

std::unique_ptr<ImageEncoder> make_cuda_image_encoder(const VisionTower& tower, std::string* error) {
  auto gpu = CudaVisionTower::create(tower, error);
  if (!gpu) return nullptr;
  return std::make_unique<CudaImageEncoder>(std::move(gpu));
}

std::unique_ptr<Decoder> make_random_cuda_decoder(const TextConfig& config, uint64_t seed, std::string* error) {
  auto gpu = CudaLanguageModel::create_random(config, seed, error);
  if (!gpu) return nullptr;
  return std::make_unique<CudaDecoder>(std::move(gpu));
}

std::unique_ptr<ImageEncoder> make_random_cuda_image_encoder(const VisionConfig& config, bool qwen25, uint64_t seed,
                                                             std::string* error) {
  auto gpu = CudaVisionTower::create_random(config, qwen25, seed, error);
  if (!gpu) return nullptr;
  return std::make_unique<CudaImageEncoder>(std::move(gpu));
}

}  // namespace deskpilot::engine
