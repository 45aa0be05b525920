// A chat with screenshots, as the engine takes it: the Qwen2-VL chat
// template rendered, each image through the checkpoint's processor
// (preprocess.h), every <|image_pad|> expanded to its token count, the text
// tokenized. Shared by the in-process chat model (policies/) and the
// OpenAI-compatible server (server/), so both give the model the same ids.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "engine/model.h"
#include "multimodal/preprocess.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::multimodal {

struct ChatContent {
  std::string text;                         // a text part when image is null
  std::shared_ptr<const RgbImage> image;    // an image part (RGB)
};

struct ChatTurn {
  std::string role;  // "system", "user", "assistant"
  std::vector<ChatContent> content;
};

// nullopt and *error naming the message and part at fault (an image the
// processor refuses, images for a checkpoint without a vision tower).
std::optional<engine::Prompt> build_chat_prompt(const engine::Model& model, const std::vector<ChatTurn>& messages,
                                                std::string* error);

// The resize the checkpoint's processor applies (preprocessor_config.json).
SmartResizeParams processor_resize(const engine::PreprocessorConfig& config);

}  // namespace deskpilot::multimodal
