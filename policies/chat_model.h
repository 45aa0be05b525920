// A vision-language chat model, whatever runs it: the in-process engine
// (engine_chat_model.h) or an OpenAI-compatible server. Messages carry text
// and screenshots in order, as the OpenAI chat format does.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampling.h"
#include "multimodal/chat_prompt.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::policies {

using multimodal::ChatContent;  // text or an RGB image
using multimodal::ChatTurn;     // role and content parts in order

struct ChatRequest {
  std::vector<ChatTurn> messages;
  engine::SamplingParams sampling;
  int64_t max_tokens = 1000;
  std::vector<std::string> stop;  // stop strings
};

struct ChatReply {
  std::string text;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double ms = 0;  // wall time of the call
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // false and *error when the model could not answer (bad request, server down).
  virtual bool complete(const ChatRequest& request, ChatReply* reply, std::string* error) = 0;
  virtual std::string name() const = 0;
  // How the model resizes the images it is given, when the client knows it
  // (the in-process engine reads preprocessor_config.json); nullopt for a
  // remote server. UI-TARS-1.5 answers in pixels of the resized image, so
  // the policy sends images already at that size and maps answers back.
  virtual std::optional<multimodal::SmartResizeParams> image_resize() const { return std::nullopt; }
};

}  // namespace deskpilot::policies
