// libFuzzer target: any bytes as the body of a /v1/chat/completions request
// (the server's parser, base64 and image headers included) and as an
// instruction for the OCR policy. Neither may crash, hang or trip a
// sanitizer; what they accept must respect the limits and say something.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "base/base64.h"
#include "server/openai_protocol.h"
#include "policies/instruction.h"

using namespace deskpilot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  server::ServerLimits limits;
  limits.max_images = 2;
  limits.max_image_pixels = 64 * 64;
  auto r = server::parse_chat_completion(text, limits);
  if (auto* c = std::get_if<server::ChatCompletionRequest>(&r)) {
    if (c->images > limits.max_images || c->messages.empty()) std::abort();
    for (const auto& image : c->encoded_images)
      if (image.size.width * image.size.height > limits.max_image_pixels) std::abort();
    if (auto e = server::decode_images(*c, limits); e && e->message.empty()) std::abort();
    for (const auto& m : c->messages)
      for (const auto& part : m.content)
        if (part.image && (part.image->width * part.image->height > limits.max_image_pixels ||
                           part.image->pixels.size() != static_cast<size_t>(part.image->width * part.image->height * 3)))
          std::abort();
    if (c->options.max_tokens < 1 || c->options.max_tokens > limits.max_tokens) std::abort();
  } else if (std::get<server::ApiError>(r).message.empty()) {
    std::abort();  // a refusal always says why
  }
  if (auto bytes = base::base64_decode(text)) {
    if (base::base64_decode(base::base64_encode(*bytes)) != *bytes) std::abort();
  }
  const policies::InstructionParse p = policies::parse_instruction(std::string(text));
  if (p.ok()) {
    if (p.commands.empty()) std::abort();
    for (const auto& c : p.commands) {
      const bool pointer = c.kind == policies::Command::Kind::kClick || c.kind == policies::Command::Kind::kDoubleClick ||
                           c.kind == policies::Command::Kind::kRightClick || c.kind == policies::Command::Kind::kHover;
      if ((pointer && c.target.empty()) || (c.kind == policies::Command::Kind::kType && c.text.empty()) ||
          (c.kind == policies::Command::Kind::kPress && c.keys.empty()))
        std::abort();
    }
  } else if (p.error.empty()) {
    std::abort();
  }
  return 0;
}
