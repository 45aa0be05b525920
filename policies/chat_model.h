// A vision-language chat model, whatever runs it: the in-process engine
// (engine_chat_model.h) or an OpenAI-compatible server. Messages carry text
// and screenshots in order, as the OpenAI chat format does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/sampling.h"
#include "vision/preprocess.h"

namespace deskpilot::policies {

struct ChatContent {
  std::string text;                                    // a text part when image is null
  std::shared_ptr<const vision::RgbImage> image;       // an image part (RGB, as captured)
};

struct ChatTurn {
  std::string role;  // "system", "user", "assistant"
  std::vector<ChatContent> content;
};

struct ChatRequest {
  std::vector<ChatTurn> messages;
  engine::SamplingParams sampling;
  int64_t max_tokens = 1000;
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
};

}  // namespace deskpilot::policies
