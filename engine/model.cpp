#include "engine/model.h"

#include "engine/quantize.h"

namespace deskpilot::engine {

std::unique_ptr<Model> Model::load(const std::string& dir, std::string* error, Device device,
                                   const std::string& mmproj) {
  LoadOptions options;
  options.device = device;
  options.mmproj = mmproj;
  return load(dir, options, error);
}

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& options, std::string* error) {
  const Device device = options.device;
  std::unique_ptr<Model> m(new Model());
  m->dir_ = dir;
  if (is_gguf_path(dir) || !options.mmproj.empty()) {
    auto gguf = load_gguf_model(dir, options.mmproj, error);
    if (!gguf) return nullptr;
    m->files_ = gguf->files;
    m->weights_ = std::move(gguf->weights);
    m->tokenizer_ = std::move(gguf->tokenizer);
    m->gguf_text_path_ = gguf->text_path;
  } else {
    auto files = load_model_files(dir, error);
    if (!files) return nullptr;
    m->files_ = *files;
    m->weights_ = WeightStore::open(dir, error);
    if (!m->weights_) return nullptr;
    m->tokenizer_ = Tokenizer::load(dir + "/tokenizer.json", error);
    if (!m->tokenizer_) return nullptr;
  }
  if (options.quantize) {
    auto quantized = quantize_weights(m->weights_, m->files_.model.text, *options.quantize, error);
    if (!quantized) return nullptr;
    m->weights_ = std::move(quantized);
  }
  std::string lm_error;
  m->lm_ = Qwen2LanguageModel::load(*m->weights_, m->files_.model.text, &lm_error);
  if (!m->lm_) {
    if (error) *error = dir + ": " + lm_error;
    return nullptr;
  }
  if (m->weights_->find("visual.patch_embed.proj.weight") || m->weights_->find("model.visual.patch_embed.proj.weight")) {
    std::string vision_error;
    m->vision_ = VisionTower::load(*m->weights_, m->files_.model, &vision_error);
    if (!m->vision_) {
      if (error) *error = dir + ": " + vision_error;
      return nullptr;
    }
  }
  m->device_ = device;
  std::string backend_error;
  m->decoder_ = make_decoder(*m->lm_, device, &backend_error);
  if (m->decoder_ && m->vision_) m->encoder_ = make_image_encoder(*m->vision_, device, &backend_error);
  if (!m->decoder_ || (m->vision_ && !m->encoder_)) {
    if (error) *error = dir + ": on " + device_name(device) + ": " + backend_error;
    return nullptr;
  }
  return m;
}

}  // namespace deskpilot::engine
