// The Qwen2-VL instruct chat template (the one Qwen2-VL and Qwen2.5-VL
// checkpoints, and so UI-TARS, ship in chat_template.json), rendered in C++
// rather than by a Jinja engine, and the processor's expansion of each
// <|image_pad|> into one token per merged image patch.
//
//   <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n   (when the first turn is not a system turn)
//   <|im_start|>{role}\n{content}<|im_end|>\n                      (per message)
//   <|im_start|>assistant\n                                        (add_generation_prompt)
// A content list renders its parts in order: an image part (type "image",
// or an "image" or "image_url" key) as [Picture N: ]<|vision_start|><|image_pad|><|vision_end|>,
// a video part likewise with <|video_pad|>, a part with "text" as the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace deskpilot::engine {

struct ChatPart {
  enum class Kind { kText, kImage, kVideo, kOther };
  Kind kind = Kind::kText;
  std::string text;  // kText
};

struct ChatMessage {
  std::string role;
  bool content_is_string = true;
  std::string text;             // content_is_string
  std::vector<ChatPart> parts;  // otherwise
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  bool add_vision_id = false;  // "Picture N: " before each image
};

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options);

// Messages in the Hugging Face / OpenAI JSON shape:
// [{"role": "user", "content": "text" | [{"type": "text", "text": ...}, {"type": "image"} | {"image_url": ...}]}]
// nullopt and *error naming the message and field at fault.
std::optional<std::vector<ChatMessage>> parse_chat_messages(const nlohmann::json& messages, std::string* error);

// The number of images (<|image_pad|> placeholders) in a rendered prompt.
int64_t count_image_pads(const std::string& rendered);

// Each <|image_pad|> in order becomes tokens_per_image[i] copies, as
// Qwen2VLProcessor does (grid_t * grid_h * grid_w / merge_size^2).
// nullopt and *error when the counts do not match the placeholders.
std::optional<std::string> expand_image_pads(const std::string& rendered, const std::vector<int64_t>& tokens_per_image,
                                             std::string* error);

}  // namespace deskpilot::engine
