// The CPU backend: Qwen2LanguageModel and VisionTower as they are, the KV
// cache in host memory. The reference every other backend is held to.
#include "engine/backend.h"

#include "engine/kv_cache.h"

namespace deskpilot::engine {
namespace {

class CpuCache : public DecoderCache {
 public:
  explicit CpuCache(KvCache cache) : cache_(std::move(cache)) {}
  int64_t length() const override { return cache_.length(); }
  bool reserve(int64_t tokens, std::string*) override {
    cache_.reserve(tokens);
    return true;
  }
  void truncate(int64_t n) override { cache_.truncate(n); }
  KvCache* get() { return &cache_; }

 private:
  KvCache cache_;
};

class CpuDecoder : public Decoder {
 public:
  explicit CpuDecoder(const Qwen2LanguageModel& lm, std::unique_ptr<Qwen2LanguageModel> owned = nullptr)
      : owned_(std::move(owned)), lm_(lm) {}
  Device device() const override { return Device::kCpu; }
  int64_t weight_bytes() const override { return lm_.weight_bytes(); }
  int64_t kv_bytes_per_value() const override { return sizeof(float); }
  std::unique_ptr<DecoderCache> new_cache() const override { return std::make_unique<CpuCache>(lm_.new_cache()); }
  bool forward(const float* embeddings, int64_t n, const int64_t* positions, DecoderCache* cache, float* logits,
               bool all_logits, const TensorSink* sink, std::string*) override {
    lm_.forward(embeddings, n, positions, static_cast<CpuCache*>(cache)->get(), logits, all_logits, sink);
    return true;
  }
  bool forward_batch(const float* embeddings, int64_t b, const int64_t* positions, DecoderCache* const* caches,
                     float* logits, std::string*) override {
    std::vector<KvCache*> kv(static_cast<size_t>(b));
    for (int64_t i = 0; i < b; ++i) kv[i] = static_cast<CpuCache*>(caches[i])->get();
    lm_.forward_batch(embeddings, b, positions, kv.data(), logits);
    return true;
  }
  // The host's Sampler chooses (it reads the logits where they already are).
  std::unique_ptr<TokenChooser> new_token_chooser(const std::vector<int32_t>&, std::string*) override {
    return nullptr;
  }
  bool note_token(TokenChooser*, int32_t, std::string* error) override {
    if (error) *error = "the CPU backend does not choose tokens itself";
    return false;
  }
  bool forward_choose(const float*, const int64_t*, DecoderCache*, TokenChooser*, const SamplingParams&, double,
                      int32_t*, std::string* error) override {
    return note_token(nullptr, 0, error);
  }
  bool takes_resident_features() const override { return false; }
  bool forward_resident(const float*, int64_t, const int64_t*, DecoderCache*, float*, bool,
                        const std::vector<ResidentRows>&, std::string* error) override {
    if (error) *error = "the CPU backend takes image features on the host";
    return false;
  }

 private:
  std::unique_ptr<Qwen2LanguageModel> owned_;  // random weights; else the Model owns the decoder
  const Qwen2LanguageModel& lm_;
};

class CpuImageEncoder : public ImageEncoder {
 public:
  explicit CpuImageEncoder(const VisionTower& tower, std::unique_ptr<VisionTower> owned = nullptr)
      : owned_(std::move(owned)), tower_(tower) {}
  Device device() const override { return Device::kCpu; }
  bool encode(const ImagePatches& image, const TensorSink& sink, std::vector<float>* features,
              std::string*) override {
    *features = tower_.encode(image, sink);
    return true;
  }
  bool keeps_features_resident() const override { return false; }
  std::unique_ptr<ResidentFeatures> encode_resident(const ImagePatches&, std::string* error) override {
    if (error) *error = "the CPU backend keeps no features on a device";
    return nullptr;
  }

 private:
  std::unique_ptr<VisionTower> owned_;
  const VisionTower& tower_;
};

}  // namespace

KvCache* cpu_kv_cache(DecoderCache* cache) {
  auto* cpu = dynamic_cast<CpuCache*>(cache);
  return cpu ? cpu->get() : nullptr;
}

std::unique_ptr<Decoder> make_cpu_decoder(const Qwen2LanguageModel& lm) { return std::make_unique<CpuDecoder>(lm); }

std::unique_ptr<ImageEncoder> make_cpu_image_encoder(const VisionTower& tower) {
  return std::make_unique<CpuImageEncoder>(tower);
}

std::unique_ptr<Decoder> make_decoder(const Qwen2LanguageModel& lm, Device device, std::string* error) {
  if (device == Device::kCpu) return make_cpu_decoder(lm);
#ifdef DESKPILOT_HAVE_CUDA
  return make_cuda_decoder(lm, error);
#else
  if (error) *error = "this build has no CUDA";
  return nullptr;
#endif
}

std::unique_ptr<ImageEncoder> make_image_encoder(const VisionTower& tower, Device device, std::string* error) {
  if (device == Device::kCpu) return make_cpu_image_encoder(tower);
#ifdef DESKPILOT_HAVE_CUDA
  return make_cuda_image_encoder(tower, error);
#else
  if (error) *error = "this build has no CUDA";
  return nullptr;
#endif
}

std::unique_ptr<Decoder> make_random_decoder(const TextConfig& config, Device device, uint64_t seed,
                                             std::string* error) {
  if (device == Device::kCpu) {
    auto lm = Qwen2LanguageModel::create_random(config, seed);
    const Qwen2LanguageModel& ref = *lm;
    return std::make_unique<CpuDecoder>(ref, std::move(lm));
  }
#ifdef DESKPILOT_HAVE_CUDA
  return make_random_cuda_decoder(config, seed, error);
#else
  if (error) *error = "this build has no CUDA";
  return nullptr;
#endif
}

std::unique_ptr<ImageEncoder> make_random_image_encoder(const VisionConfig& config, Architecture architecture,
                                                        Device device, uint64_t seed, std::string* error) {
  if (device == Device::kCpu) {
    auto tower = VisionTower::create_random(config, architecture, seed);
    const VisionTower& ref = *tower;
    return std::make_unique<CpuImageEncoder>(ref, std::move(tower));
  }
#ifdef DESKPILOT_HAVE_CUDA
  return make_random_cuda_image_encoder(config, architecture == Architecture::kQwen25VL, seed, error);
#else
  (void)architecture;
  if (error) *error = "this build has no CUDA";
  return nullptr;
#endif
}

}  // namespace deskpilot::engine
