// The chat model run in-process by deskpilot's engine (engine/): the
// request rendered with the checkpoint's chat template and processor
// (multimodal/chat_prompt.h), generated with one Session so that the next
// step's conversation reuses the images already encoded and the KV cache
// of the shared prefix. Calls are serialized.
#pragma once

#include <mutex>

#include "engine/generate.h"
#include "engine/model.h"
#include "policies/chat_model.h"

namespace deskpilot::policies {

class EngineChatModel final : public ChatModel {
 public:
  explicit EngineChatModel(const engine::Model& model) : model_(model), session_(model) {}
  bool complete(const ChatRequest& request, ChatReply* reply, std::string* error) override;
  std::string name() const override;
  std::optional<multimodal::SmartResizeParams> image_resize() const override;

 private:
  const engine::Model& model_;
  std::mutex mutex_;
  engine::Session session_;
  engine::GenerateResult last_;
};

}  // namespace deskpilot::policies
