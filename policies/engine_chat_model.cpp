#include "policies/engine_chat_model.h"

#include <chrono>
#include <filesystem>

#include "base/clock.h"

namespace deskpilot::policies {

std::string EngineChatModel::name() const { return std::filesystem::path(model_.dir()).filename().string(); }

std::optional<multimodal::SmartResizeParams> EngineChatModel::image_resize() const {
  return multimodal::processor_resize(model_.files().preprocessor);
}

bool EngineChatModel::complete(const ChatRequest& request, ChatReply* reply, std::string* error) {
  const auto t0 = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  auto prompt = multimodal::build_chat_prompt(model_, request.messages, error);
  if (!prompt) return false;
  engine::GenerateOptions options;
  options.max_tokens = request.max_tokens;
  options.sampling = request.sampling;
  options.stop = request.stop;
  if (!engine::generate(model_, *prompt, options, nullptr, &last_, error, &session_)) return false;
  *reply = ChatReply();
  reply->text = last_.text;
  reply->prompt_tokens = static_cast<int64_t>(last_.prompt_ids.size());
  reply->completion_tokens = static_cast<int64_t>(last_.generated_ids.size());
  reply->ms = base::ms_since(t0);
  return true;
}

}  // namespace deskpilot::policies
