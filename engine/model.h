// A Hugging Face Qwen2-VL / Qwen2.5-VL model folder, loaded: the config
// files, the memory-mapped weights, the tokenizer, the decoder and vision
// tower, and the backends that run them on the chosen device
// (engine/backend.h).
#pragma once

#include <memory>
#include <string>

#include "engine/backend.h"
#include "engine/config.h"
#include "engine/device.h"
#include "engine/gguf_model.h"
#include "engine/qwen2_lm.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"
#include "engine/vision_tower.h"

namespace deskpilot::engine {

struct QuantRecipe;

// How to load: the device, GGUF's mmproj file, and a quantization of the
// text weights on load (engine/quantize.h; nullptr: as stored).
struct LoadOptions {
  Device device = Device::kCpu;
  std::string mmproj;
  const QuantRecipe* quantize = nullptr;
};

class Model {
 public:
  // nullptr and *error naming the file (and field or tensor) at fault.
  // On the GPU the weights are uploaded once here (BF16).
  // `dir` is a Hugging Face folder, or GGUF (a .gguf file or a folder of
  // them, engine/gguf_model.h) with `mmproj` naming its vision tower's file
  // where it is not the one mmproj*.gguf beside it.
  static std::unique_ptr<Model> load(const std::string& dir, std::string* error, Device device = Device::kCpu,
                                     const std::string& mmproj = "");
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& options, std::string* error);

  const std::string& dir() const { return dir_; }
  // The text GGUF file a GGUF model came from ("" for a Hugging Face folder).
  const std::string& gguf_text_path() const { return gguf_text_path_; }
  const ModelFiles& files() const { return files_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const Qwen2LanguageModel& lm() const { return *lm_; }
  const VisionTower* vision() const { return vision_.get(); }  // nullptr for a checkpoint without one
  Device device() const { return device_; }
  // The compute on `device()`; the encoder is nullptr without a vision tower.
  // A backend's calls are serialised inside it where it needs that (CUDA).
  Decoder& decoder() const { return *decoder_; }
  ImageEncoder* image_encoder() const { return encoder_.get(); }

 private:
  Model() = default;
  std::string dir_, gguf_text_path_;
  ModelFiles files_;
  std::shared_ptr<const WeightStore> weights_;  // owns the mappings the decoder points into
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<Qwen2LanguageModel> lm_;
  std::unique_ptr<VisionTower> vision_;
  Device device_ = Device::kCpu;
  std::unique_ptr<Decoder> decoder_;
  std::unique_ptr<ImageEncoder> encoder_;
};

}  // namespace deskpilot::engine
