#include "multimodal/chat_prompt.h"

#include "engine/chat_template.h"

namespace deskpilot::multimodal {

SmartResizeParams processor_resize(const engine::PreprocessorConfig& config) {
  SmartResizeParams p;
  p.factor = config.patch_size * config.merge_size;
  p.min_pixels = config.min_pixels;
  p.max_pixels = config.max_pixels;
  return p;
}

std::optional<engine::Prompt> build_chat_prompt(const engine::Model& model, const std::vector<ChatTurn>& messages,
                                                std::string* error) {
  engine::Prompt prompt;
  std::vector<engine::ChatMessage> chat;
  std::vector<int64_t> tokens_per_image;
  const int64_t merge = model.files().model.vision.spatial_merge_size;
  for (size_t m = 0; m < messages.size(); ++m) {
    engine::ChatMessage message{messages[m].role, false, "", {}};
    // A turn of one text part renders as a plain string, as OpenAI clients send it.
    if (messages[m].content.size() == 1 && !messages[m].content[0].image) {
      message.content_is_string = true;
      message.text = messages[m].content[0].text;
    }
    for (size_t c = 0; c < messages[m].content.size() && !message.content_is_string; ++c) {
      const ChatContent& part = messages[m].content[c];
      if (!part.image) {
        message.parts.push_back({engine::ChatPart::Kind::kText, part.text});
        continue;
      }
      const std::string where = "messages[" + std::to_string(m) + "].content[" + std::to_string(c) + "]";
      if (!model.vision()) {
        *error = where + ": " + model.dir() + " has no vision tower, so it cannot take images";
        return std::nullopt;
      }
      std::string e;
      auto patches = preprocess_image(*part.image, model.files().preprocessor, &e);
      if (!patches) {
        *error = where + ": " + e;
        return std::nullopt;
      }
      tokens_per_image.push_back(patches->tokens(merge));
      prompt.images.push_back(std::move(*patches));
      message.parts.push_back({engine::ChatPart::Kind::kImage, ""});
    }
    chat.push_back(std::move(message));
  }
  const std::string rendered = engine::render_chat(chat, engine::ChatTemplateOptions());
  auto expanded = engine::expand_image_pads(rendered, tokens_per_image, error);
  if (!expanded) return std::nullopt;
  prompt.ids = model.tokenizer().encode(*expanded);
  return prompt;
}

}  // namespace deskpilot::multimodal
